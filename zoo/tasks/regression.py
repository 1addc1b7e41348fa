"""Regression of one value or one vector (coordinates, joint angles) per sample."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..errors import ZooError
from .base import Task


class RegressionTask(Task):
    """Mean squared error. Targets of shape (N,) or (N, D): a vector target is one prediction per sample,
    scored by RMSE and MAE over its coordinates and by `distance`, the mean Euclidean error per sample."""

    name = "regression"
    monitor = "rmse"
    directions = {"distance": "min"}

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self.scores(output), self._shaped(target, output))

    def metrics(self):
        from torchmetrics import MeanAbsoluteError, MeanMetric, MeanSquaredError, MetricCollection

        return MetricCollection({"rmse": MeanSquaredError(squared=False), "mae": MeanAbsoluteError(),
                                 "distance": MeanMetric()})

    def scores(self, output: torch.Tensor) -> torch.Tensor:
        dims = int(self.info.get("target_dims", 1))
        return output.float().reshape(-1) if dims == 1 else output.float().reshape(-1, dims)

    def _shaped(self, target: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        return target.float().reshape(self.scores(output).shape)

    def update_metrics(self, metrics, output, target) -> None:
        pred, true = self.scores(output).contiguous(), self._shaped(target, output).contiguous()  # torchmetrics views
        metrics["rmse"].update(pred, true)
        metrics["mae"].update(pred, true)
        error = (pred - true).abs() if pred.dim() == 1 else (pred - true).norm(dim=-1)
        metrics["distance"].update(error)

    def predict(self, output: torch.Tensor) -> list[dict[str, Any]]:
        names = self.info.get("target_names")
        rows = []
        for value in self.scores(output).tolist():
            if isinstance(value, list) and names:
                rows.append({n: round(v, 6) for n, v in zip(names, value)})
            else:
                rows.append({"value": [round(v, 6) for v in value] if isinstance(value, list) else round(value, 6)})
        return rows

    def check_batch(self, x, y, dataset: str) -> None:
        if not isinstance(y, torch.Tensor) or not torch.isfinite(y.float()).all():
            raise ZooError(f"{dataset}: a regression dataset must yield finite numeric targets")
        dims = int(self.info.get("target_dims", 1))
        per_sample = y[0].numel() if y.dim() else 1
        if per_sample != dims:
            raise ZooError(f"{dataset}: targets have {per_sample} values per sample but info['target_dims'] is {dims}")
