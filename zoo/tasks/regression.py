"""Regression of one value per sample."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection

from ..errors import ZooError
from .base import Task


class RegressionTask(Task):
    name = "regression"
    monitor = ("rmse", "min")

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output.float().reshape(-1), target.float().reshape(-1))

    def metrics(self):
        return MetricCollection({"rmse": MeanSquaredError(squared=False), "mae": MeanAbsoluteError()})

    def scores(self, output: torch.Tensor) -> torch.Tensor:
        return output.float().reshape(-1)

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(self.scores(output), target.float().reshape(-1))

    def check_batch(self, x, y, dataset: str) -> None:
        if not isinstance(y, torch.Tensor) or not torch.isfinite(y.float()).all():
            raise ZooError(f"{dataset}: a regression dataset must yield finite numeric targets")
