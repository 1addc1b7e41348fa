"""medical/retinopathy: the simulated photos, the APTOS/EyePACS/IDRiD CSVs, preprocessing, bad files, a tiny
run that learns, and `zoo predict` with Grad-CAM and familiarity."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from zoo import ZooError
from zoo.testing import train_tiny

TINY = ("data.count=200", "data.image_size=64", "model.width=8", "batch_size=16", "eval_batch_size=64", "lr=0.01",
        "weight_decay=0")


def test_simulated_photos_are_deterministic_and_lesions_grow_with_the_grade():
    from zoo_medical.retinopathy_sim import simulate
    from zoo_medical.retinopathy_task import lesion_features

    arrays = simulate(0, 30, 96, 0)
    np.testing.assert_array_equal(simulate(28, 30, 96, 0)["images"], arrays["images"][28:])
    grades = arrays["grades"]
    assert set(grades.tolist()) == {0, 1, 2, 3, 4}
    # dark spots (green channel, black top-hat radius 4, above 0.5 of the median): more at higher grades
    dark = np.array([lesion_features(p / 255.0)[20] for p in arrays["images"]])
    assert dark[grades >= 3].mean() > 2 * dark[grades == 0].mean()


def _photo(path, rng, size=(60, 80)):
    """A dark frame with a bright disc: a tiny 'fundus photo' whose field of view is not the whole frame."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    disc = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (h / 2 - 4) ** 2
    picture = np.zeros((h, w, 3), np.uint8)
    picture[disc] = (rng.uniform(120, 200), rng.uniform(40, 90), rng.uniform(10, 40))
    Image.fromarray(picture).save(path)


@pytest.mark.parametrize("layout", ["aptos", "eyepacs", "idrid"])
def test_grading_csvs_are_read(tmp_path, layout):
    from zoo_medical.retinopathy import fundus_dr

    rng = np.random.default_rng(0)
    header, rows = {"aptos": (["id_code", "diagnosis"], []), "eyepacs": (["image", "level"], []),
                    "idrid": (["Image name", "Retinopathy grade", "Risk of macular edema "], [])}[layout]
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(25):
        name = {"aptos": f"a{i:04x}", "eyepacs": f"{i // 2}_{'left' if i % 2 else 'right'}",
                "idrid": f"IDRiD_{i + 1:03d}"}[layout]
        _photo(folder / (name + (".png" if layout == "aptos" else ".jpeg" if layout == "eyepacs" else ".jpg")), rng)
        rows.append([name, str(i % 5)] + (["0"] if layout == "idrid" else []))
    with (tmp_path / "labels.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    bundle = fundus_dr(data=str(tmp_path), image_size=32, preprocess="ben")
    assert len(bundle.train) + len(bundle.valid) + len(bundle.test) == 25
    x, grade = bundle.train[0]
    assert x.shape == (3, 32, 32) and 0 <= int(grade) <= 4
    assert bundle.info["dataset"] == {"aptos": "APTOS 2019", "eyepacs": "EyePACS", "idrid": "IDRiD"}[layout]


def test_circular_crop_removes_the_dark_frame(tmp_path):
    from zoo_medical.retinopathy import prepare, read_photo

    _photo(tmp_path / "p.png", np.random.default_rng(1), size=(60, 120))
    cropped = prepare(read_photo(tmp_path / "p.png"), 32, "crop")
    plain = prepare(read_photo(tmp_path / "p.png"), 32, "none")
    assert cropped.mean(0)[16, 1] > 0.1  # the disc reaches the left edge once cropped...
    assert plain.mean(0)[16, 1] < 0.05 and plain.mean(0)[2, 16] < 0.05  # ...and not before (black frame, padding)


@pytest.mark.parametrize("bad, message", [("missing", "line 4: no photo a0002"), ("grade", "line 3: grade 7 is not one"),
                                          ("text", "line 3: grade 'severe' is not a number")])
def test_bad_grading_csvs_get_one_line_errors(tmp_path, bad, message):
    from zoo_medical.retinopathy import fundus_dr

    rng = np.random.default_rng(0)
    rows = [["id_code", "diagnosis"]]
    for i in range(25):
        if not (bad == "missing" and i == 2):
            _photo(tmp_path / f"a{i:04d}.png", rng)
        rows.append([f"a{i:04d}", {"grade": "7", "text": "severe"}.get(bad, "1") if i == 1 else "0"])
    with (tmp_path / "train.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with pytest.raises(ZooError) as caught:
        fundus_dr(data=str(tmp_path / "train.csv"), image_size=32)
    assert message in str(caught.value) and "train.csv" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(ZooError, match="data.preprocess=clahe"):
        fundus_dr(data=str(tmp_path / "train.csv"), image_size=32, preprocess="clahe")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return train_tiny("medical/retinopathy", tmp_path_factory.mktemp("dr"), *TINY, epochs=8)


def test_tiny_run_learns_to_grade(tiny_run):
    run, summary = tiny_run
    grading = json.loads((run.dir / "grading.json").read_text())["test"]
    history = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert history[-1]["train_loss"] < 0.8 * history[0]["train_loss"]
    assert grading["auroc_referable"] > 0.7  # chance is 0.5
    assert summary["test"]["kappa"] > 0.3 and grading["kappa"] == pytest.approx(summary["test"]["kappa"], abs=0.02)
    assert "Not a medical device" in (run.dir / "README.md").read_text()


def test_predict_gives_grade_calibrated_referable_probability_gradcam_and_familiarity(tiny_run, tmp_path):
    from skimage import data

    run, _ = tiny_run
    photo = tmp_path / "fundus.png"
    Image.fromarray(data.retina()[::8, ::8]).save(photo)
    [row] = run.predict([str(photo)], heatmap=True, heatmap_dir=str(tmp_path / "maps"))
    assert 0 <= row["grade"] <= 4 and 0 <= row["referable_probability"] <= 1
    assert "referable_probability_uncalibrated" in row and "familiar" in row
    assert (tmp_path / "maps" / "fundus.heatmap.png").is_file()
    mono = tmp_path / "xray.png"  # a grey picture: far from the training photos
    Image.fromarray((np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)).save(mono)
    [row] = run.predict([str(mono)])
    assert row["familiar"] is False and row["label"] == "unknown"
    with pytest.raises(ZooError, match="--heatmap-dir needs --heatmap"):
        run.predict([str(photo)], heatmap_dir=str(tmp_path))
