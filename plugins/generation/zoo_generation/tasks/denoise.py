"""Gaussian denoising, one network for every level: told the level by a noise-level map (the default), or blind."""
from __future__ import annotations

import numpy as np
import torch

from zoo import ZooError

from ..data.denoise import noisy_photo, with_level
from ..images import tiled, to_tensor
from .image import OVERLAP, TILE, ImageTask, held_photos, psnr

REFERENCE, FLOOR = 25 / 255, 5 / 255  # the loss weight is (REFERENCE / sigma)^2, sigma at least FLOOR


def estimate_level(array: np.ndarray) -> float:
    """The Gaussian noise level of an H x W x C image in [0, 1], on 0-255: scikit-image's wavelet estimate (the
    median absolute deviation of the finest diagonal wavelet coefficients, Donoho and Johnstone 1994)."""
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(array, channel_axis=-1, average_sigmas=True)) * 255.0


class DenoiseTask(ImageTask):
    """Gaussian denoising; whole-photo PSNR per level (data.sigmas) is the figure.

    Targets carry the level as their last channel: each sample's squared error is weighed by (25 / sigma)^2
    (sigma at least 5), so that every level counts alike in the loss (the error left at sigma 15 is a tenth of
    that at 50; unweighted, the low levels would hardly be learnt). With a noise-level map the network is told
    the level: the held-out photos' own, and at `zoo predict` the `--sigma` given or scikit-image's estimate.
    """

    name = "denoise"
    monitor = "photo_psnr"
    suffix = "denoised"
    predict_options = ("sigma",)

    def __init__(self, config, info):
        super().__init__(config, info)
        self._level: float | None = None  # sigma (0-255) the network is told now
        self._used: list[float | None] = []  # the levels of the images of the batch being predicted

    @property
    def directions(self):
        return {"photo_psnr": "max", **{f"psnr_sigma{s:g}": "max" for s in self.info.get("sigmas", [])}}

    @property
    def noise_map(self) -> bool:
        return bool(self.info.get("noise_map", False))

    def loss(self, output, target):
        c = output.shape[1]
        clean, sigma = target[:, :c].float(), target[:, c:].float().mean((1, 2, 3))
        weight = (REFERENCE / sigma.clamp(min=FLOOR)) ** 2
        return (weight * (output.float() - clean).pow(2).mean((1, 2, 3))).mean()

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(output.float().clamp(0, 1), target[:, :output.shape[1]].float())

    def net(self, model, device):
        if not self.noise_map:
            return super().net(model, device)
        level = self._level
        return lambda t: model(with_level(t, level).to(device)).float().cpu()

    def evaluate_model(self, model, dataset, split, budget, device):
        photos = held_photos(self, dataset)
        if not photos:
            return {}
        scores: dict[str, list[float]] = {}
        for name, clean in photos:
            for sigma in self.info["sigmas"]:
                self._level = sigma
                noisy = noisy_photo(name, clean, sigma)
                out = tiled(self.net(model, device), noisy[None], TILE, OVERLAP)[0]
                scores.setdefault(f"psnr_sigma{sigma:g}", []).append(psnr(out, clean))
        result = {k: float(np.mean(v)) for k, v in scores.items()}
        result["photo_psnr"] = float(np.mean(list(result.values())))
        return result

    def denoise(self, model, noisy: torch.Tensor, sigma: float | None, device) -> torch.Tensor:
        """One noisy C x H x W image in [0, 1] -> denoised, told `sigma` (0-255) when the network takes a level."""
        self._level = sigma
        return self.per_channel(model, noisy, device)

    # -- zoo predict ------------------------------------------------------------------------------------
    def forward(self, model, x):
        self._used = []
        return super().forward(model, x)

    def run_image(self, model, array, device):
        sigma = self.options.get("sigma")
        if sigma is not None and not 0 < sigma <= 255:
            raise ZooError(f"--sigma {sigma:g}: the noise level is on 0-255 and above 0")
        if sigma is not None and not self.noise_map:
            raise ZooError("--sigma: this run's network is blind to the noise level (trained with "
                           "data.noise_map=false); leave --sigma out")
        if self.noise_map and sigma is None:
            sigma = estimate_level(array)
        self._used.append(sigma)
        return self.denoise(model, to_tensor(array), sigma, device)

    def predict(self, output):
        rows = super().predict(output)
        for row, sigma in zip(rows, self._used):
            if sigma is not None:
                row["sigma"] = round(float(sigma), 2)
        return rows
