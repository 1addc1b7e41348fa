"""x2, x3, x4 or x8 super-resolution; on colour photos a grey network upscales the luma, colour is bicubic."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from zoo import ZooError

from ..data.super_resolution import crop_to_multiple, downscale
from ..images import tiled, to_tensor
from .image import OVERLAP, TILE, ImageTask, held_photos, psnr, ssim


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """3 x H x W RGB in [0, 1] -> YCbCr (BT.601, full range, in [0, 1])."""
    r, g, b = x.unbind(0)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return torch.stack([y, (b - y) * 0.564 + 0.5, (r - y) * 0.713 + 0.5])


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    y, cb, cr = x[0], x[1] - 0.5, x[2] - 0.5
    r, b = y + 1.403 * cr, y + 1.773 * cb
    return torch.stack([r, (y - 0.299 * r - 0.114 * b) / 0.587, b]).clamp(0, 1)


class SuperResolutionTask(ImageTask):
    """x2/x4 upscaling; whole-photo PSNR and SSIM with `scale` border pixels shaved, as SR papers measure."""

    name = "super-resolution"
    monitor = "photo_psnr"
    directions = {"photo_psnr": "max", "photo_ssim": "max"}
    suffix = "upscaled"
    follows_input = False  # the output is larger than the input: flips could be undone, shifts could not

    @property
    def scale(self):
        return int(self.info.get("scale", 2))

    def evaluate_model(self, model, dataset, split, budget, device):
        photos = held_photos(self, dataset)
        if not photos:
            return {}
        p, s = [], []
        for name, img in photos:
            hr = crop_to_multiple(img, self.scale)
            lr = downscale(hr[None], self.scale)
            out = tiled(self.net(model, device), lr, TILE // self.scale, OVERLAP // self.scale, self.scale)[0]
            p.append(psnr(out, hr, self.scale))
            s.append(ssim(out, hr, self.scale))
        return {"photo_psnr": float(np.mean(p)), "photo_ssim": float(np.mean(s))}

    def check_image(self, array) -> None:
        h, w = array.shape[:2]
        if min(h, w) < self.scale:
            raise ZooError(f"{w}x{h} pixels is smaller than the scale factor {self.scale}")

    def run_image(self, model, array, device):
        x = to_tensor(array)
        channels = int(self.info.get("channels", 1))
        if channels == 1 and x.shape[0] == 3:  # the network upscales luma; colour is upscaled bicubic
            ycc = rgb_to_ycbcr(x)
            y = tiled(self.net(model, device), ycc[None, :1], TILE // self.scale, OVERLAP // self.scale, self.scale)[0]
            chroma = F.interpolate(ycc[None, 1:], scale_factor=self.scale, mode="bicubic", align_corners=False)[0]
            return ycbcr_to_rgb(torch.cat([y, chroma]))
        return self.per_channel(model, x, device, self.scale)
