"""Gaussian denoising: clean photo windows, noise of a level drawn per sample when training, fixed noise per
held-out photo and level for evaluation."""
from __future__ import annotations

import torch

from zoo import ZooError
from zoo.data import DataBundle

from .photos import HeldOut, Windows, bundle_info, check_crop, key_seed, prepared, random_crops, random_symmetry


def parse_levels(text: str | int | float) -> list[float]:
    try:
        levels = [float(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        levels = []
    if not levels or min(levels) <= 0:
        raise ZooError(f"--set data.sigmas: expected noise levels on 0-255 like '15,25,50', got {text!r}")
    return levels


def gaussian_noise(shape, sigma: float, key: str) -> torch.Tensor:
    """Noise of std sigma/255 from a generator seeded by `key`: the same for the model and for the baselines."""
    g = torch.Generator().manual_seed(key_seed(key, sigma))
    return torch.randn(shape, generator=g) * (sigma / 255.0)


def noisy_photo(name: str, clean: torch.Tensor, sigma: float) -> torch.Tensor:
    """A held-out photo with its own fixed noise of level sigma (0-255 scale): what the network and the
    classical baselines are all scored on."""
    return clean + gaussian_noise(clean.shape, sigma, f"photo:{name}")


class NoiseAugment:
    """Random crop and symmetry of the clean window, then Gaussian noise of a level drawn per sample from
    [0, sigma_max] (on 0-255): one network for every level, blind to it."""

    def __init__(self, crop: int, sigma_max: float):
        self.crop, self.sigma_max = crop, sigma_max

    def __call__(self, x, y):
        clean = random_symmetry(random_crops(y, self.crop))
        sigma = torch.rand(clean.shape[0], 1, 1, 1, device=clean.device) * (self.sigma_max / 255.0)
        return clean + sigma * torch.randn_like(clean), clean


def denoise_photos(data: str | None = None, seed: int = 0, crop: int = 48, channels: int = 1, max_side: int = 512,
                   sigmas: str = "15,25,50", sigma_max: float = 55.0, tile: int = 96) -> DataBundle:
    check_crop("denoising", crop, 8)
    levels = parse_levels(sigmas)
    splits = prepared(data, seed, channels, max_side, crop)

    def noisy(level_of):
        def make(tile_img, key, i):
            sigma = level_of(i)
            return tile_img + gaussian_noise(tile_img.shape, sigma, key), tile_img
        return make

    held = {s: HeldOut(splits[s], tile, noisy(lambda i: levels[i % len(levels)])) for s in ("valid", "test")}
    window = crop + crop // 2
    return DataBundle(train=Windows([im for _, im in splits["train"]], window, window // 2), valid=held["valid"],
                      test=held["test"], augment=NoiseAugment(crop, sigma_max),
                      model_args={"channels": channels},
                      info=bundle_info(splits, channels=channels, sigmas=levels, sigma_max=sigma_max, kind="denoise"))
