"""The policy-value task every board game trains with: a policy head and a value head on one network (zoo's
MultiTask); the policy is trained by cross-entropy against a visit distribution (self-play) or a move index (an
engine's best move), the value by squared error."""
from __future__ import annotations

from typing import Any

import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from zoo.tasks.classification import ClassificationTask
from zoo.tasks.multi import MultiTask


class PolicyHead(ClassificationTask):
    """Move logits against a move (integer) or a distribution over moves; scored by the share of positions whose
    most likely move is the target's (move agreement) and whose target is among the top 3."""

    def metrics(self):
        n = self.num_classes
        found = {"accuracy": MulticlassAccuracy(num_classes=n, average="micro")}
        if n > 3:
            found["top3"] = MulticlassAccuracy(num_classes=n, average="micro", top_k=3)
        return MetricCollection(found)

    def update_metrics(self, metrics, output, target) -> None:
        if target.dim() == 2:  # a distribution (self-play): its most visited move is the label
            target = target.argmax(-1)
        metrics.update(self.scores(output), target)

    def check_batch(self, x, y, dataset):
        if isinstance(y, torch.Tensor) and y.dim() == 2 and y.is_floating_point():
            return  # visit distributions
        super().check_batch(x, y, dataset)


def direction_of(metric: str) -> str | None:
    """Directions of the figures games report, by name: win rates and scores up, losses down."""
    if metric.endswith(("losses", "loss_rate")):
        return "min"
    if metric.endswith(("win_rate", "_first", "_second", "score", "solved", "agreement", "return")):
        return "max"
    return None


class PolicyValueTask(MultiTask):
    heads = {"policy": ("zoo_games.tasks.policy:PolicyHead", 1.0), "value": ("regression", 1.0)}
    monitor = "policy_accuracy"

    def direction(self, metric: str, source: Any = None) -> str:
        return direction_of(metric) or super().direction(metric, source)
