"""medical/pathology-nuclei: the simulator, instance matching, the distance watershed, users' labelled pictures
(TIFF pairs, DSB2018 folders, MoNuSeg XML), bad files, a tiny run that learns, and `zoo predict` on a picture and
on a tiny pyramidal TIFF slide (GeoJSON, overlay, counts per tile)."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from zoo import ZooError
from zoo.testing import train_tiny

TINY = ("data.count=100", "data.image_size=48", "model.channels=8,16,32", "batch_size=8", "eval_batch_size=32",
        "lr=0.01", "weight_decay=0")


def _discs(shape=(40, 60), centres=((20, 18), (20, 33)), radius=8) -> np.ndarray:
    """Instance labels of discs (two touching ones by default)."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    labels = np.zeros(shape, np.int32)
    for k, (cy, cx) in enumerate(centres, start=1):
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = k
    return labels


def test_simulated_tiles_are_deterministic_labelled_and_stained():
    from zoo_medical.nuclei import nuclear_channel
    from zoo_medical.nuclei_sim import simulate

    arrays = simulate(0, 6, 64, 1, fluorescence=0.5)
    again = simulate(3, 6, 64, 1, fluorescence=0.5)  # tile i depends on (seed, i) only
    np.testing.assert_array_equal(again["images"], arrays["images"][3:])
    assert arrays["images"].shape == (6, 64, 64, 3) and arrays["labels"].dtype == np.int32
    assert 0 < arrays["fluorescent"].sum() < 6  # both renderings
    for image, labels in zip(arrays["images"], arrays["labels"]):
        ids = np.unique(labels)
        np.testing.assert_array_equal(ids, np.arange(len(ids)))  # 0 and 1..k without gaps
        channel = nuclear_channel(image)  # haematoxylin or fluorescence: higher in the nuclei, either way
        assert channel[labels > 0].mean() > channel[labels == 0].mean() + 0.5 * channel.std()


def test_matching_counts_pairs_at_iou_half():
    from zoo_medical.nuclei_task import ap_f1, match

    truth = _discs(centres=((20, 12), (20, 40)))
    assert match(truth, truth) == (2, 0, 0)
    shifted = np.roll(truth, 3, axis=1)  # IoU of a disc of radius 8 shifted 3 px: about 0.6
    assert match(truth, shifted) == (2, 0, 0)
    far = np.roll(truth, 9, axis=1)  # about 0.2: both a false positive and a miss
    assert match(truth, far) == (0, 2, 2)
    three = _discs(centres=((20, 10), (20, 30), (20, 50)), radius=6)
    merged = (three > 0).astype(np.int32)  # one prediction over three nuclei: IoU 1/3 with each, no pair
    assert match(three, merged) == (0, 1, 3)
    assert match(truth, np.zeros_like(truth)) == (0, 0, 2)
    assert ap_f1(3, 1, 2) == (pytest.approx(0.5), pytest.approx(2 / 3))


def test_distance_map_and_watershed_split_touching_nuclei():
    from zoo_medical.nuclei import distance_map
    from zoo_medical.nuclei_task import instances, match, otsu_watershed

    truth = _discs()
    dist = distance_map(truth)
    assert dist.max() == pytest.approx(1.0) and dist[truth == 0].max() == 0
    assert dist[20, 18] > 0.9 and dist[20, 25] < 0.3  # high at the centres, low where the two touch
    found = instances((truth > 0).astype(float), dist)
    assert found.max() == 2 and match(truth, found) == (2, 0, 0)
    merged = instances((truth > 0).astype(float), (truth > 0).astype(float))  # a flat distance map cannot split
    assert merged.max() == 1
    picture = (truth > 0) * 200.0 + np.random.default_rng(0).normal(0, 5, truth.shape)
    assert match(truth, otsu_watershed(picture, 5))[0] == 2


class _Oracle:
    """A stand-in network that reads the truth off its input (the distance map itself): perfect maps, so that any
    nucleus lost or counted twice is the tiling's fault."""

    def __init__(self):
        import torch

        self.weight = torch.nn.Parameter(torch.zeros(1))

    def parameters(self):
        return iter([self.weight])

    def __call__(self, x):
        import torch

        return torch.cat([(x > 0.01).float() * 20 - 10, torch.logit(x.clamp(1e-3, 1 - 1e-3))], 1)


def test_overlapping_tiles_count_every_nucleus_once(tmp_path):
    import torch

    from zoo_medical.nuclei import distance_map
    from zoo_medical.nuclei_sim import simulate
    from zoo_medical.nuclei_slide import open_source
    from zoo_medical.nuclei_task import match, segment

    truth = simulate(0, 1, 160, 4)["labels"][0]
    dist = distance_map(truth)
    path = tmp_path / "dist.png"
    Image.fromarray((dist * 255).astype(np.uint8)).save(path)
    source = open_source(path, {"image_size": 32})  # 64 px tiles every 16 px: each nucleus in up to 16 tiles
    source.channel = dist
    assert len(source.tiles) == 49
    result = segment(_Oracle(), source, torch.device("cpu"))
    n = int(truth.max())
    assert len(result["nuclei"]) == n and sum(t["nuclei"] for t in result["tiles"]) == n
    assert match(truth, result["labels"]) == (n, 0, 0)


