"""generation/denoise: the held-out photos stay whole and apart, the noise-level map, the loss weights, the level
told or estimated at `zoo predict`, the BM3D wrapper, and a tiny training that must beat its noisy input."""
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from zoo import ZooError
from zoo.testing import train_tiny
from zoo_generation import baselines, models
from zoo_generation.data import denoise as denoise_data, photos as photos_data
from zoo_generation.tasks.denoise import DenoiseTask, estimate_level
from zoo_generation.tasks.image import psnr

TINY = ("threads=1", "grad_stats_every=0", "device=cpu", "warmup=0.1")


def test_the_built_in_catalogue_names_each_photo_once_with_a_licence_and_holds_out_twenty():
    catalogue = {**photos_data.PHOTOS, **photos_data.MORE_PHOTOS}
    assert len(catalogue) == len(photos_data.PHOTOS) + len(photos_data.MORE_PHOTOS)  # no name twice
    files = [(where, file) for where, file, _ in catalogue.values()]
    assert len(set(files)) == len(files)  # no photo under two names (it could land in two splits)
    assert all(licence for _, _, licence in catalogue.values())
    held = photos_data.TEST + photos_data.MORE_TEST + photos_data.VALID + photos_data.MORE_VALID
    assert len(set(held)) == len(held) and set(held) <= set(catalogue)
    splits = {name: photos_data.split_of(name, more=True) for name in catalogue}
    assert sum(s == "test" for s in splits.values()) >= 20
    assert all(photos_data.split_of(n) == s for n, s in splits.items() if n in photos_data.PHOTOS
               and n not in photos_data.MORE_TEST + photos_data.MORE_VALID)  # the other recipes' split is unchanged


@pytest.fixture
def fake_catalogue(tmp_path, monkeypatch):
    """Every built-in photo replaced by a small flat image of its own grey level: a pixel tells its photo."""
    catalogue = {**photos_data.PHOTOS, **photos_data.MORE_PHOTOS}
    levels = {name: (i + 1) / (len(catalogue) + 2) for i, name in enumerate(catalogue)}
    for name, value in levels.items():
        Image.fromarray(np.full((40, 56), round(value * 255), np.uint8)).save(tmp_path / f"{name}.png")
    by_file = {file: name for name, (_, file, _) in catalogue.items()}
    monkeypatch.setattr(photos_data, "photo_path", lambda where, file: tmp_path / f"{by_file[file]}.png")
    return {name: round(value * 255) for name, value in levels.items()}


def test_denoising_splits_hold_whole_photos_apart(fake_catalogue):
    bundle = denoise_data.denoise_photos(crop=16, max_side=64)
    names = bundle.info["photos"]
    assert len(names["test"]) >= 20 and len(names["valid"]) >= 4
    assert not (set(names["train"]) & set(names["test"])) and not (set(names["train"]) & set(names["valid"]))
    grey = {n: v for n, v in fake_catalogue.items()}
    held = {grey[n] for s in ("valid", "test") for n in names[s]}
    seen_in_training = {round(float(v) * 255) for img in bundle.train.images for v in img[0].unique()}
    assert seen_in_training == {grey[n] for n in names["train"]}
    assert not seen_in_training & held  # no pixel of a held-out photo is in a training window
    for split in ("valid", "test"):
        for name, img in getattr(bundle, split).photos:
            assert round(float(img.mean()) * 255) == grey[name]


def test_the_noise_level_map_and_what_the_network_is_told():
    image = torch.rand(1, 5, 7)
    assert torch.equal(denoise_data.with_level(image, 51.0)[1], torch.full((5, 7), 0.2))
    batch = denoise_data.with_level(torch.rand(3, 1, 4, 4), torch.tensor([0.0, 25.5, 51.0]))
    assert batch.shape == (3, 2, 4, 4) and torch.allclose(batch[:, 1, 0, 0], torch.tensor([0.0, 0.1, 0.2]))
    net = models.resunet_denoiser(channels=1, width=8, levels=3, blocks=1)
    out = net(denoise_data.with_level(torch.rand(2, 1, 13, 22), 25.0))  # any size: padded inside, cropped back
    assert out.shape == (2, 1, 13, 22)
    told = {}
    task = DenoiseTask.__new__(DenoiseTask)
    task.info, task._level = {"noise_map": True, "channels": 1}, None

    def spy(x):
        told["level"] = float(x[0, 1].mean()) * 255
        return x[:, :1]
    task.denoise(spy, torch.rand(1, 20, 20), 37.0, "cpu")
    assert told["level"] == pytest.approx(37.0, abs=1e-3)


