"""Colorization: colour photos in Lab; the L channel is the input, the ab colours (quantized, rebalanced) the target."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from zoo.data import DataBundle

from ..opencv_photos import LICENCE as OPENCV_LICENCE, PHOTOS as OPENCV_PHOTOS
from .photos import (MORE_PHOTOS, TEST, VALID, HeldOut, Windows, bundle_info, check_crop, prepared, random_crops,
                     random_symmetry)


AB_RANGE = 110.0
# Colorization's own split of the built-in photos (`more=True`: those of photos.py and of the Debian wallpaper
# packages, and two more photographs of lomiri-wallpapers-16.04). Denoising holds 14 of the wallpaper photos out
# for its test; colorization draws its own line, since no colorization model is ever scored on denoising's test
# photos (nor the reverse): 12 colour test photos (the 5 colour ones of TEST and 7 wallpapers), 5 validation
# photos, and every other photo to train on. No photo is in two of colorization's splits.
EXTRA_PHOTOS: dict[str, tuple[str, str, str]] = {
    "analogpattern": ("lomiri", "analogpattern_by_Peter_Nerlich.jpg", "CC BY-SA 4.0 (Peter Nerlich)"),
    "greentock": ("lomiri", "greentock_by_Peter_Nerlich.jpg", "CC BY-SA 4.0 (Peter Nerlich)"),
    # 18 colour photographs among OpenCV's sample images (Debian's opencv-doc), all to train on
    **{name: ("opencv", file, OPENCV_LICENCE) for name, file in OPENCV_PHOTOS.items()},
}
COLORIZE_TEST = TEST + ["bridge", "dragonfly", "picture_0b", "aitzgorri", "seeding", "eveningglow", "fallenleaf"]
COLORIZE_VALID = VALID + ["kite", "path"]


def colorize_split(name: str) -> str:
    """Which of colorization's splits a built-in photo belongs to (with `more`)."""
    return "test" if name in COLORIZE_TEST else "valid" if name in COLORIZE_VALID else "train"


def colorize_sources(more: bool = True) -> dict[str, tuple[str, str, str]]:
    """The built-in photos colorization may use: name -> (where, file, licence)."""
    from .photos import PHOTOS

    return {**PHOTOS, **(MORE_PHOTOS if more else {}), **(EXTRA_PHOTOS if more else {})}


def rgb_to_lab(img: torch.Tensor) -> torch.Tensor:
    """3 x H x W RGB in [0, 1] -> Lab (L in 0-100, a and b in about -110..110), by scikit-image."""
    from skimage.color import rgb2lab

    return torch.from_numpy(rgb2lab(img.permute(1, 2, 0).numpy()).astype(np.float32)).permute(2, 0, 1).contiguous()


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab -> 3 x H x W RGB in [0, 1], by scikit-image (colours outside sRGB are clipped, silently)."""
    import warnings

    from skimage.color import lab2rgb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        rgb = lab2rgb(lab.permute(1, 2, 0).double().numpy())
    return torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)


def l_input(L: torch.Tensor) -> torch.Tensor:
    """The network's input from the L channel (0-100): centred and scaled."""
    return L / 50.0 - 1.0


def ab_bins(train_lab: list[torch.Tensor], grid: float, rebalance: float) -> tuple[list[list[float]], list[float]]:
    """The quantized ab colours that occur in the training photos (a grid of `grid`), and class-rebalancing
    weights that give rare (saturated) colours more say, as in Zhang, Isola and Efros (2016)."""
    ab = torch.cat([lab[1:].reshape(2, -1) for lab in train_lab], 1)
    side = int(2 * AB_RANGE / grid)
    idx = ((ab.clamp(-AB_RANGE, AB_RANGE - 1e-3) + AB_RANGE) / grid).long()
    counts = torch.bincount(idx[0] * side + idx[1], minlength=side * side).float().view(side, side)
    # smooth the empirical distribution (Gaussian, sigma of half a bin) before weighting by its inverse
    kernel = torch.exp(-torch.arange(-2, 3).float() ** 2 / 2)
    kernel = (kernel[:, None] * kernel[None, :]) / (kernel.sum() ** 2)
    p = F.conv2d((counts / counts.sum())[None, None], kernel[None, None], padding=2)[0, 0]
    keep = counts > 0
    centres = (torch.stack(torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij"), -1).float()
               * grid - AB_RANGE + grid / 2)[keep]
    p = p[keep] / p[keep].sum()
    w = 1.0 / ((1 - rebalance) * p + rebalance / len(p))
    w = w / (p * w).sum()
    return centres.tolist(), w.tolist()


class LabAugment:
    """The same random crop and mirror of the input (L) and the target (ab)."""

    def __init__(self, crop: int):
        self.crop = crop

    def __call__(self, x, y):
        both = random_symmetry(random_crops(torch.cat([x, y], 1), self.crop), rotate=False)
        return both[:, :1], both[:, 1:]


def colorize_photos(data: str | None = None, seed: int = 0, crop: int = 64, max_side: int = 256, tile: int = 96,
                    grid: float = 10.0, rebalance: float = 0.5, more: bool = True) -> DataBundle:
    """`more=False`: only the photos of photos.PHOTOS in their usual split (14 to train on, 5 colour test
    photos), as the recipe was before the Debian wallpapers were added to it."""
    check_crop("colorization", crop, 8)
    if more:
        splits = prepared(data, seed, 3, max_side, crop, colour_only=True, more=True, extra=EXTRA_PHOTOS,
                          split=colorize_split)
    else:
        splits = prepared(data, seed, 3, max_side, crop, colour_only=True)
    labs = {s: [(n, rgb_to_lab(im)) for n, im in p] for s, p in splits.items()}
    centres, weights = ab_bins([lab for _, lab in labs["train"]], grid, rebalance)

    def make(tile_lab, key, i):
        return l_input(tile_lab[:1]), tile_lab[1:]

    held = {}
    for s in ("valid", "test"):
        held[s] = HeldOut(labs[s], tile, make)
        held[s].rgb = dict(splits[s])  # the original colours, which evaluation scores against
    held["valid"].calibration = held["valid"]  # where the task chooses its decoding (temperature, confidence)
    held["test"].calibration = held["valid"]
    mean_ab = torch.cat([lab[1:].reshape(2, -1) for _, lab in labs["train"]], 1).mean(1).tolist()
    window = crop + crop // 2
    train = Windows([lab for _, lab in labs["train"]], window, window // 2, lambda w: make(w, "", 0))
    return DataBundle(train=train, valid=held["valid"], test=held["test"], augment=LabAugment(crop),
                      model_args={"num_bins": len(centres)},
                      info=bundle_info(splits, ab_bins=centres, bin_weights=weights, mean_ab=mean_ab,
                                        kind="colorize"))
