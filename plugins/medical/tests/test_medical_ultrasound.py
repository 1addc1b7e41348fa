"""medical/ultrasound-measure: the simulator's exact circumference, the HC18 layout, DICOM region calibration,
bad files, a tiny run that learns, and `zoo predict` output in millimetres."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from PIL import Image

from zoo import ZooError
from zoo.testing import train_tiny

TINY = ("data.count=90", "data.image_size=32", "model.channels=8,16,32", "batch_size=8", "eval_batch_size=32",
        "lr=0.01", "weight_decay=0")


def test_simulated_images_are_deterministic_and_their_circumference_exact():
    from zoo_medical.ultrasound_sim import HC_RANGE_MM, circumference, simulate
    from zoo_medical.ultrasound_task import fit_head

    arrays = simulate(0, 6, 64, 3)
    again = simulate(4, 6, 64, 3)  # image i depends on (seed, i) only
    np.testing.assert_array_equal(again["images"], arrays["images"][4:])
    assert arrays["images"].dtype == np.uint8 and arrays["images"].shape == (6, 64, 64)
    assert all(HC_RANGE_MM[0] <= hc <= HC_RANGE_MM[1] for hc in arrays["hc_mm"])
    assert len(set(np.round(arrays["spacing"], 3))) == 6  # every image has its own pixel size
    for mask, (cx, cy, a, b, theta), spacing, hc in zip(arrays["masks"], arrays["ellipse"], arrays["spacing"],
                                                         arrays["hc_mm"]):
        assert circumference(a, b) * spacing == pytest.approx(hc, rel=1e-9)
        fitted = fit_head(mask.astype(float))  # the ellipse fit recovers it from the truth mask
        assert circumference(fitted[2], fitted[3]) * spacing == pytest.approx(hc, rel=0.02)
    assert circumference(3, 3) == pytest.approx(6 * math.pi)
    assert circumference(5, 3) == pytest.approx(25.5270, abs=1e-3)  # exact value of the elliptic integral


def _outline(height, width, cx, cy, a, b) -> np.ndarray:
    from skimage.draw import ellipse_perimeter

    picture = np.zeros((height, width), np.uint8)
    rr, cc = ellipse_perimeter(cy, cx, b, a, shape=picture.shape)
    picture[rr, cc] = 255
    return picture


def _hc18(folder, count=12, bad=None):
    """A tiny HC18 folder: training_set/NNN_HC.png + NNN_HC_Annotation.png and the CSV beside it."""
    images = folder / "training_set"
    images.mkdir(parents=True)
    rows = []
    rng = np.random.default_rng(0)
    for i in range(count):
        name = f"{i:03d}_HC.png"
        a, b = int(rng.integers(12, 20)), int(rng.integers(9, 12))
        picture = (rng.random((48, 64)) * 60).astype(np.uint8)
        outline = _outline(48, 64, 32, 24, a, b)
        picture[outline > 0] = 230
        Image.fromarray(picture).save(images / name)
        if bad != "missing annotation" or i != 5:
            Image.fromarray(outline if bad != "open outline" or i != 5 else outline * (np.arange(64) < 32)).save(
                images / f"{i:03d}_HC_Annotation.png")
        rows.append([name, "0.2" if bad != "bad pixel size" or i != 5 else "a lot", f"{2 * math.pi * 0.2 * a:.2f}"])
    with (folder / "training_set_pixel_size_and_HC.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["filename", "pixel size(mm)", "head circumference (mm)"])
        writer.writerows(rows)
    return folder


def test_hc18_layout_is_read_with_filled_masks_and_model_pixel_spacing(tmp_path):
    from zoo_medical.ultrasound import head_ultrasound

    bundle = head_ultrasound(data=str(_hc18(tmp_path)), image_size=32)
    assert len(bundle.train) + len(bundle.valid) + len(bundle.test) == 12
    x, y = bundle.valid[0]
    assert x.shape == (1, 32, 32) and y["mask"].shape == (32, 32)
    assert y["spacing"].item() == pytest.approx(0.2 * 64 / 32)  # a model pixel is two of the file's
    assert 0.05 < y["mask"].mean() < 0.5  # the outline filled: the head region, not a thin ring
    assert bundle.info["dataset"] == "hc18"


@pytest.mark.parametrize("bad, message", [("missing annotation", "no annotation 005_HC_Annotation.png"),
                                          ("bad pixel size", "line 7: pixel size 'a lot' is not a number"),
                                          ("open outline", "005_HC_Annotation.png: not a closed outline")])
def test_bad_hc18_files_get_one_line_errors_naming_them(tmp_path, bad, message):
    from zoo_medical.ultrasound import head_ultrasound

    with pytest.raises(ZooError) as caught:
        head_ultrasound(data=str(_hc18(tmp_path, bad=bad)), image_size=32)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def _ultrasound_dicom(path, pixels: np.ndarray, delta_cm=None, region=(10, 8, 69, 55)):
    """A DICOM ultrasound image (8-bit grey), with a Sequence of Ultrasound Regions calibrated in cm when given."""
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, UltrasoundImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = UltrasoundImageStorage, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, "US"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = pixels.astype(np.uint8).tobytes()
    if delta_cm is not None:
        item = Dataset()
        item.RegionSpatialFormat, item.RegionDataType, item.RegionFlags = 1, 1, 0
        item.RegionLocationMinX0, item.RegionLocationMinY0, item.RegionLocationMaxX1, item.RegionLocationMaxY1 = region
        item.PhysicalUnitsXDirection, item.PhysicalUnitsYDirection = 3, 3
        item.PhysicalDeltaX, item.PhysicalDeltaY = delta_cm, delta_cm
        ds.SequenceOfUltrasoundRegions = Sequence([item])
    ds.save_as(path, enforce_file_format=True)
    return path


def test_dicom_ultrasound_region_calibration_gives_the_pixel_size(tmp_path):
    from zoo_medical.ultrasound import read_dicom, read_input

    pixels = np.arange(64 * 80).reshape(64, 80) % 251
    array, spacing, source, offset = read_dicom(_ultrasound_dicom(tmp_path / "us.dcm", pixels, delta_cm=0.025))
    assert spacing == pytest.approx(0.25) and source.startswith("DICOM ultrasound region calibration")
    assert array.shape == (48, 60) and offset == (10, 8)  # cropped to the calibrated region
    x = read_input(str(tmp_path / "us.dcm"), {"image_size": 32, "mean": 0.5, "std": 0.25})
    assert x.shape == (1, 32, 32) and x.meta["scale"] == pytest.approx(60 / 32)
    _, spacing, source, _ = read_dicom(_ultrasound_dicom(tmp_path / "plain.dcm", pixels))
    assert spacing is None and source == "none"
    (tmp_path / "fake.dcm").write_text("not dicom")
    with pytest.raises(ZooError, match="fake.dcm: not a DICOM file"):
        read_dicom(tmp_path / "fake.dcm")


def test_real_obstetric_dicom_is_calibrated():
    from pydicom.data import get_testdata_file

    from zoo_medical.ultrasound import read_dicom

    path = get_testdata_file("OBXXXX1A.dcm")
    if path is None:
        pytest.skip("pydicom-data is not installed")
    array, spacing, source, offset = read_dicom(path)  # palette colour, two regions: the 2D image one is taken
    assert spacing == pytest.approx(0.2623, abs=1e-4) and offset == (120, 60) and array.shape == (459, 680)  # MaxX1 800: the last column


def test_classical_baseline_finds_simulated_heads():
    from zoo_medical.ultrasound_sim import simulate
    from zoo_medical.ultrasound_task import classical_hc

    arrays = simulate(0, 8, 96, 11)
    found = classical_hc(arrays["images"] / 255.0, arrays["spacing"])
    relative = np.abs(found / arrays["hc_mm"] - 1)
    assert np.nanmedian(relative) < 0.15  # the skull's ridge, a few % inside the outer border


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return train_tiny("medical/ultrasound-measure", tmp_path_factory.mktemp("us"), *TINY, epochs=6)


def test_tiny_run_learns_the_head_and_its_circumference(tiny_run):
    run, summary = tiny_run
    history = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert history[-1]["valid_dice"] > max(0.8, history[0]["valid_dice"] + 0.1)
    # far better than saying every head has the training heads' mean circumference
    bundle = run.trainer(with_data=True).data
    mean_hc = float(bundle.train.hc_mm.mean())
    guess = float((bundle.test.hc_mm - mean_hc).abs().mean())
    assert summary["test"]["hc_error_mm"] < 0.5 * guess
    assert (run.dir / "measurements.csv").is_file() and (run.dir / "hc_test.png").is_file()
    assert "not a medical device" in (run.dir / "README.md").read_text()


def test_predict_gives_millimetres_from_the_dicom_calibration_and_draws_the_ellipse(tiny_run, tmp_path):
    from zoo_medical.ultrasound_sim import simulate

    run, _ = tiny_run
    arrays = simulate(500, 501, 64, 0)
    dicom = _ultrasound_dicom(tmp_path / "head.dcm", arrays["images"][0], delta_cm=arrays["spacing"][0] / 10,
                              region=(0, 0, 63, 63))
    [row] = run.predict([str(dicom)], out=tmp_path / "out")
    assert row["spacing_source"].startswith("DICOM ultrasound region calibration")
    assert row["pixel_spacing_mm"] == pytest.approx(arrays["spacing"][0], rel=1e-4)
    assert row["head_found"] and abs(row["head_circumference_mm"] - arrays["hc_mm"][0]) < 0.25 * arrays["hc_mm"][0]
    assert {"cx", "cy", "a", "b", "angle_deg"} <= set(row["ellipse_px"]) and "familiar" in row
    assert any(f.endswith(".hc.png") for f in row["files"])
    png = tmp_path / "head.png"
    Image.fromarray(arrays["images"][0]).save(png)
    with pytest.raises(ZooError, match="head.png: no pixel size .* --pixel-size MM"):
        run.predict([str(png)])
    [row] = run.predict([str(png)], pixel_size=float(arrays["spacing"][0]))
    assert row["spacing_source"].startswith("--pixel-size")
