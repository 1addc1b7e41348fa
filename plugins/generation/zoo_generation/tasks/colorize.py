"""Colorization as classification over quantized ab colours (Zhang, Isola and Efros 2016).

How the per-pixel distribution becomes one colour is a trade-off: with the class rebalancing divided back out
(`prior` 1), its mean (temperature 1) is the squared-error-optimal guess and drab; a lower annealed-mean temperature,
and the rebalanced distribution (`prior` 0), are more colourful and riskier; scaling the chroma by the network's
confidence (1 - normalized entropy, to a power) keeps colour where it is sure and fades to grey where it is not.
All three are chosen on the validation photos with the weights that are scored (`choose`): the
most colourful decoding whose RGB PSNR is at least the grey image's there (plus `task.psnr_margin`), else the
best PSNR. The choice is stored in the run (colorize.json, and config.json's info for `zoo predict`/`zoo eval`);
`task.temperature` overrides it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..data.colorize import l_input, lab_to_rgb, rgb_to_lab
from ..images import tiled, to_channels, to_tensor
from ..plugin import ColorizeSettings
from .image import OVERLAP, TILE, ImageTask, colourfulness, held_photos, psnr, write_grid


class ColorizeTask(ImageTask):
    """L -> a distribution over quantized ab colours per pixel (Zhang, Isola and Efros 2016): a soft-encoded,
    class-rebalanced cross-entropy, decoded by the annealed mean. A regression loss would average the
    plausible colours of a region to grey; this keeps them."""

    name = "colorize"
    monitor = "loss"
    directions = {"rgb_psnr": "max", "colourfulness": "max"}
    suffix = "colorized"
    neighbours, spread = 5, 5.0
    # the decodings `choose` tries: annealed-mean temperature x how much of the class rebalancing is undone (prior)
    # x the exponent of the confidence that scales chroma
    TEMPERATURES = (0.2, 0.38, 0.6, 1.0)
    PRIORS = (0.0, 0.5, 1.0)
    CONFIDENCES = (0.0, 0.5)
    OLD = (0.38, 0.0, 0.0)  # the recipe's decoding before the choice (Zhang et al.'s temperature)
    KEYS = ("temperature", "prior", "confidence")
    FILE = "colorize.json"
    run_files = (FILE,)
    Settings = ColorizeSettings

    def __init__(self, config, info):
        super().__init__(config, info)
        self.centres = torch.tensor(info["ab_bins"], dtype=torch.float32)  # Q x 2
        self.weights = torch.tensor(info["bin_weights"], dtype=torch.float32)
        self.chosen: dict | None = None  # the last choice made on the validation photos

    def decoding(self) -> tuple[float, float, float] | None:
        """The (temperature, prior, confidence exponent) to colour with: the settings', else the run's stored
        choice, else None (to be chosen on the validation photos)."""
        if self.settings.temperature > 0:
            return float(self.settings.temperature), float(self.settings.prior), float(self.settings.confidence)
        stored = self.info.get("decoding")
        if stored:
            return tuple(float(stored[k]) for k in self.KEYS)
        return None

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

    def decode(self, logits: torch.Tensor, temperature: float = 0.38, prior: float = 0.0,
               confidence: float = 0.0) -> torch.Tensor:
        """N x Q x H x W logits -> N x 2 x H x W ab. The loss weighs bin q by w_q, so the network learns about
        w_q x p(q | L); `prior` in [0, 1] divides w^prior back out (1: its estimate of p(q | L) itself, whose
        mean is the squared-error-optimal colour). Then the annealed mean at `temperature`, its chroma scaled by
        the confidence (1 - entropy / log Q) to the power `confidence` (0: unscaled)."""
        return self.decode_many(logits, [(temperature, prior, confidence)])

    def decode_many(self, logits: torch.Tensor, decodings) -> torch.Tensor:
        """The ab of several decodings (temperature, prior, confidence) at once: N x 2K x H x W."""
        logits, centres = logits.float(), self.centres.to(logits.device)
        log_w = self.weights.to(logits.device).log()[None, :, None, None]
        out = []
        for t, b, c in decodings:
            z = logits - b * log_w if b else logits
            ab = torch.einsum("nqhw,qc->nchw", torch.softmax(z / t, 1), centres)
            if c:
                logp = torch.log_softmax(z, 1)
                sure = (1 - (-(logp.exp() * logp).sum(1, keepdim=True)) / float(np.log(z.shape[1]))).clamp(0, 1)
                ab = ab * sure ** c
            out.append(ab)
        return torch.cat(out, 1)

    def colorize(self, model, L: torch.Tensor, device, decodings=None) -> torch.Tensor | list[torch.Tensor]:
        """1 x H x W L channel -> 3 x H x W RGB with the run's decoding; with `decodings`, one RGB per decoding."""
        many = decodings is not None
        decodings = decodings if many else [self.decoding() or self.OLD]
        fn = lambda t: self.decode_many(model(l_input(t).to(device)), decodings).cpu()  # noqa: E731
        ab = tiled(fn, L[None], TILE, OVERLAP)[0]
        rgbs = [lab_to_rgb(torch.cat([L, ab[2 * k:2 * k + 2]])) for k in range(len(decodings))]
        return rgbs if many else rgbs[0]

    def choose(self, model, dataset, device) -> dict:
        """The decoding to colour with, chosen on `dataset`'s whole photos (the validation photos): every
        temperature x prior x confidence of the grid scored by mean RGB PSNR and colourfulness; the most colourful
        whose PSNR is at least the grey image's + psnr_margin, else the one of best PSNR."""
        photos, rgb = held_photos(self, dataset), dataset.rgb
        grid = [(t, b, c) for t in self.TEMPERATURES for b in self.PRIORS for c in self.CONFIDENCES]
        p, col, grey = np.zeros(len(grid)), np.zeros(len(grid)), []
        for name, lab in photos:
            grey.append(psnr(lab_to_rgb(torch.cat([lab[:1], torch.zeros_like(lab[1:])])), rgb[name]))
            for k, out in enumerate(self.colorize(model, lab[:1], device, grid)):
                p[k] += psnr(out, rgb[name]) / len(photos)
                col[k] += colourfulness(out) / len(photos)
        return choose_decoding(grid, p, col, float(np.mean(grey)), self.settings.psnr_margin)

    def evaluate_model(self, model, dataset, split, budget, device):
        photos, rgb = held_photos(self, dataset), getattr(dataset, "rgb", None)
        if not photos or rgb is None:
            return {}
        calibration = getattr(dataset, "calibration", None)
        decoding = self.decoding()
        if decoding is None and calibration is not None:
            self.chosen = self.choose(model, calibration, device)
            if calibration is dataset:  # the validation photos themselves: their figures are the choice's
                return {"rgb_psnr": self.chosen["valid_psnr"], "colourfulness": self.chosen["valid_colourfulness"]}
            decoding = tuple(self.chosen[k] for k in self.KEYS)
        p, c = [], []
        for name, lab in photos:
            out = self.colorize(model, lab[:1], device, [decoding or self.OLD])[0]
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
        with torch.no_grad():
            if self.decoding() is None and trainer.data.valid is not None:
                self.chosen = self.choose(model, trainer.data.valid, trainer.device)
                record_decoding(Path(run_dir), self.chosen)
                self.info["decoding"] = self.chosen
        rows = []
        with torch.no_grad():
            for name, lab in test.photos:
                grey = lab_to_rgb(torch.cat([lab[:1], torch.zeros_like(lab[1:])]))
                rows.append(torch.cat([grey, self.colorize(model, lab[:1], trainer.device), test.rgb[name]], -1))
        write_grid(rows, Path(run_dir) / "results.png")


