"""Reading images of every kind, bad inputs, splits, tiles: fast, no training."""
import gzip
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from zoo import DataMissing, ZooError
from zoo_generation.data import colorize as colorize_data, denoise as denoise_data, fashion as fashion_data
from zoo_generation.data import photos as photos_data, style as style_data, super_resolution as sr_data
from zoo_generation import images


def test_every_kind_of_png_becomes_floats(tmp_path):
    grey16 = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "deep.png")
    a = images.read_array(tmp_path / "deep.png")
    assert a.shape == (64, 64, 1) and a.dtype == np.float32
    assert abs(a.max() - grey16.max() / 65535) < 1e-6  # scaled by 65535, not clipped at 255

    pal = Image.new("P", (10, 10))
    pal.putpalette([255, 0, 0] + [0, 0, 255] * 255)
    pal.save(tmp_path / "palette.png")
    p = images.read_array(tmp_path / "palette.png")
    assert p.shape == (10, 10, 3) and np.allclose(p[0, 0], [1, 0, 0])

    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 2] = 255
    rgba[:4, :, 3] = 255  # top half opaque blue, bottom half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    r = images.read_array(tmp_path / "alpha.png")
    assert np.allclose(r[0, 0], [0, 0, 1]) and np.allclose(r[-1, -1], [1, 1, 1])  # composited over white

    colour = images.read_array(tmp_path / "palette.png")
    assert images.to_channels(colour, 1).shape == (10, 10, 1)
    assert abs(float(images.to_channels(colour, 1)[0, 0, 0]) - 0.299) < 1e-6  # luma of pure red
    assert images.to_channels(a, 3).shape == (64, 64, 3)


def test_a_corrupt_file_is_named_and_the_rest_are_read(tmp_path):
    Image.fromarray(np.full((16, 16), 100, np.uint8)).save(tmp_path / "good.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ZooError, match="broken.png"):
        images.read_array(tmp_path / "broken.png")
    warnings = []
    found = images.read_many(images.find_images(tmp_path), warn=warnings.append)
    assert [p.name for p, _ in found] == ["good.png"]
    assert len(warnings) == 1 and "broken.png" in warnings[0]


def write_photos(folder, count=4, size=40):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (size, size + 8, 3)).astype(np.uint8)).save(folder / f"p{i}.png")
    return folder


def test_users_folder_is_split_by_whole_images(tmp_path):
    write_photos(tmp_path / "mine", count=7)
    splits = photos_data.user_photos(str(tmp_path / "mine"), seed=0)
    names = [p.name for s in splits.values() for p in s]
    assert sorted(names) == [f"p{i}" for i in range(7)] and all(splits.values())
    assert len(splits["test"]) == 1 and len(splits["valid"]) == 1
    with pytest.raises(ZooError, match="need at least 3"):
        photos_data.user_photos(str(write_photos(tmp_path / "few", count=2)), seed=0)


def test_an_image_smaller_than_the_crop_is_named(tmp_path):
    folder = write_photos(tmp_path / "mine", count=4, size=40)
    Image.fromarray(np.zeros((12, 30), np.uint8)).save(folder / "tiny.png")
    with pytest.raises(ZooError, match=r"tiny.png: 30x12 pixels is smaller than the 24-pixel crop"):
        denoise_data.denoise_photos(str(folder), crop=24)
    with pytest.raises(ZooError, match="data.crop"):
        sr_data.sr_photos(str(folder), scale=4, crop=30)  # not a multiple of the scale


def test_grey_photos_are_left_out_of_colorization_and_all_grey_is_an_error(tmp_path):
    folder = write_photos(tmp_path / "mine", count=4, size=40)
    Image.fromarray(np.full((40, 40), 90, np.uint8)).save(folder / "grey.png")
    bundle = colorize_data.colorize_photos(str(folder), crop=16, tile=16)
    assert "grey" not in sum(bundle.info["photos"].values(), [])
    only_grey = tmp_path / "grey"
    only_grey.mkdir()
    for i in range(3):
        Image.fromarray(np.full((40, 40), 30 * i, np.uint8)).save(only_grey / f"g{i}.png")
    with pytest.raises(ZooError, match="0 readable colour image"):
        colorize_data.colorize_photos(str(only_grey), crop=16)


