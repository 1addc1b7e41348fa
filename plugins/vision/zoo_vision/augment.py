"""Training augmentations by name, applied by the trainer to whole batches (N x C x H x W, normalized).

torchvision's v2 transforms draw one set of parameters per call, so on a batch every image would get
the same crop. Crop, flip and erase are therefore written as batch operations that draw each image's
parameters on their own: a few tensor operations per batch instead of one transform call per image
(on the device the batch lives on). The affine warp stays torchvision's, called image by image.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from zoo import ZooError

BatchTransform = Callable[[torch.Tensor], torch.Tensor]


def random_crop(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Each image shifted by up to `pad` pixels each way, edges repeated (v2.RandomCrop with padding_mode='edge')."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    dy, dx = torch.randint(0, 2 * pad + 1, (2, n)).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    images = torch.arange(n, device=x.device)[:, None, None, None]
    return padded[images, torch.arange(c, device=x.device)[None, :, None, None], rows, cols]


def random_flip(x: torch.Tensor) -> torch.Tensor:
    """Half the images mirrored left-right."""
    flip = (torch.rand(x.shape[0]) < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(-1), x)


def random_erase(x: torch.Tensor, p: float = 0.25, scale: tuple[float, float] = (0.02, 0.15),
                 ratio: tuple[float, float] = (0.3, 3.3), value: float = 0.0) -> torch.Tensor:
    """With probability p, a rectangle of `scale` of the image's area and aspect `ratio` set to `value`
    (v2.RandomErasing, drawn per image)."""
    n, _, h, w = x.shape
    area = torch.empty(n).uniform_(*scale) * h * w
    aspect = torch.empty(n).uniform_(math.log(ratio[0]), math.log(ratio[1])).exp()
    eh = (area * aspect).sqrt().round().clamp(1, h)
    ew = (area / aspect).sqrt().round().clamp(1, w)
    top = (torch.rand(n) * (h - eh + 1)).floor()
    left = (torch.rand(n) * (w - ew + 1)).floor()
    on = (torch.rand(n) < p).view(-1, 1, 1)
    ys, xs = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
    box = (on & (ys >= top.view(-1, 1, 1)) & (ys < (top + eh).view(-1, 1, 1))
           & (xs >= left.view(-1, 1, 1)) & (xs < (left + ew).view(-1, 1, 1)))
    return x.masked_fill(box.unsqueeze(1).to(x.device), value)


def each_image(transform) -> BatchTransform:
    """A per-image transform applied to every image of a batch."""
    return lambda x: torch.stack([transform(image) for image in x])


def build(spec: str, image_size: int) -> BatchTransform | None:
    """'crop,flip,erase' -> one function (x, y) -> (x, y) that augments a batch; '' or 'none' -> None."""
    pad = max(1, image_size // 8)
    known = {
        "crop": partial(random_crop, pad=pad),
        "flip": random_flip,
        "affine": each_image(v2.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5)),
        "erase": random_erase,
    }
    names = [s.strip() for s in spec.split(",") if s.strip() and s.strip() != "none"]
    for name in names:
        if name not in known:
            raise ZooError(f"--set data.augment: unknown augmentation {name!r}; known: {', '.join(known)}")
    if not names:
        return None
    steps = [known[n] for n in names]

    def augment(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for step in steps:  # a label does not move with the image
            x = step(x)
        return x, y

    return augment