def test_the_loss_counts_every_level_alike():
    task = DenoiseTask.__new__(DenoiseTask)
    clean = torch.rand(2, 1, 8, 8)
    target = torch.cat([denoise_data.with_level(clean[:1], 15.0), denoise_data.with_level(clean[1:], 50.0)])
    # the error each level leaves is proportional to the level: both samples count the same
    output = clean + torch.cat([torch.full((1, 1, 8, 8), 0.3 * 15 / 255), torch.full((1, 1, 8, 8), 0.3 * 50 / 255)])
    each = [float(task.loss(output[i:i + 1], target[i:i + 1])) for i in range(2)]
    assert each[0] == pytest.approx(each[1], rel=1e-4)
    assert float(task.loss(output, target)) == pytest.approx(np.mean(each), rel=1e-5)
    near_zero = denoise_data.with_level(clean[:1], 0.0)  # no division by zero: the weight is capped
    assert torch.isfinite(task.loss(clean[:1] + 0.01, near_zero))


def test_the_level_is_estimated_when_not_told():
    clean = np.tile(np.linspace(0.2, 0.8, 96, dtype=np.float32), (96, 1))[..., None]
    noisy = clean + np.random.default_rng(0).normal(0, 20 / 255, clean.shape).astype(np.float32)
    assert estimate_level(noisy) == pytest.approx(20.0, rel=0.1)


def test_bm3d_wrapper_denoises_or_says_what_to_install(monkeypatch):
    rng = np.random.default_rng(0)
    clean = torch.from_numpy(np.tile(np.linspace(0.2, 0.8, 40, dtype=np.float32), (40, 1)))[None]
    noisy = clean + torch.from_numpy(rng.normal(0, 25 / 255, clean.shape).astype(np.float32))
    monkeypatch.setitem(sys.modules, "bm3d", None)  # as if not installed
    with pytest.raises(ZooError, match="pip install bm3d"):
        baselines.bm3d(noisy, 25.0)
    monkeypatch.delitem(sys.modules, "bm3d")
    pytest.importorskip("bm3d", reason="the optional bm3d package (non-commercial licence) is not installed")
    out = baselines.bm3d(noisy, 25.0)
    assert out.shape == clean.shape and psnr(out, clean) > psnr(noisy, clean) + 6


def test_a_tiny_network_told_the_level_beats_its_noisy_input_at_two_levels(photos, tmp_path):
    run, summary = train_tiny("generation/denoise", tmp_path, *TINY, "data.crop=24", "model.width=12",
                              "model.levels=2", "batch_size=8", "lr=3e-3", "data.sigmas=15,50", data=str(photos),
                              epochs=10)
    clean = run.trainer(with_data=True).data.test.photos[0][1]
    for sigma, margin in ((15, 2.0), (50, 3.5)):
        noisy = psnr(denoise_data.noisy_photo("astronaut", clean, sigma), clean)  # 24.6 and 14.2 dB
        assert summary["test"][f"psnr_sigma{sigma}"] > noisy + margin, (summary["test"], sigma, noisy)
    image = tmp_path / "noisy.png"
    noisy = (clean[0] + torch.randn(clean.shape[1:], generator=torch.Generator().manual_seed(1)) * 30 / 255).clamp(0, 1)
    Image.fromarray((noisy.numpy() * 255).round().astype(np.uint8)).save(image)
    [estimated] = run.predict([str(image)], out=tmp_path / "out")
    assert estimated["sigma"] == pytest.approx(30, rel=0.25) and (tmp_path / "out" / "noisy.denoised.png").is_file()
    [told] = run.predict([str(image)], out=tmp_path / "out", sigma=30.0)
    assert told["sigma"] == 30.0
    with pytest.raises(ZooError, match="--sigma 0: the noise level"):
        run.predict([str(image)], sigma=0.0)
