"""Gaussian denoising, blind to the noise level."""
from __future__ import annotations

import numpy as np

from ..data.denoise import noisy_photo
from ..images import tiled, to_tensor
from .image import OVERLAP, TILE, ImageTask, held_photos, psnr


class DenoiseTask(ImageTask):
    """Gaussian denoising, blind to the level; whole-photo PSNR per level (data.sigmas) is the figure."""

    name = "denoise"
    monitor = "photo_psnr"
    suffix = "denoised"

    @property
    def directions(self):
        return {"photo_psnr": "max", **{f"psnr_sigma{s:g}": "max" for s in self.info.get("sigmas", [])}}

    def evaluate_model(self, model, dataset, split, budget, device):
        photos = held_photos(self, dataset)
        if not photos:
            return {}
        scores: dict[str, list[float]] = {}
        for name, clean in photos:
            for sigma in self.info["sigmas"]:
                noisy = noisy_photo(name, clean, sigma)
                out = tiled(self.net(model, device), noisy[None], TILE, OVERLAP)[0]
                scores.setdefault(f"psnr_sigma{sigma:g}", []).append(psnr(out, clean))
        result = {k: float(np.mean(v)) for k, v in scores.items()}
        result["photo_psnr"] = float(np.mean(list(result.values())))
        return result

    def run_image(self, model, array, device):
        return self.per_channel(model, to_tensor(array), device)
