"""Colorization as classification over quantized ab colours (Zhang, Isola and Efros 2016)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data.colorize import l_input, lab_to_rgb, rgb_to_lab
from ..images import tiled, to_channels, to_tensor
from .image import OVERLAP, TILE, ImageTask, colourfulness, held_photos, psnr, write_grid


class ColorizeTask(ImageTask):
    """L -> a distribution over quantized ab colours per pixel (Zhang, Isola and Efros 2016): a soft-encoded,
    class-rebalanced cross-entropy, decoded by the annealed mean. A regression loss would average the
    plausible colours of a region to grey; this keeps them."""

    name = "colorize"
    monitor = "loss"
    directions = {"rgb_psnr": "max", "colourfulness": "max"}
    suffix = "colorized"
    neighbours, spread, temperature = 5, 5.0, 0.38

    def __init__(self, config, info):
        super().__init__(config, info)
        self.centres = torch.tensor(info["ab_bins"], dtype=torch.float32)  # Q x 2
        self.weights = torch.tensor(info["bin_weights"], dtype=torch.float32)

    def metrics(self):
        return None

    def loss(self, logits, ab):
        q = logits.shape[1]
        pixels = ab.permute(0, 2, 3, 1).reshape(-1, 2).float()
        centres, weights = self.centres.to(pixels.device), self.weights.to(pixels.device)
        dist, idx = torch.cdist(pixels, centres).topk(self.neighbours, largest=False)
        soft = torch.softmax(-dist ** 2 / (2 * self.spread ** 2), 1)
        logp = torch.log_softmax(logits.float().permute(0, 2, 3, 1).reshape(-1, q), 1)
        per_pixel = -(soft * logp.gather(1, idx)).sum(1)
        return (weights[idx[:, 0]] * per_pixel).mean()

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        """N x Q x H x W logits -> N x 2 x H x W ab by the annealed mean (temperature 0.38)."""
        probs = torch.softmax(logits.float() / self.temperature, 1)
        return torch.einsum("nqhw,qc->nchw", probs, self.centres.to(probs.device))

    def colorize(self, model, L: torch.Tensor, device) -> torch.Tensor:
        """1 x H x W L channel -> 3 x H x W RGB."""
        fn = lambda t: self.decode(model(l_input(t).to(device))).cpu()  # noqa: E731
        ab = tiled(fn, L[None], TILE, OVERLAP)[0]
        return lab_to_rgb(torch.cat([L, ab]))

    def evaluate_model(self, model, dataset, split, budget, device):
        photos, rgb = held_photos(self, dataset), getattr(dataset, "rgb", None)
        if not photos or rgb is None:
            return {}
        p, c = [], []
        for name, lab in photos:
            out = self.colorize(model, lab[:1], device)
            p.append(psnr(out, rgb[name]))
            c.append(colourfulness(out))
        return {"rgb_psnr": float(np.mean(p)), "colourfulness": float(np.mean(c))}

    def run_image(self, model, array, device):  # a grey image is what it takes; colour is made grey first
        L = rgb_to_lab(to_tensor(to_channels(array, 3)))[:1]
        return self.colorize(model, L, device)

    def report(self, trainer, run_dir) -> None:
        """results.png: each test photo as the network sees it (grey), coloured by it, and its true colours."""
        test = trainer.data.test
        if test is None or not getattr(test, "photos", None):
            return
        model = trainer.eval_model().eval()
        rows = []
        with torch.no_grad():
            for name, lab in test.photos:
                grey = lab_to_rgb(torch.cat([lab[:1], torch.zeros_like(lab[1:])]))
                rows.append(torch.cat([grey, self.colorize(model, lab[:1], trainer.device), test.rgb[name]], -1))
        write_grid(rows, Path(run_dir) / "results.png")
