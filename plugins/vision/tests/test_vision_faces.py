"""vision/faces: the angular-margin embedding learns on a tiny set of rendered identities (verification beats
chance on identities it never saw), the readers (identity folders, LFW's pairs.txt) read small files written
here, the Haar cascade finds a real face and says when it finds none, --gallery names the enrolled identity,
bad files get one-line errors."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from zoo import ZooError
from zoo.testing import require, run_zoo

torch.set_num_threads(1)
TINY = {"epochs": 20, "batch_size": 32, "lr": 0.003, "grad_stats_every": 0, "device": "cpu", "threads": 1,
        "task.tta": "", "data.identities": 60, "data.per_identity": 4, "data.valid_identities": 20,
        "data.test_identities": 30, "data.test_per_identity": 2, "data.image_size": 24, "data.augment": "flip",
        "model.width": "8,16,32,32", "model.stem_stride": 1, "model.dim": 32, "model.margin": 0.2,
        "model.scale": 16}


def facesjs_available() -> bool:
    from zoo import DataMissing
    from zoo_vision import faces_render
    try:
        faces_render.facesjs_main()
        return True
    except DataMissing:
        return False


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    require(facesjs_available(), "npm facesjs is not installed (python -m zoo_vision.faces_render)")
    from zoo.runs import train

    out = tmp_path_factory.mktemp("faces") / "run"
    train("vision/faces", sets={k: str(v) for k, v in TINY.items()}, out=str(out), callbacks=[])
    return out


def test_rendered_identities_learn(trained):
    """Pairs of 30 people never seen in training (on background photos no training picture uses): the embedding
    ranks genuine pairs above impostor pairs well above chance (ROC AUC 0.5), with the checkpoint validation chose."""
    metrics = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["train_loss"] < 0.5 * metrics[0]["train_loss"]
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["test"]["roc_auc"] > 0.65, summary["test"]
    assert {"tar_far_1e-3", "verify_accuracy"} <= set(summary["test"])
    thresholds = json.loads((trained / "verification.json").read_text())
    assert -1 < thresholds["threshold"] < 1 and -1 < thresholds["far_threshold"] < 1


def test_margin_makes_the_true_class_harder():
    from zoo_vision.faces_task import arcface_loss

    cosine = torch.tensor([[0.8, 0.1, -0.2], [0.0, 0.5, 0.3]])
    target = torch.tensor([0, 1])
    plain = torch.nn.functional.cross_entropy(cosine * 16, target)
    assert torch.isclose(arcface_loss(cosine, target, 0.0, 16), plain)
    assert arcface_loss(cosine, target, 0.4, 16) > plain + 1  # cos(theta + 0.4) is well below cos(theta)


def _render_folder(root, identities=3, per=3, size=48, offset=0):
    """Pictures of a few rendered identities written as DIR/<name>/<name>_NNNN.png (LFW's naming)."""
    from zoo_vision import faces_render, signs_render

    x, y = faces_render.render_set(0, 900 + offset, identities, per, size, signs_render.photo_arrays("test"))
    names = []
    for k, (image, label) in enumerate(zip(x, y)):
        name = f"person_{label}"
        (root / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.transpose(1, 2, 0)).save(root / name / f"{name}_{k % per + 1:04d}.png")
        names.append(name)
    return sorted(set(names))


def test_gallery_names_the_enrolled_identity(trained, tmp_path):
    from zoo.predictor import Predictor

    gallery = tmp_path / "gallery"
    names = _render_folder(gallery, identities=3, per=3, size=24)
    probe = gallery / names[1] / f"{names[1]}_0002.png"
    saved = (trained / "verification.json").read_text()
    run = Predictor(trained, device="cpu")
    [got] = run.predict([str(probe)], gallery=str(gallery))
    # the closest enrolled identity, by a margin (the probe is one of its three enrolled photos)
    assert got["closest"] == names[1] and got["similarity"] > got["next"]["similarity"]
    assert got["identity"] == (names[1] if got["similarity"] > got["threshold"] else "unknown")
    assert "embedding" not in got
    [plain] = run.predict([str(probe)])  # without a gallery: the unit embedding
    assert abs(np.linalg.norm(plain["embedding"]) - 1) < 1e-3
    # named above the run's threshold, "unknown" below it (a person not enrolled)
    strangers = tmp_path / "strangers"
    for name in names[1:]:
        (strangers / name).mkdir(parents=True)
        for file in (gallery / name).iterdir():
            (strangers / name / file.name).write_bytes(file.read_bytes())
    for far_threshold, expect in ((-1.0, "named"), (0.9999, "unknown")):
        (trained / "verification.json").write_text(json.dumps({**json.loads(saved), "far_threshold": far_threshold}))
        other = Predictor(trained, device="cpu")
        [got] = other.predict([str(gallery / names[0] / f"{names[0]}_0001.png")], gallery=str(strangers))
        assert got["closest"] in names[1:]
        assert got["identity"] == (got["closest"] if expect == "named" else "unknown")
    (trained / "verification.json").write_text(saved)
    with pytest.raises(ZooError, match="--gallery .*no such folder"):
        other.predict([str(probe)], gallery=str(tmp_path / "nowhere"))


def test_zoo_predict_gallery_cli(trained, tmp_path):
    gallery = tmp_path / "g"
    names = _render_folder(gallery, identities=2, per=2, size=24, offset=5)
    probe = gallery / names[0] / f"{names[0]}_0001.png"
    result = run_zoo("predict", str(trained), str(probe), "--gallery", str(gallery))
    assert result.code == 0, result.err
    assert names[0] in result.out
    bad = run_zoo("predict", str(trained), str(probe), "--gallery", str(tmp_path / "missing"))
    assert bad.code == 2 and "--gallery" in bad.err and "Traceback" not in bad.err


def _blocks(root, names, per, size=32, seed=0):
    """Identity folders of synthetic pictures (a colour per identity) for the readers' tests."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(names):
        (root / name).mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 255, 3)
        for i in range(per):
            array = np.clip(base + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(array).save(root / name / f"{name}_{i + 1:04d}.jpg")


def test_identity_folders_hold_out_whole_identities(tmp_path):
    from zoo_vision.faces import faces

    names = [f"id{k:02d}" for k in range(12)]
    _blocks(tmp_path, names, per=3)
    bundle = faces(data=str(tmp_path), image_size=24, detect=False, valid_fraction=0.2, test_fraction=0.25)
    sizes = bundle.info["split_sizes"]
    assert sizes == {"train": [7, 21], "valid": [2, 6], "test": [3, 9]}
    train, test = set(bundle.train.identities), set(bundle.test.identities)
    assert not train & test and not train & set(bundle.valid.identities)
    assert bundle.model_args["num_classes"] == 7 and bundle.train[0][0].shape == (3, 24, 24)


def test_lfw_pairs_protocol(tmp_path):
    from zoo_vision.faces import faces

    _blocks(tmp_path, [f"Train_{k}" for k in range(6)], per=3)
    _blocks(tmp_path, ["Ann_Lee", "Bob_Ray", "Cy_Day"], per=3, seed=1)
    (tmp_path / "pairs.txt").write_text("2\t1\nAnn_Lee\t1\t2\nBob_Ray\t1\tCy_Day\t2\n"
                                        "Bob_Ray\t2\t3\nAnn_Lee\t3\tCy_Day\t1\n")
    bundle = faces(data=str(tmp_path), image_size=24, detect=False, valid_fraction=0.34)
    test = bundle.test
    assert sorted(test.identities) == ["Ann_Lee", "Bob_Ray", "Cy_Day"]
    assert not set(test.identities) & set(bundle.train.identities)
    assert test.pairs.tolist()[0][2] == 1 and test.pairs.tolist()[1][2] == 0 and test.folds.tolist() == [0, 0, 1, 1]
    i, j, same = test.pairs[1]
    assert test.identities[int(test.labels[i])] == "Bob_Ray" and test.identities[int(test.labels[j])] == "Cy_Day"
    assert len(test) == 8  # the eight distinct images the four pairs name
    from zoo_vision import faces as f
    scores = np.array([0.9, 0.1, 0.8, 0.2])
    same = np.array([1, 0, 1, 0], bool)
    assert f.tenfold_accuracy(scores, same, test.folds.numpy() if hasattr(test.folds, "numpy") else test.folds)[0] == 1


@pytest.mark.parametrize("text, message", [
    ("ten 300\n", "line 1: expected LFW's header"),
    ("1\t2\nAnn_Lee\t1\n", "line 2: expected `name n1 n2`"),
    ("1\t1\nAnn_Lee\t1\t9\n", "line 2: no image .*Ann_Lee_0009.jpg"),
    ("1\t1\nAnn_Lee\tone\ttwo\n", "line 2: expected"),
])
def test_bad_pairs_files(tmp_path, text, message):
    from zoo_vision.faces import faces

    _blocks(tmp_path, [f"Train_{k}" for k in range(5)] + ["Ann_Lee"], per=2)
    (tmp_path / "pairs.txt").write_text(text)
    with pytest.raises(ZooError, match=message) as caught:
        faces(data=str(tmp_path), image_size=24, detect=False)
    assert "pairs.txt" in str(caught.value) and "\n" not in str(caught.value)


def test_bad_files(tmp_path):
    from zoo_vision.faces import faces

    _blocks(tmp_path, ["a", "b", "c", "d", "e", "f"], per=2)
    (tmp_path / "c" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ZooError, match=r"broken\.jpg: not a readable image"):
        faces(data=str(tmp_path), image_size=24, detect=False)
    with pytest.raises(ZooError, match="no such folder"):
        faces(data=str(tmp_path / "nothing"))
    lonely = tmp_path / "lonely"
    _blocks(lonely, ["only"], per=2)
    with pytest.raises(ZooError, match="one sub-folder of face photos per identity, found 1"):
        faces(data=str(lonely), detect=False)
    with pytest.raises(ZooError, match="data.image_size"):
        faces(data=str(tmp_path), image_size=8)


def test_haar_cascade_finds_a_real_face_and_warns_when_none(tmp_path):
    from skimage import data as skdata

    from zoo_vision.faces import NoFaceFound, align, faces

    photo = Image.fromarray(skdata.astronaut())  # Eileen Collins: face at about x 170-260, y 40-150
    face, found = align(photo, 48)
    assert found and face.shape == (48, 48, 3)
    blank, found = align(Image.new("RGB", (200, 120), (90, 120, 150)), 48)
    assert not found and (blank == [90, 120, 150]).all()  # the centre square of a picture with no face
    _blocks(tmp_path, ["a", "b", "c", "d", "e", "f"], per=2)
    with pytest.warns(NoFaceFound, match=r"no face found in 12 photo\(s\)"):
        faces(data=str(tmp_path), image_size=24, detect=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        faces(data=str(tmp_path), image_size=24, detect=False)


def test_verification_figures():
    from zoo_vision import faces as f

    labels = np.repeat(np.arange(20), 3)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 16))
    good = centres[labels] + 0.05 * rng.normal(size=(60, 16))
    out = f.verification(good, labels)
    assert out["tar_far_1e-3"] == 1.0 and out["verify_accuracy"] == 1.0
    noise = rng.normal(size=(60, 16))
    bad = f.verification(noise, labels, threshold=out["threshold"])
    assert bad["tar_far_1e-3"] < 0.2 and bad["verify_accuracy"] < 0.7