def choose_decoding(grid, psnrs, colours, grey_psnr: float, margin: float = 0.0) -> dict:
    """The rule of `ColorizeTask.choose` on scores already measured for each (temperature, prior, confidence) of
    `grid`: the most colourful decoding whose PSNR is at least grey_psnr + margin, else the one of best PSNR;
    with the whole table, for the run's record."""
    ok = [k for k in range(len(grid)) if psnrs[k] >= grey_psnr + margin]
    best = max(ok, key=lambda k: colours[k]) if ok else int(np.argmax(psnrs))
    keys = ColorizeTask.KEYS
    return {**dict(zip(keys, grid[best])), "rule": "the most colourful with PSNR >= grey's" if ok else
            "none reached the grey image's PSNR: the best PSNR", "grey_psnr": round(grey_psnr, 4),
            "psnr_margin": margin, "valid_psnr": round(float(psnrs[best]), 4),
            "valid_colourfulness": round(float(colours[best]), 4),
            "table": [{**dict(zip(keys, d)), "psnr": round(float(pv), 4), "colourfulness": round(float(cv), 3)}
                      for d, pv, cv in zip(grid, psnrs, colours)]}


def record_decoding(run_dir: Path, chosen: dict) -> None:
    """The choice into the run: colorize.json (with its table), and config.json's info (what predict reads)."""
    (run_dir / ColorizeTask.FILE).write_text(json.dumps(chosen, indent=2) + "\n")
    path = run_dir / "config.json"
    if path.is_file():
        config = json.loads(path.read_text())
        config["info"]["decoding"] = {k: chosen[k] for k in ColorizeTask.KEYS}
        path.write_text(json.dumps(config, indent=2, default=str) + "\n")
