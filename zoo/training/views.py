"""Test-time views: a transform of a batch of inputs and, for outputs laid out like the inputs, its inverse.

A view is averaged by the task: labels do not move when an image is flipped, but a denoised image, a mask or
a contact map does, and is flipped back (`View.undo`) before the views are averaged. The built-in views act on
image batches (N x C x H x W); a task adds its own (e.g. a DNA sequence's reverse complement) in `Task.views`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ZooError

Transform = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class View:
    """One test-time view: `apply` to the inputs, `undo` on outputs that follow the inputs' layout."""

    name: str
    apply: Transform
    undo: Transform
    dims: int = 4  # the inputs it accepts: a tensor of this many dimensions (0: any)

    def check(self, x: object) -> None:
        if not isinstance(x, torch.Tensor) or (self.dims and x.dim() != self.dims):
            got = f"a {x.dim()}-D tensor" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ZooError(f"tta: view {self.name!r} needs {self.dims}-D input batches, got {got}")


def shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Move the content by (dy, dx) pixels, repeating the edge."""
    padded = F.pad(x, (abs(dx), abs(dx), abs(dy), abs(dy)), mode="replicate")
    h, w = x.shape[-2:]
    return padded[..., abs(dy) - dy: abs(dy) - dy + h, abs(dx) - dx: abs(dx) - dx + w]


def _flip(dim: int) -> Transform:
    return lambda x: x.flip(dim)


def _shifted(dy: int, dx: int) -> tuple[Transform, Transform]:
    return (lambda x: shift(x, dy, dx)), (lambda x: shift(x, -dy, -dx))


def image_views() -> dict[str, list[View]]:
    """The built-in views by the name a recipe's `tta` setting uses; one name may stand for several views."""
    shifts = [View(f"shift{dy:+d},{dx:+d}", *_shifted(dy, dx)) for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    return {
        "hflip": [View("hflip", _flip(-1), _flip(-1))],
        "vflip": [View("vflip", _flip(-2), _flip(-2))],
        "shift": shifts,
    }


def parse(spec: str, known: dict[str, list[View]]) -> list[View]:
    """'hflip,shift' -> the views it names; an unknown name is an error that lists the known ones."""
    views: list[View] = []
    for name in (s.strip() for s in spec.split(",") if s.strip()):
        if name not in known:
            raise ZooError(f"--set tta: unknown view {name!r}; this recipe's views are {', '.join(known) or 'none'}")
        views.extend(known[name])
    return views


def forward(task, model, x, chosen: list[View]):
    """The task's forward pass on one batch, merged over test-time views: the one place views are averaged
    (training's evaluation, `zoo eval --tta` and every prediction go through it)."""
    out = task.forward(model, x)
    if not chosen:
        return out
    outputs = [out]
    for view in chosen:
        view.check(x)
        outputs.append(task.undo_view(view, task.forward(model, view.apply(x))))
    return task.merge_views(outputs)
