"""A task says how a model's output becomes a loss, metrics and predictions."""
from __future__ import annotations

import importlib
from typing import Any

import torch
from torch import nn

from ..config import TrainConfig
from ..errors import PluginError


class Task:
    """Base class. A domain with a new kind of output subclasses it and names it in its recipe."""

    name = "task"
    monitor = ("loss", "min")  # metric that picks the best checkpoint, and its direction
    mixable = False  # whether targets can be mixed (mixup/CutMix)

    def __init__(self, config: TrainConfig, info: dict[str, Any]):
        self.config, self.info = config, info

    def forward(self, model: nn.Module, x: Any) -> Any:
        """Run the model on one batch of inputs."""
        return model(**x) if isinstance(x, dict) else model(x)

    def loss(self, output: Any, target: Any) -> torch.Tensor:
        raise NotImplementedError

    def metrics(self):
        """A torchmetrics MetricCollection, or None."""
        return None

    def scores(self, output: Any) -> Any:
        """What metrics are computed on (probabilities for classifiers)."""
        return output

    def update_metrics(self, metrics, output: Any, target: Any) -> None:
        metrics.update(self.scores(output), target)

    def merge_views(self, outputs: list[Any]) -> Any:
        """Combine the outputs of test-time views of one batch (their mean by default)."""
        return torch.stack(outputs).mean(0)

    def soft_targets(self, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"task {self.name} does not support mixup/CutMix")

    def predict(self, output: Any) -> list[dict[str, Any]]:
        """One readable prediction per sample, e.g. {'label': 'cat', 'score': 0.93}."""
        return [{"value": v} for v in self.scores(output).tolist()]

    def explain(self, run, inputs: list[str], out_dir) -> list[dict[str, Any]]:
        """`zoo predict --heatmap`: predictions plus a picture per input of where the model looked."""
        from ..errors import ZooError
        raise ZooError(f"recipe task {self.name!r} cannot draw heatmaps")

    def report(self, trainer, run_dir) -> None:
        """Write task-specific figures or files into the run directory at the end of training."""

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        """Refuse a dataset whose items do not fit this task, before training starts."""


BUILTIN = {
    "classification": "zoo.tasks.classification:ClassificationTask",
    "binary": "zoo.tasks.classification:BinaryTask",
    "regression": "zoo.tasks.regression:RegressionTask",
}


def get_task(name: str) -> type[Task]:
    """A built-in task by name, or a plugin's task by 'package.module:Class'."""
    path = BUILTIN.get(name, name)
    module, sep, attr = path.partition(":")
    if not sep:
        raise PluginError(f"unknown task {name!r}; built-in tasks are {', '.join(BUILTIN)}")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"cannot import task {name!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise PluginError(f"task {name!r} is not a zoo.tasks.Task subclass")
    return cls
