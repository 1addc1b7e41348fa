"""Operations on whole batches of images: mixup, CutMix and progressive resizing (test-time views: views.py)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import ZooError


def mix(x: torch.Tensor, soft: torch.Tensor, mixup: float, cutmix: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup or CutMix (half the batches each when both are on) with soft targets mixed to match.

    The mixing weight uses the area actually pasted for CutMix, as in the CutMix paper.
    """
    use_cutmix = cutmix > 0 and x.dim() == 4 and (mixup <= 0 or torch.rand(()) < 0.5)
    alpha = cutmix if use_cutmix else mixup
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    perm = torch.randperm(x.shape[0]).to(x.device)
    if use_cutmix:
        h, w = x.shape[-2:]
        cut = (1 - lam) ** 0.5
        ch, cw = int(h * cut), int(w * cut)
        cy, cx = int(torch.randint(h, ())), int(torch.randint(w, ()))
        y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
        x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
        x = x.clone()
        x[..., y0:y1, x0:x1] = x[perm][..., y0:y1, x0:x1]
        lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)
    else:
        x = lam * x + (1 - lam) * x[perm]
    return x, lam * soft + (1 - lam) * soft[perm]


def parse_scales(text: str) -> list[float]:
    try:
        scales = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ZooError(f"--set progressive_resize: expected scales like '0.5,0.75', got {text!r}") from None
    if any(not 0 < s <= 1 for s in scales):
        raise ZooError(f"--set progressive_resize: scales must lie in (0, 1], got {text!r}")
    return scales


def resize_for_epoch(x: torch.Tensor, epoch: int, epochs: int, scales: list[float]) -> torch.Tensor:
    """Progressive resizing: the epochs are cut into len(scales)+1 phases, the last at full size."""
    if not scales or x.dim() != 4 or not x.is_floating_point():
        return x
    phase = epoch * (len(scales) + 1) // max(epochs, 1)
    if phase >= len(scales):
        return x
    size = [max(4, int(round(d * scales[phase]))) for d in x.shape[-2:]]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
