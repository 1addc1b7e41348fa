"""Several outputs of one network, each with its own task and loss: a move policy and a value, say."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import PluginError, ZooError
from .base import Direction, Task, get_task


class MultiTask(Task):
    """The model returns {head: output} and the data yields {head: target}; the loss is the weighted sum
    of each head's task loss, the metrics are each head's, named `<head>_<metric>`.

    A subclass names its heads: `heads = {"policy": ("classification", 1.0), "value": ("regression", 0.5)}`.
    Each head's task reads `info["heads"][head]` when present (e.g. its num_classes), else `info` itself.
    """

    name = "multi"
    heads: dict[str, tuple[str, float]] = {}

    def __init__(self, config, info: dict[str, Any]):
        super().__init__(config, info)
        if not self.heads:
            raise PluginError(f"task {type(self).__name__}: a MultiTask names its heads (heads = {{...}})")
        per_head = info.get("heads", {})
        self.tasks = {head: get_task(task)(config, {**info, **per_head.get(head, {})})
                      for head, (task, _) in self.heads.items()}
        self.weights = {head: float(weight) for head, (_, weight) in self.heads.items()}

    @property
    def settings(self):
        return self._settings

    @settings.setter
    def settings(self, value) -> None:  # one set of task settings, read by every head
        self._settings = value
        for task in getattr(self, "tasks", {}).values():
            task.settings = value

    def settings_needed(self):
        return (self.Settings, *(kind for task in self.tasks.values() for kind in task.settings_needed()))

    def loss(self, output: dict[str, Any], target: dict[str, Any]) -> torch.Tensor:
        return sum(self.weights[h] * self.tasks[h].loss(output[h], target[h]) for h in self.tasks)

    def metrics(self):
        found = {h: t.metrics() for h, t in self.tasks.items()}
        return nn.ModuleDict({h: m for h, m in found.items() if m is not None}) or None

    def update_metrics(self, metrics, output, target) -> None:
        for head, member in metrics.items():
            self.tasks[head].update_metrics(member, output[head], target[head])

    def direction(self, metric: str, source: Any = None) -> Direction:
        if metric in self.directions:
            return self.directions[metric]
        for head, task in self.tasks.items():
            if metric.startswith(head + "_"):
                return task.direction(metric[len(head) + 1:], source)
        return super().direction(metric, source)

    def merge_views(self, outputs: list[dict[str, Any]]) -> dict[str, Any]:
        return {h: t.merge_views([o[h] for o in outputs]) for h, t in self.tasks.items()}

    def predict(self, output: dict[str, Any]) -> list[dict[str, Any]]:
        per_head = {h: t.predict(output[h]) for h, t in self.tasks.items()}
        n = len(next(iter(per_head.values())))
        return [{f"{h}_{k}": v for h, rows in per_head.items() for k, v in rows[i].items()} for i in range(n)]

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not isinstance(y, dict) or set(y) != set(self.tasks):
            got = sorted(y) if isinstance(y, dict) else type(y).__name__
            raise ZooError(f"{dataset}: targets must be a dict with the heads {sorted(self.tasks)}, got {got}")
        for head, task in self.tasks.items():
            task.check_batch(x, y[head], dataset)