def test_built_in_photos_ship_in_wheels_and_nothing_downloads():
    for name, (where, file, licence) in photos_data.PHOTOS.items():
        if where != "mate":  # scikit-image, scikit-learn, matplotlib: inside the installed wheels
            assert photos_data.photo_path(where, file).is_file(), name
        assert licence
    splits = photos_data.default_photos()
    assert {p.name for p in splits["test"]} >= {"astronaut", "coffee", "china", "camera"}
    assert not {p.name for p in splits["train"]} & set(photos_data.TEST + photos_data.VALID)


def test_missing_default_style_painting_says_which_package(monkeypatch, tmp_path):
    monkeypatch.setattr(photos_data, "MATE", tmp_path / "absent")
    with pytest.raises(DataMissing, match="mate-backgrounds"):
        style_data.style_images("")


def test_training_targets_move_with_their_inputs():
    torch.manual_seed(0)
    window = torch.rand(6, 1, 24, 24)
    target = denoise_data.with_level(window, 0.0)  # the level channel: the augment draws and writes the level
    noisy, clean = denoise_data.NoiseAugment(16, 55.0)(target, target)
    assert clean.shape == noisy.shape == (6, 2, 16, 16) and 0 < (noisy - clean)[:, 0].std() < 0.25
    assert torch.equal(noisy[:, 1], clean[:, 1])  # the input is told the very level its noise was drawn with
    drawn = (noisy - clean)[:, 0].flatten(1).std(1) / clean[:, 1].flatten(1).mean(1)
    assert torch.allclose(drawn, torch.ones(6), atol=0.2), drawn
    lr, hr = sr_data.DownscaleAugment(16, 4)(window, window)
    assert torch.allclose(sr_data.downscale(hr, 4), lr)  # the input is made from the very crop that is its target
    lab = torch.rand(5, 3, 24, 24)
    L, ab = colorize_data.LabAugment(16)(lab[:, :1], lab[:, 1:])
    found = [any(torch.equal(torch.cat([L[i], ab[i]]), c) for c in candidates(lab[i], 16)) for i in range(5)]
    assert all(found)


def candidates(img, size):
    """Every crop of img of this size, and its mirror."""
    out = []
    for y in range(img.shape[-2] - size + 1):
        for x in range(img.shape[-1] - size + 1):
            c = img[:, y:y + size, x:x + size]
            out += [c, c.flip(-1)]
    return out


def test_tiles_blend_without_seams():
    x = torch.rand(1, 1, 70, 90)
    out = images.tiled(lambda t: t * 2, x, tile=32, overlap=8)
    assert torch.allclose(out, x * 2, atol=1e-6)
    up = images.tiled(lambda t: t.repeat_interleave(2, -1).repeat_interleave(2, -2), x, tile=32, overlap=8, scale=2)
    assert up.shape == (1, 1, 140, 180) and torch.allclose(up[..., ::2, ::2], x, atol=1e-6)


def test_fashion_idx_files_and_a_corrupt_one(tmp_path):
    def write_idx(path, array):
        header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
        with gzip.open(path, "wb") as fh:
            fh.write(header + array.astype(np.uint8).tobytes())
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 20)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28)))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    bundle = fashion_data.fashion_mnist(str(tmp_path), valid_size=10)
    x, y = bundle.train[0]
    assert x["image"].shape == (1, 28, 28) and -1 <= float(x["image"].min()) and float(x["image"].max()) <= 1
    assert (len(bundle.train), len(bundle.valid), len(bundle.test)) == (30, 10, 20)
    with pytest.raises(ZooError, match="not a run directory"):
        fashion_data.fashion_mnist(str(tmp_path), classifier=str(tmp_path / "nope"))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"junk")
    with pytest.raises(ZooError, match="t10k-labels-idx1-ubyte.gz"):
        fashion_data.fashion_mnist(str(tmp_path))


def test_listing_never_imports_torch():
    code = ("import sys; from zoo.plugins import get_registry; r = get_registry(); "
            "r.get('generation/denoise', kind='recipe'); "
            "heavy = [m for m in ('torch', 'skimage', 'torchvision') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
