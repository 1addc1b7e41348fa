"""Gradient health: per-layer gradient norms and activation statistics, with warnings.

Vanishing gradients show as early layers whose gradients are orders of magnitude below the late
layers'; exploding ones as spikes or non-finite norms. Sampling every N steps keeps it cheap.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

import torch
from torch import nn

VANISH_RATIO = 1e-3  # early/late gradient ratio below which gradients are said to vanish
VANISH_PATIENCE = 5  # consecutive samples before warning
SPIKE = 50.0  # a norm this many times the running median is a spike


def layers_of(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """Weight matrices and kernels in forward order (biases and norms' scales are left out)."""
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad and p.dim() > 1]


class GradientMonitor:
    def __init__(self, model: nn.Module, every: int, out: Path | None, warn: Callable[[str], None]):
        self.model, self.every, self.out, self.warn = model, every, out, warn
        self.layers = layers_of(model)
        self.rows: list[dict] = []
        self.low_streak, self.warned = 0, set()
        self.totals: list[float] = []
        self._hooks: list = []
        self._acts: dict[str, dict[str, float]] = {}

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0

    def watch_activations(self) -> None:
        """Attach forward hooks for the next forward pass only."""
        def hook(name):
            def record(module, inputs, output):
                if isinstance(output, torch.Tensor) and output.is_floating_point():
                    out = output.detach().float()
                    self._acts[name] = {"act_mean": out.mean().item(), "act_std": out.std().item(),
                                        "act_zero": (out.abs() < 1e-6).float().mean().item()}
            return record
        for name, module in self.model.named_modules():
            if not list(module.children()) and any(p.dim() > 1 for p in module.parameters(recurse=False)):
                self._hooks.append(module.register_forward_hook(hook(name)))

    def observe(self, step: int) -> None:
        """Record the gradients of the backward pass that just ran."""
        for h in self._hooks:
            h.remove()
        self._hooks = []
        layers = {}
        for name, p in self.layers:
            if p.grad is None:
                continue
            row = {"grad_norm": p.grad.detach().float().norm().item(), "weight_norm": p.detach().float().norm().item()}
            row.update(self._acts.get(name.rsplit(".", 1)[0], {}))
            layers[name] = row
        self._acts = {}
        if not layers:
            return
        self.rows.append({"step": step, "layers": layers})
        if self.out is not None:
            with open(self.out / "gradients.jsonl", "a") as fh:
                fh.write(json.dumps({"step": step, "layers": layers}) + "\n")
        self._check(step, layers)

    def _check(self, step: int, layers: dict) -> None:
        norms = [v["grad_norm"] for v in layers.values()]
        names = list(layers)
        total = math.sqrt(sum(n * n for n in norms))
        if not math.isfinite(total):
            self._warn_once("nonfinite", f"step {step}: non-finite gradients in "
                            f"{', '.join(n for n, v in layers.items() if not math.isfinite(v['grad_norm']))[:200]}. "
                            "Exploding gradients: turn on gradient clipping (grad_clip), lower lr, add weight decay.")
            return
        history = sorted(self.totals[-20:])
        if len(history) >= 5 and total > SPIKE * history[len(history) // 2]:
            self._warn_once("spike", f"step {step}: gradient norm {total:.3g} is {total / history[len(history) // 2]:.0f}x "
                            "its recent median. Exploding gradients: use grad_clip, a lower lr and weight decay.")
        self.totals.append(total)
        k = max(1, len(norms) // 4)
        early, late = sorted(norms[:k])[k // 2], sorted(norms[-k:])[k // 2]
        self.low_streak = self.low_streak + 1 if late > 0 and early / late < VANISH_RATIO else 0
        if self.low_streak >= VANISH_PATIENCE:
            self._warn_once("vanish", f"step {step}: vanishing gradients: early layers ({', '.join(names[:k][:3])}) get "
                            f"{early / late:.1e} of the gradient of late layers ({', '.join(names[-k:][:3])}) for "
                            f"{self.low_streak} samples. Use ReLU-family activations, normalization and skip connections.")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.warn(message)

    def vanishing_ratio(self) -> float:
        """Median early/late gradient ratio over all samples (for reports and benchmarks)."""
        ratios = []
        for row in self.rows:
            norms = [v["grad_norm"] for v in row["layers"].values()]
            k = max(1, len(norms) // 4)
            late = sorted(norms[-k:])[k // 2]
            if late > 0:
                ratios.append(sorted(norms[:k])[k // 2] / late)
        return sorted(ratios)[len(ratios) // 2] if ratios else float("nan")

    def plot(self, path: Path) -> None:
        if not self.rows:
            return
        from .plots import gradient_heatmap
        gradient_heatmap(self.rows, path)
