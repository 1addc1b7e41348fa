"""What the image-to-image tasks share: an image in, an image out (denoised, upscaled, coloured, stylized), the
figures they report, and prediction through the Predictor's hooks on images of any size (run in tiles).

Image tasks evaluate twice: per batch on tiles of the held-out photos (loss, PSNR), and, in
`evaluate_model`, on each whole held-out photo (run through the network in overlapping tiles), which is what
the figures in the model card and bench/RESULTS.md are.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import MetricCollection
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure
from torchmetrics.image import PeakSignalNoiseRatio

from zoo import ZooError
from zoo.tasks import Task

from ..images import save_png, tiled

TILE, OVERLAP = 256, 32
MIN_SIDE = 8  # pixels: a smaller image is refused by zoo predict


def unwrap(model):
    """The module itself under DistributedDataParallel or torch.compile."""
    for attr in ("module", "_orig_mod"):
        model = getattr(model, attr, model)
    return model


def psnr(output: torch.Tensor, target: torch.Tensor, shave: int = 0) -> float:
    if shave:
        output, target = output[..., shave:-shave, shave:-shave], target[..., shave:-shave, shave:-shave]
    return float(peak_signal_noise_ratio(output.clamp(0, 1).float(), target.float(), data_range=1.0))


def ssim(output: torch.Tensor, target: torch.Tensor, shave: int = 0) -> float:
    if shave:
        output, target = output[..., shave:-shave, shave:-shave], target[..., shave:-shave, shave:-shave]
    return float(structural_similarity_index_measure(output.clamp(0, 1).float()[None], target.float()[None],
                                                     data_range=1.0))


def colourfulness(rgb: torch.Tensor) -> float:
    """Hasler and Suesstrunk's (2003) colourfulness of a 3 x H x W image in [0, 1], on the 0-255 scale:
    about 0 for grey, 15-35 for ordinary photos, above 45 for very colourful ones."""
    r, g, b = (rgb.double() * 255).unbind(0)
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(torch.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * torch.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def held_photos(task: Task, dataset) -> list:
    """The whole held-out photos of a split (the first `eval_limit` of them when that is set, for quick checks)."""
    photos = list(getattr(dataset, "photos", None) or [])
    return photos[: task.config.eval_limit] if task.config.eval_limit else photos


class ImageTask(Task):
    """An image in, an image out (denoised, upscaled, coloured, stylized); written as PNG by `zoo predict`."""

    follows_input = True
    suffix = "out"
    scale = 1

    def loss(self, output, target):
        return F.mse_loss(output.float(), target.float())

    def metrics(self):
        return MetricCollection({"psnr": PeakSignalNoiseRatio(data_range=1.0)})

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(output.float().clamp(0, 1), target.float())

    # -- zoo predict: images of any size, each run in tiles (the Predictor's hooks) --------------------------
    def records(self, item, read) -> list[tuple[str, Any]]:
        """One image (the dataset's reader: H x W x C in [0, 1]), refused in one line when it is too small for
        an answer to mean anything."""
        name = str(item) if isinstance(item, (str, Path)) else type(item).__name__
        array = read(item)
        self.check_image(array)
        return [(name, array)]

    def check_image(self, array: np.ndarray) -> None:
        h, w = array.shape[:2]
        if min(h, w) < MIN_SIDE:
            raise ZooError(f"{w}x{h} pixels: too small for {self.name} to mean anything (at least {MIN_SIDE} "
                           "pixels a side)")

    def collate(self, items: list[np.ndarray]) -> "Images":
        return Images(items)

    def forward(self, model, x):
        """A batch of images of any size (`Images`) is run one image at a time, in tiles; their results, of
        different sizes, come back as one nested tensor (indexed like a batch)."""
        if not isinstance(x, Images):
            return super().forward(model, x)
        device = next(model.parameters()).device
        outputs = [self.run_image(model, array, device) for array in x]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch calls nested tensors a prototype
            return torch.nested.nested_tensor(outputs)

    def predict(self, output):
        return [{"height": int(o.shape[-2]), "width": int(o.shape[-1])} for o in output.unbind()]

    def run_image(self, model, array: np.ndarray, device) -> torch.Tensor:
        """One image (H x W x C array in [0, 1]) -> the result, C' x H' x W' in [0, 1]."""
        raise NotImplementedError

    def net(self, model, device):
        return lambda t: model(t.to(device)).float().cpu()

    def write_output(self, output, prediction, stem: Path) -> list[Path]:
        return [save_png(output, stem.with_name(f"{stem.name}.{self.suffix}.png"))]

    def per_channel(self, model, x: torch.Tensor, device, scale: int = 1) -> torch.Tensor:
        """Run a network of `self.channels` channels on an image of 1 or 3 (each channel alone, for a grey net)."""
        channels = int(self.info.get("channels", 3))
        if channels == 1:
            planes = x.unsqueeze(1)  # C x 1 x H x W: each channel an image
        else:
            planes = (x if x.shape[0] == 3 else x.repeat(3, 1, 1))[None]
        out = tiled(self.net(model, device), planes, TILE, OVERLAP, scale)
        return out[:, 0] if channels == 1 else out[0]


class Images(list):
    """The images of one prediction batch (H x W x C arrays of any size): they cannot be stacked, so
    `ImageTask.forward` runs each alone, in tiles."""


def write_grid(rows: list[torch.Tensor], path: Path, height: int = 160) -> Path:
    """Images (3 x H x W, any widths) scaled to one height and stacked as rows."""
    scaled = [F.interpolate(r[None], size=(height, max(1, round(r.shape[-1] * height / r.shape[-2]))), mode="bilinear",
                            antialias=True, align_corners=False)[0] for r in rows]
    width = max(r.shape[-1] for r in scaled)
    canvas = torch.ones(3, height * len(scaled), width)
    for i, r in enumerate(scaled):
        canvas[:, i * height:(i + 1) * height, : r.shape[-1]] = r
    return save_png(canvas, path)
