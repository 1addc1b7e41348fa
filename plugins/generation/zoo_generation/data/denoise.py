"""Gaussian denoising: clean photo windows, noise of a level drawn per sample when training, fixed noise per
held-out photo and level for evaluation.

Inputs are the noisy image with, by default (`noise_map=True`), one more channel holding the noise level sigma/255
everywhere (FFDNet's and DRUNet's noise-level map): one network for every level, told the level. Targets are the
clean image with that level as one more channel too, always: the task weighs each sample's squared error by
its level (see tasks/denoise.py) and strips the channel before any metric.
"""
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


def with_level(image: torch.Tensor, sigma) -> torch.Tensor:
    """(N x) C x H x W -> (N x) C+1 x H x W: the image with a channel holding sigma/255 (a number, or one per
    sample of a batch) everywhere."""
    level = torch.as_tensor(sigma, dtype=image.dtype, device=image.device) / 255.0
    shape = (*image.shape[:-3], 1, *image.shape[-2:])
    return torch.cat([image, level.reshape(*level.shape, *[1] * (len(shape) - level.dim())).expand(shape)], -3)


def noisy_photo(name: str, clean: torch.Tensor, sigma: float) -> torch.Tensor:
    """A held-out photo with its own fixed noise of level sigma (0-255 scale): what the network and the
    classical baselines are all scored on."""
    return clean + gaussian_noise(clean.shape, sigma, f"photo:{name}")


class NoiseAugment:
    """Random crop and symmetry of the clean window, then Gaussian noise of a level drawn per sample from
    [0, sigma_max] (on 0-255): one network for every level, told the level in a channel of its input
    (`noise_map`) or blind to it. The target carries the level as its last channel (for the loss weights)."""

    def __init__(self, crop: int, sigma_max: float, noise_map: bool = True):
        self.crop, self.sigma_max, self.noise_map = crop, sigma_max, noise_map

    def __call__(self, x, y):
        clean = random_symmetry(random_crops(y[:, :-1], self.crop))
        sigma = torch.rand(clean.shape[0], device=clean.device) * self.sigma_max
        noisy = clean + sigma.view(-1, 1, 1, 1) / 255.0 * torch.randn_like(clean)
        return (with_level(noisy, sigma) if self.noise_map else noisy), with_level(clean, sigma)


def denoise_photos(data: str | None = None, seed: int = 0, crop: int = 48, channels: int = 1, max_side: int = 512,
                   sigmas: str = "15,25,50", sigma_max: float = 55.0, tile: int = 96, noise_map: bool = True,
                   more_photos: bool = True) -> DataBundle:
    """`noise_map`: the network is told the level (a channel of its input; `zoo predict --sigma`, else estimated);
    `more_photos`: the built-in photos include those of Debian's lomiri and plasma wallpaper packages (20 test
    photos instead of 6)."""
    check_crop("denoising", crop, 8)
    levels = parse_levels(sigmas)
    splits = prepared(data, seed, channels, max_side, crop, more=more_photos)

    def noisy(level_of):
        def make(tile_img, key, i):
            sigma = level_of(i)
            x = tile_img + gaussian_noise(tile_img.shape, sigma, key)
            return (with_level(x, sigma) if noise_map else x), with_level(tile_img, sigma)
        return make

    held = {s: HeldOut(splits[s], tile, noisy(lambda i: levels[i % len(levels)])) for s in ("valid", "test")}
    window = crop + crop // 2
    return DataBundle(train=Windows([im for _, im in splits["train"]], window, window // 2,
                                    make=lambda w: (with_level(w, 0.0) if noise_map else w, with_level(w, 0.0))), valid=held["valid"],
                      test=held["test"], augment=NoiseAugment(crop, sigma_max, noise_map),
                      model_args={"channels": channels, "noise_map": noise_map},
                      info=bundle_info(splits, channels=channels, sigmas=levels, sigma_max=sigma_max, kind="denoise",
                                       noise_map=noise_map))
