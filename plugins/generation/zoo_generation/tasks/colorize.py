"""Colorization as classification over quantized ab colours (Zhang, Isola and Efros 2016).

How the per-pixel distribution becomes one colour is a trade-off: its mean (temperature 1) is the
squared-error-optimal guess and drab; a lower annealed-mean temperature is more colourful and riskier; scaling the
chroma by the network's confidence (1 - normalized entropy, to a power) keeps colour where it is sure and fades to
grey where it is not. Both are chosen on the validation photos with the weights that are scored (`choose`): the
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
    # the decodings `choose` tries: annealed-mean temperatures x exponents of the confidence that scales chroma
    TEMPERATURES = (0.2, 0.3, 0.38, 0.5, 0.65, 0.8, 1.0)
    CONFIDENCES = (0.0, 0.5, 1.0, 2.0)
    FILE = "colorize.json"
    run_files = (FILE,)
    Settings = ColorizeSettings

    def __init__(self, config, info):
        super().__init__(config, info)
        self.centres = torch.tensor(info["ab_bins"], dtype=torch.float32)  # Q x 2
        self.weights = torch.tensor(info["bin_weights"], dtype=torch.float32)
        self.chosen: dict | None = None  # the last choice made on the validation photos

    def decoding(self) -> tuple[float, float] | None:
        """The (temperature, confidence exponent) to colour with: the setting's, else the run's stored choice,
        else None (chosen on the validation photos)."""
        if self.settings.temperature > 0:
            return float(self.settings.temperature), float(self.settings.confidence)
        stored = self.info.get("decoding")
        if stored:
            return float(stored["temperature"]), float(stored["confidence"])
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

    def decode(self, logits: torch.Tensor, temperature: float = 0.38, confidence: float = 0.0) -> torch.Tensor:
        """N x Q x H x W logits -> N x 2 x H x W ab: the annealed mean at `temperature`, its chroma scaled by
        the confidence (1 - entropy / log Q of the distribution itself) to the power `confidence` (0: unscaled)."""
        return self.decode_many(logits, [(temperature, confidence)])

    def decode_many(self, logits: torch.Tensor, pairs) -> torch.Tensor:
        """The ab of several decodings (temperature, confidence exponent) at once: N x 2K x H x W."""
        logits, centres = logits.float(), self.centres.to(logits.device)
        sure = None
        if any(c for _, c in pairs):
            logp = torch.log_softmax(logits, 1)
            entropy = -(logp.exp() * logp).sum(1, keepdim=True)
            sure = (1 - entropy / float(np.log(logits.shape[1]))).clamp(0, 1)
        out = []
        for t, c in pairs:
            ab = torch.einsum("nqhw,qc->nchw", torch.softmax(logits / t, 1), centres)
            out.append(ab * sure ** c if c else ab)
        return torch.cat(out, 1)

    def colorize(self, model, L: torch.Tensor, device, pairs=None) -> torch.Tensor | list[torch.Tensor]:
        """1 x H x W L channel -> 3 x H x W RGB with the run's decoding; with `pairs`, one RGB per decoding."""
        many = pairs is not None
        pairs = pairs if many else [self.decoding() or (0.38, 0.0)]
        fn = lambda t: self.decode_many(model(l_input(t).to(device)), pairs).cpu()  # noqa: E731
        ab = tiled(fn, L[None], TILE, OVERLAP)[0]
        rgbs = [lab_to_rgb(torch.cat([L, ab[2 * k:2 * k + 2]])) for k in range(len(pairs))]
        return rgbs if many else rgbs[0]

    def choose(self, model, dataset, device) -> dict:
        """The decoding to colour with, chosen on `dataset`'s whole photos (the validation photos): every
        temperature x confidence exponent of the grid scored by mean RGB PSNR and colourfulness; the most colourful
        whose PSNR is at least the grey image's + psnr_margin, else the one of best PSNR."""
        photos, rgb = held_photos(self, dataset), dataset.rgb
        pairs = [(t, c) for t in self.TEMPERATURES for c in self.CONFIDENCES]
        p, col, grey = np.zeros(len(pairs)), np.zeros(len(pairs)), []
        for name, lab in photos:
            grey.append(psnr(lab_to_rgb(torch.cat([lab[:1], torch.zeros_like(lab[1:])])), rgb[name]))
            for k, out in enumerate(self.colorize(model, lab[:1], device, pairs)):
                p[k] += psnr(out, rgb[name]) / len(photos)
                col[k] += colourfulness(out) / len(photos)
        return choose_decoding(pairs, p, col, float(np.mean(grey)), self.settings.psnr_margin)

    def evaluate_model(self, model, dataset, split, budget, device):
        photos, rgb = held_photos(self, dataset), getattr(dataset, "rgb", None)
        if not photos or rgb is None:
            return {}
        calibration = getattr(dataset, "calibration", None)
        pair = self.decoding()
        if pair is None and calibration is not None:
            self.chosen = self.choose(model, calibration, device)
            if calibration is dataset:  # the validation photos themselves: their figures are the choice's
                return {"rgb_psnr": self.chosen["valid_psnr"], "colourfulness": self.chosen["valid_colourfulness"]}
            pair = (self.chosen["temperature"], self.chosen["confidence"])
        pairs = [pair or (0.38, 0.0)]
        p, c = [], []
        for name, lab in photos:
            out = self.colorize(model, lab[:1], device, pairs)[0]
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


def choose_decoding(pairs, psnrs, colours, grey_psnr: float, margin: float = 0.0) -> dict:
    """The rule of `ColorizeTask.choose` on scores already measured: the most colourful decoding whose PSNR is at
    least grey_psnr + margin, else the one of best PSNR; with the whole table, for the run's record."""
    ok = [k for k in range(len(pairs)) if psnrs[k] >= grey_psnr + margin]
    best = max(ok, key=lambda k: colours[k]) if ok else int(np.argmax(psnrs))
    return {"temperature": pairs[best][0], "confidence": pairs[best][1], "rule": "most colourful with PSNR >= grey"
            if ok else "no decoding reached the grey image's PSNR: best PSNR", "grey_psnr": round(grey_psnr, 4),
            "psnr_margin": margin, "valid_psnr": round(float(psnrs[best]), 4),
            "valid_colourfulness": round(float(colours[best]), 4),
            "table": [{"temperature": t, "confidence": c, "psnr": round(float(pv), 4), "colourfulness": round(float(cv), 3)}
                      for (t, c), pv, cv in zip(pairs, psnrs, colours)]}


def record_decoding(run_dir: Path, chosen: dict) -> None:
    """The choice into the run: colorize.json (with its table), and config.json's info (what predict reads)."""
    (run_dir / ColorizeTask.FILE).write_text(json.dumps(chosen, indent=2) + "\n")
    path = run_dir / "config.json"
    if path.is_file():
        config = json.loads(path.read_text())
        config["info"]["decoding"] = {k: chosen[k] for k in ("temperature", "confidence")}
        path.write_text(json.dumps(config, indent=2, default=str) + "\n")
