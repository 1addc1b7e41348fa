import gzip
import json
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from zoo import ZooError
from zoo.testing import require, run_zoo, train_tiny
from zoo_vision import data as vdata


def write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def fake_fashion(folder, n=60, m=20):
    rng = np.random.default_rng(0)
    for prefix, count in (("train", n), ("t10k", m)):
        labels = np.arange(count) % 10
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 255, (count, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


def image_tree(root, classes=("cat", "dog"), per_class=12, size=12, mode="RGB", suffix=".png"):
    """Two classes that differ in brightness: learnable by a real model, impossible by chance."""
    for c, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            value = 40 + 170 * c + (i % 5)
            array = np.full((size, size, 3) if mode == "RGB" else (size, size), value, dtype=np.uint8)
            Image.fromarray(array, mode=mode).save(folder / f"{i}{suffix}")
    return root


def test_digits_recipe_learns_in_seconds(tmp_path):
    run, summary = train_tiny("vision/digits-resnet", tmp_path, "model.width=16", "data.image_size=8",
                              "batch_size=32", epochs=3)
    assert summary["test"]["accuracy"] > 0.6  # chance is 0.1
    assert summary["valid"]["best"]["accuracy"] >= summary["valid"]["final"]["accuracy"] - 1e-9
    assert summary["test_final"]["accuracy"] > 0.6 and set(summary["test_final"]) == set(summary["test"])
    assert "| test | accuracy |" in (run.dir / "README.md").read_text()
    # the recipe declares shift views: the chosen weights are also scored averaged over them
    assert summary["test_tta"]["accuracy"] > 0.6 and summary["test_tta"] != summary["test"]
    assert "| test, views shift" in (run.dir / "README.md").read_text()


def test_missing_default_fashion_mnist_says_which_package(monkeypatch, tmp_path):
    from zoo import DataMissing

    monkeypatch.setattr(vdata, "FASHION_DIR", tmp_path / "absent")
    with pytest.raises(DataMissing, match="dataset-fashion-mnist"):
        vdata.fashion_mnist()
    with pytest.raises(ZooError, match="no Fashion-MNIST folder") as caught:  # a user's own path: their error
        vdata.fashion_mnist(str(tmp_path / "mine"))
    assert not isinstance(caught.value, DataMissing)


def test_idx_reader_and_split_of_a_users_copy(tmp_path):
    bundle = vdata.fashion_mnist(str(fake_fashion(tmp_path)), valid_size=10)
    assert (len(bundle.train), len(bundle.valid), len(bundle.test)) == (50, 10, 20)
    x, y = bundle.valid[0]
    assert x.shape == (1, 28, 28) and 0 <= int(y) < 10
    assert bundle.info["classes"][9] == "Ankle boot"
    assert bundle.info["class_counts"] == [5] * 10  # training labels per class, for logit_adjust


def test_a_corrupt_idx_file_is_named(tmp_path):
    fake_fashion(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ZooError, match="t10k-labels-idx1-ubyte.gz"):
        vdata.fashion_mnist(str(tmp_path))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(ZooError, match="missing t10k-labels-idx1-ubyte.gz"):
        vdata.fashion_mnist(str(tmp_path))


def test_fashion_mnist_default_from_the_debian_package():
    require(vdata.FASHION_DIR.is_dir(), "Debian package dataset-fashion-mnist is not installed")
    bundle = vdata.fashion_mnist()
    assert (len(bundle.train), len(bundle.valid), len(bundle.test)) == (55000, 5000, 10000)


def test_image_folder_trains_and_predicts_through_the_cli(tmp_path):
    root = image_tree(tmp_path / "imgs")
    out = tmp_path / "run"
    result = run_zoo("train", "vision/image-folder", "--data", str(root), "--out", str(out), "--epochs", "4",
                     "--set", "data.image_size=8", "--set", "batch_size=8", "--set", "lr=5e-3", "--seed", "3",
                     "--device", "cpu")
    assert result.code == 0, result.err
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 3 and config["config"]["device"] == "cpu" and config["config"]["epochs"] == 4
    bright, dark = root / "dog" / "0.png", root / "cat" / "0.png"
    pred = run_zoo("predict", str(out), str(bright), str(dark))
    assert pred.code == 0, pred.err
    lines = pred.out.strip().splitlines()
    assert "label=dog" in lines[0] and "label=cat" in lines[1]
    evaluated = run_zoo("eval", str(out), "--json")
    assert '"accuracy": 1.0' in evaluated.out
    # --data evaluates on other images: here the brightness of the two classes is swapped
    swapped = image_tree(tmp_path / "swapped", classes=("dog", "cat"))
    evaluated = run_zoo("eval", str(out), "--data", str(swapped), "--json")
    assert evaluated.code == 0, evaluated.err
    assert json.loads(evaluated.out)["valid"]["accuracy"] == 0.0


def test_image_folder_reads_grey_rgba_and_jpeg_alike(tmp_path):
    root = image_tree(tmp_path / "a", mode="L", suffix=".jpg", per_class=4)
    Image.new("RGBA", (30, 20), (255, 0, 0, 128)).save(root / "cat" / "rgba.png")
    bundle = vdata.image_folder(str(root), image_size=16, channels=3)
    assert len(bundle.train) + len(bundle.valid) == 9
    assert bundle.train[0][0].shape == (3, 16, 16)


def test_explicit_train_valid_test_folders(tmp_path):
    for split in ("train", "valid", "test"):
        image_tree(tmp_path / split, per_class=3)
    bundle = vdata.image_folder(str(tmp_path), image_size=8)
    assert (len(bundle.train), len(bundle.valid), len(bundle.test)) == (6, 6, 6)


@pytest.mark.parametrize("make, message", [
    (lambda root: root.mkdir(), "expected one sub-folder per class"),
    (lambda root: image_tree(root, classes=("only",)), "only one class"),
    (lambda root: (image_tree(root), (root / "empty").mkdir()), "empty: class folder holds no images"),
    (lambda root: (image_tree(root), (root / "cat" / "broken.png").write_bytes(b"garbage")), "broken.png"),
])
def test_bad_image_folders_get_errors_naming_the_path(tmp_path, make, message):
    root = tmp_path / "data"
    make(root)
    with pytest.raises(ZooError, match=message):
        vdata.image_folder(str(root))


def test_bad_folder_through_the_cli_is_one_line(tmp_path):
    image_tree(tmp_path, classes=("only",))
    result = run_zoo("train", "vision/image-folder", "--data", str(tmp_path))
    assert result.code == 2 and "only one class" in result.err and "Traceback" not in result.err


def test_models_adapt_to_small_images_and_any_channels():
    from zoo_vision.models import resnet18, resnet_tiny

    for model, x in ((resnet18(5, in_channels=1, image_size=16), torch.randn(2, 1, 16, 16)),
                     (resnet_tiny(3, in_channels=4, image_size=8), torch.randn(2, 4, 8, 8)),
                     (resnet_tiny(3, image_size=28, stem_stride=2, stem_convs=2), torch.randn(2, 1, 28, 28)),
                     (resnet_tiny(3, width="16,32,64,64", depth="2,1,1,1"), torch.randn(2, 1, 28, 28))):
        assert model(x).shape == (2, model.num_classes)
    with pytest.raises(ZooError, match="model.stem_convs"):
        resnet_tiny(3, stem_convs=3)
    with pytest.raises(ZooError, match="model.depth"):
        resnet_tiny(3, depth="2,1")
    with pytest.raises(ZooError, match="model.arch"):
        from zoo_vision.models import timm_model
        timm_model(3, arch="resnet_does_not_exist")


def test_batch_augmentations_draw_each_image_on_its_own():
    from zoo_vision import augment

    torch.manual_seed(0)
    image = torch.arange(64.0).view(1, 1, 8, 8)
    batch = image.expand(256, 1, 8, 8)
    flipped = augment.random_flip(batch)
    mirrored = (flipped == image.flip(-1)).flatten(1).all(1)
    assert ((flipped == image).flatten(1).all(1) | mirrored).all() and 80 < int(mirrored.sum()) < 176
    # a crop is an 8x8 window of the edge-padded image, at its own offset per image
    padded = torch.nn.functional.pad(image, (1, 1, 1, 1), mode="replicate")[0, 0]
    cropped = augment.random_crop(batch, pad=1)
    offsets = set()
    for out in cropped[:, 0]:
        found = [(dy, dx) for dy in range(3) for dx in range(3) if torch.equal(out, padded[dy:dy + 8, dx:dx + 8])]
        assert len(found) == 1
        offsets.add(found[0])
    assert len(offsets) == 9
    # erasing blanks one rectangle of 2-15% of the area, or nothing
    erased = augment.random_erase(torch.ones(256, 3, 20, 20), p=0.5)
    area = (erased[:, 0] == 0).flatten(1).sum(1)
    assert (erased == erased[:, :1]).all()  # the same rectangle in every channel
    assert 80 < int((area > 0).sum()) < 176 and int(area.max()) <= 0.16 * 400 and int(area[area > 0].min()) >= 4


def test_augmentations_are_declared_by_name():
    from zoo_vision import augment

    tf = augment.build("crop,flip,erase,affine", 16)
    labels = torch.arange(4)
    x, y = tf(torch.randn(4, 1, 16, 16), labels)
    assert x.shape == (4, 1, 16, 16) and torch.equal(y, labels)
    assert augment.build("none", 16) is None
    with pytest.raises(ZooError, match="unknown augmentation 'blur'"):
        augment.build("blur", 16)


def test_image_folder_reads_size_and_colour_off_the_images_and_sizes_the_network(tmp_path):
    from zoo_vision.models import timm_model

    root = image_tree(tmp_path / "grey", mode="L", per_class=6, size=20)  # 20 x 20 grey images
    Image.new("RGB", (20, 20), (90, 90, 90)).save(root / "cat" / "grey-as-rgb.png")  # grey saved as RGB
    bundle = vdata.image_folder(str(root))
    assert (bundle.info["image_size"], bundle.info["channels"]) == (24, 1)
    Image.new("RGB", (30, 40), (200, 10, 10)).save(root / "dog" / "red.png")
    assert vdata.image_folder(str(root)).info["channels"] == 3
    small = timm_model(num_classes=2, in_channels=1, image_size=24, arch="auto", num_images=4000)  # 16 up
    big = timm_model(num_classes=2, in_channels=1, image_size=24, arch="auto", num_images=50000)
    params = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert params(small) < params(big) / 3 and params(small) < 1_500_000