def _write_pairs(folder, count=3, size=64):
    import tifffile

    from zoo_medical.nuclei_sim import simulate

    arrays = simulate(0, count, size, 2)
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for i in range(count):
        tifffile.imwrite(folder / "images" / f"tile{i}.tif", arrays["images"][i])
        tifffile.imwrite(folder / "masks" / f"tile{i}.tif", arrays["labels"][i].astype(np.uint16))
    return arrays


def test_tiff_pairs_dsb_folders_and_monuseg_xml_are_read(tmp_path):
    from zoo_medical.nuclei import labelled_pictures, nuclei_tiles

    arrays = _write_pairs(tmp_path / "pairs", count=3, size=64)
    read = labelled_pictures(tmp_path / "pairs")
    assert [name for name, _, _ in read] == ["tile0", "tile1", "tile2"]
    np.testing.assert_array_equal(read[1][2], arrays["labels"][1])
    bundle = nuclei_tiles(data=str(tmp_path / "pairs"), image_size=32)  # each 64 px picture: four 32 px tiles
    assert len(bundle.train) + len(bundle.valid) + len(bundle.test) == 12
    x, y = bundle.train[0]
    assert x.shape == (1, 32, 32) and y["labels"].shape == (32, 32) and y["dist"].max() <= 1

    sample = tmp_path / "dsb" / "abc123"  # DSB2018: one binary mask per nucleus
    (sample / "images").mkdir(parents=True)
    (sample / "masks").mkdir()
    Image.fromarray(arrays["images"][0]).save(sample / "images" / "abc123.png")
    for k in range(1, int(arrays["labels"][0].max()) + 1):
        Image.fromarray(((arrays["labels"][0] == k) * 255).astype(np.uint8)).save(sample / "masks" / f"m{k}.png")
    [(name, _, labels)] = labelled_pictures(tmp_path / "dsb")
    assert name == "abc123" and labels.max() == arrays["labels"][0].max()
    assert ((labels > 0) == (arrays["labels"][0] > 0)).all()

    mono = tmp_path / "monuseg"
    (mono / "Tissue Images").mkdir(parents=True)
    (mono / "Annotations").mkdir()
    Image.fromarray(arrays["images"][0]).save(mono / "Tissue Images" / "TCGA-1.tif")
    (mono / "Annotations" / "TCGA-1.xml").write_text(_monuseg([[(10, 10), (30, 10), (30, 25), (10, 25)],
                                                                [(40, 40), (55, 42), (50, 58)]]))
    [(name, _, labels)] = labelled_pictures(mono)
    assert name == "TCGA-1" and labels.max() == 2
    assert labels[17, 20] == 1 and labels[47, 48] == 2 and labels[5, 5] == 0
    assert (labels == 1).sum() == pytest.approx(20 * 15, rel=0.2)


def _monuseg(polygons, bad_vertex=False) -> str:
    regions = []
    for k, points in enumerate(polygons, start=1):
        vertices = "".join(f'<Vertex X="{"x" if bad_vertex else x}" Y="{y}" />' for x, y in points)
        regions.append(f'<Region Id="{k}"><Vertices>{vertices}</Vertices></Region>')
    return f'<Annotations><Annotation Id="1"><Regions>{"".join(regions)}</Regions></Annotation></Annotations>'


@pytest.mark.parametrize("bad, message", [
    ("broken tiff", r"tile1\.tif: not a readable image"),
    ("mask shape", r"tile1\.tif: a \(32, 32\) mask for a \(64, 64\) image"),
    ("no mask", r"tile1\.tif: no mask tile1\.\* in"),
    ("xml", r"TCGA-1\.xml: not readable XML"),
    ("xml regions", r"TCGA-1\.xml: no <Region> polygons"),
    ("xml vertex", r"TCGA-1\.xml: region 1 has a vertex without numeric X and Y"),
    ("xml image", r"TCGA-1\.xml: no image TCGA-1\.tif"),
])
def test_bad_labelled_files_get_one_line_errors_naming_them(tmp_path, bad, message):
    import tifffile

    from zoo_medical.nuclei import labelled_pictures

    if bad.startswith("xml"):
        folder = tmp_path / "monuseg"
        folder.mkdir()
        if bad != "xml image":
            Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(folder / "TCGA-1.tif")
        text = {"xml": "<Annotations><Region", "xml regions": "<Annotations />",
                "xml vertex": _monuseg([[(1, 1), (5, 1), (5, 5)]], bad_vertex=True)}.get(bad, _monuseg([[(1, 1), (5, 1), (5, 5)]]))
        (folder / "TCGA-1.xml").write_text(text)
    else:
        folder = tmp_path / "pairs"
        _write_pairs(folder, count=2)
        if bad == "broken tiff":
            (folder / "images" / "tile1.tif").write_bytes(b"II*\x00 this is not a tiff")
        elif bad == "mask shape":
            tifffile.imwrite(folder / "masks" / "tile1.tif", np.zeros((32, 32), np.uint16))
        else:
            (folder / "masks" / "tile1.tif").unlink()
    with pytest.raises(ZooError, match=message) as caught:
        labelled_pictures(folder)
    assert "\n" not in str(caught.value)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return train_tiny("medical/pathology-nuclei", tmp_path_factory.mktemp("nuclei"), *TINY, epochs=4)


