"""The LR range test (Smith, 2015): raise the learning rate exponentially and watch the loss."""
from __future__ import annotations

import math


def sweep(trainer, steps: int = 100, start: float = 1e-7, end: float = 10.0) -> tuple[list[float], list[float]]:
    """Train `steps` batches with an exponentially rising lr; stop once the loss diverges."""
    import torch

    from ..data import to_device
    from .device import autocast

    lrs, losses, smooth, best = [], [], 0.0, math.inf
    factor = (end / start) ** (1 / max(steps - 1, 1))
    trainer.net.train()
    batches = iter(())
    for i in range(steps):
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(trainer.loader)
            x, y = next(batches)
        lr = start * factor ** i
        for group in trainer.optimizer.param_groups:
            group["lr"] = lr
        x, y = to_device(x, trainer.device), to_device(y, trainer.device)
        with autocast(trainer.device, trainer.precision):
            loss = trainer.task.loss(trainer.task.forward(trainer.net, x), y)
        value = loss.item()
        if not math.isfinite(value):
            break
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainer.model.parameters(), trainer.config.grad_clip or float("inf"))
        trainer.optimizer.step()
        smooth = 0.9 * smooth + 0.1 * value
        corrected = smooth / (1 - 0.9 ** (i + 1))  # bias-corrected moving average
        lrs.append(lr)
        losses.append(corrected)
        best = min(best, corrected)
        if i > 10 and corrected > 4 * best:
            break
    return lrs, losses


def suggest(lrs: list[float], losses: list[float]) -> float:
    """A tenth of the lr at the lowest smoothed loss: the classic, robust rule of thumb."""
    if not lrs:
        return 1e-3
    return lrs[min(range(len(losses)), key=losses.__getitem__)] / 10
