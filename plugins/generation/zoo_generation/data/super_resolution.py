"""Super-resolution: photos shrunk by an antialiased bicubic filter, to be brought back to full size."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo import ZooError
from zoo.data import DataBundle

from .photos import HeldOut, Windows, bundle_info, check_crop, prepared, random_crops, random_symmetry


def downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The low-resolution image: antialiased bicubic shrinking by `scale` (N x C x H x W, H and W its multiples)."""
    return F.interpolate(hr, scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def crop_to_multiple(img: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = img.shape[-2:]
    return img[..., : h - h % multiple, : w - w % multiple]


class DownscaleAugment:
    def __init__(self, crop: int, scale: int):
        self.crop, self.scale = crop, scale

    def __call__(self, x, y):
        hr = random_symmetry(random_crops(y, self.crop))
        return downscale(hr, self.scale), hr


def sr_photos(data: str | None = None, seed: int = 0, scale: int = 2, crop: int = 64, channels: int = 1,
              max_side: int = 512, tile: int = 96) -> DataBundle:
    if scale not in (2, 3, 4, 8):
        raise ZooError(f"--set data.scale: expected 2, 3, 4 or 8, got {scale}")
    check_crop(f"x{scale} super-resolution", crop, 4 * scale, scale)
    splits = prepared(data, seed, channels, max_side, max(crop, scale))
    tile = tile - tile % scale

    def make(tile_img, key, i):
        hr = crop_to_multiple(tile_img, scale)
        return downscale(hr[None], scale)[0], hr

    held = {s: HeldOut(splits[s], tile, make) for s in ("valid", "test")}
    window = (crop + crop // 2) // scale * scale
    train = Windows([im for _, im in splits["train"]], window, window // 2, lambda w: make(w, "", 0))
    return DataBundle(train=train, valid=held["valid"], test=held["test"], augment=DownscaleAugment(crop, scale),
                      model_args={"channels": channels, "scale": scale},
                      info=bundle_info(splits, channels=channels, scale=scale, kind="super-resolution"))