def test_tiny_run_learns_nuclei(tiny_run):
    import torch

    from zoo_medical.nuclei_task import NucleiMetrics

    run, summary = tiny_run
    history = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert history[-1]["valid_dice"] > history[0]["valid_dice"] or history[-1]["valid_dice"] > 0.8
    trainer = run.trainer(with_data=True)
    untrained, metric = trainer.eval_model(), NucleiMetrics()
    fresh = run.predictor().new_module().eval()
    with torch.no_grad():
        for x, y in torch.utils.data.DataLoader(trainer.data.test, batch_size=32):
            metric.update(fresh(x), y)
    before = metric.compute()
    assert untrained is not None
    assert summary["test"]["dice"] > max(0.6, float(before["dice"]) + 0.2)
    assert summary["test"]["ap50"] > float(before["ap50"]) + 0.15
    assert "not a medical device" in (run.dir / "README.md").read_text()


def _pyramid(path, rgb: np.ndarray, mpp: float = 0.5):
    """A tiny pyramidal, tiled TIFF (two levels) with its pixel size in the resolution tags, as slides store it."""
    import tifffile

    with tifffile.TiffWriter(path) as tif:
        res = (1e4 / mpp, 1e4 / mpp)
        tif.write(rgb, tile=(64, 64), photometric="rgb", subifds=1, resolution=res, resolutionunit="CENTIMETER")
        tif.write(rgb[::2, ::2], tile=(64, 64), photometric="rgb", subfiletype=1, resolution=(res[0] / 2, res[1] / 2),
                  resolutionunit="CENTIMETER")
    return path


def test_predict_on_a_slide_and_a_picture_writes_geojson_overlay_and_counts(tiny_run, tmp_path):
    from zoo_medical.nuclei_sim import simulate

    run, _ = tiny_run
    arrays = simulate(0, 40, 64, 5, fluorescence=0.0)
    he = [im for im, fl in zip(arrays["images"], arrays["fluorescent"]) if not fl][:4]
    tissue = np.concatenate([np.concatenate(he[:2], 1), np.concatenate(he[2:4], 1)], 0)  # 128 x 128
    slide = np.full((192, 256, 3), 245, np.uint8)  # glass around it
    slide[32:160, 64:192] = tissue
    path = _pyramid(tmp_path / "tiny.tif", slide)
    png = tmp_path / "tile.png"
    Image.fromarray(tissue).save(png)
    rows = run.predict([str(path), str(png)], out=tmp_path / "out")
    row, picture = rows
    assert row["kind"] == "slide" and row["width_px"] == 256 and row["height_px"] == 192
    assert picture["kind"] == "picture" and picture["nuclei"] > 0
    assert row["nuclei"] > 0 and row["microns_per_pixel"] == pytest.approx(0.5, rel=0.01)
    files = {f.rsplit(".", 2)[-2] + "." + f.rsplit(".", 1)[-1] if f.endswith(".overlay.png") or f.endswith(".tiles.csv")
             else f.rsplit(".", 1)[-1]: f for f in row["files"]}
    collection = json.loads(open(files["geojson"]).read())
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == row["nuclei"]
    for feature in collection["features"]:
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and feature["properties"]["objectType"] == "detection"
        assert len(ring) >= 4 and ring[0] == ring[-1]
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        assert 0 <= min(xs) and max(xs) <= 256 and 0 <= min(ys) and max(ys) <= 192  # level-0 pixels
    try:
        from shapely.geometry import shape
    except ImportError:
        shape = None
    if shape is not None:
        assert all(shape(f["geometry"]).is_valid for f in collection["features"])
    with open(files["tiles.csv"]) as handle:
        tiles = list(csv.DictReader(handle))
    assert sum(int(t["nuclei"]) for t in tiles) == row["nuclei"] and "nuclei_per_mm2" in tiles[0]
    assert all(float(t["tissue_share"]) >= 0.05 for t in tiles)
    assert Image.open(files["overlay.png"]).size[0] > 0


def test_bad_slides_get_one_line_errors(tiny_run, tmp_path):
    run, _ = tiny_run
    broken = tmp_path / "broken.svs"
    broken.write_bytes(b"II*\x00 not a slide at all")
    glass = _pyramid(tmp_path / "glass.tif", np.full((128, 128, 3), (250, 238, 246), np.uint8))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    rows = list(run.predictor().iter_predict([str(broken), str(glass), str(text)]))
    assert rows[0]["error"].startswith("not a readable slide") or "broken.svs" in rows[0]["error"]
    assert "no tissue found" in rows[1]["error"]
    assert "expected an image" in rows[2]["error"]
    assert all("\n" not in r["error"] for r in rows)
