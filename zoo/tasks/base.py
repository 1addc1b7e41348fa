"""A task says how a model's output becomes a loss, metrics, predictions and files."""
from __future__ import annotations

import importlib
import json
from pathlib import Path
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from ..config import TaskSettings, TrainConfig
from ..errors import PluginError, ZooError
from ..training.views import View, image_views

Direction = str  # "max" | "min"


class Task:
    """Base class. A domain with a new kind of output subclasses it and names it in its recipe."""

    name = "task"
    monitor = "loss"  # the metric that picks the best checkpoint; its direction comes from `direction`
    # Directions of the metrics this task computes itself (`evaluate_model`) or whose torchmetrics class does
    # not say (higher_is_better None). Metrics from torchmetrics otherwise carry their own direction.
    directions: dict[str, Direction] = {}
    mixable = False  # whether targets can be mixed (mixup/CutMix)
    follows_input = False  # whether outputs are laid out like the inputs (images, maps): views are undone on them
    # the `zoo predict` options (added by the plugin's zoo_predict_options hook) this task reads from `self.options`
    predict_options: tuple[str, ...] = ()
    # files of the run directory that prediction reads besides the weights (medical: the familiarity statistics);
    # `zoo publish` ships them in the model folder
    run_files: tuple[str, ...] = ()
    # the settings this task reads (`self.settings.NAME`, set with --set task.NAME=...); the recipe's
    # `task_settings` names this dataclass or one derived from it
    Settings: type[TaskSettings] = TaskSettings

    def __init__(self, config: TrainConfig, info: dict[str, Any]):
        self.config, self.info = config, info
        self.settings = self.Settings()  # the recipe's own are given by zoo.build before training or predicting
        self.options: dict[str, Any] = {}  # the values of its `predict_options` for the prediction under way

    def settings_needed(self) -> tuple[type[TaskSettings], ...]:
        """The settings dataclasses the task's settings must derive from."""
        return (self.Settings,)

    def forward(self, model: nn.Module, x: Any) -> Any:
        """Run the model on one batch of inputs."""
        return model(**x) if isinstance(x, dict) else model(x)

    def loss(self, output: Any, target: Any) -> torch.Tensor:
        raise NotImplementedError

    def metrics(self):
        """A torchmetrics Metric or MetricCollection computed over a split's batches, or None."""
        return None

    def scores(self, output: Any) -> Any:
        """What metrics are computed on (probabilities for classifiers)."""
        return output

    def update_metrics(self, metrics, output: Any, target: Any) -> None:
        metrics.update(self.scores(output), target)

    def evaluate_model(self, model: nn.Module, dataset: Any, split: str, budget: int,
                       device: torch.device) -> dict[str, float]:
        """Figures a per-batch average cannot give (win rate, rollout return, a Frechet distance to the split's
        `dataset`, which may be None), within `budget` games, episodes or samples; each needs a direction in
        `directions`. None by default."""
        return {}

    @property
    def evaluates_itself(self) -> bool:
        """Whether this task has an evaluation of its own (it overrides evaluate_model)."""
        return type(self).evaluate_model is not Task.evaluate_model

    # -- directions: one source of truth for "is higher better?" ---------------------------------
    def direction(self, metric: str, source: Any = None) -> Direction:
        """'max' or 'min' for a metric this task reports; `source` is the torchmetrics object behind it."""
        if metric in self.directions:
            return self.directions[metric]
        if metric == "loss" or metric.endswith("_loss"):
            return "min"
        better = getattr(source, "higher_is_better", None)
        if better is not None:
            return "max" if better else "min"
        raise PluginError(f"task {self.name}: metric {metric!r} has no direction; declare it in the task's "
                          f"`directions` (e.g. {{{metric!r}: 'max'}}) or set higher_is_better on its metric class")

    # -- test-time views -------------------------------------------------------------------------
    def views(self) -> dict[str, list[View]]:
        """Views the `tta` setting may name; a task whose inputs are not images adds its own."""
        return image_views()

    def undo_view(self, view: View, output: Any) -> Any:
        """Bring one view's output back to the original's layout before views are averaged."""
        return view.undo(output) if self.follows_input else output

    def merge_views(self, outputs: list[Any]) -> Any:
        """Combine the outputs of test-time views of one batch (their mean by default)."""
        return torch.stack(outputs).mean(0)

    def soft_targets(self, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"task {self.name} does not support mixup/CutMix")

    # -- prediction (zoo.predictor.Predictor calls these) ----------------------------------------------------
    def arguments(self, inputs: list[Any]) -> list[Any]:
        """The `zoo predict` arguments to predict on: those given, plus any an option of the task names (recsys's
        `--user 196`)."""
        return inputs

    def records(self, item: Any, read: Callable[[Any], Any]) -> Iterable[tuple[str, Any]]:
        """The model inputs one `zoo predict` argument holds, each with the name its result goes by: one, read
        by the dataset's reader, by default; a file of many records (FASTA, SVMlight) yields each. A ZooError
        names what is wrong with the argument; the other arguments are still predicted."""
        return [(str(item) if isinstance(item, (str, Path)) else type(item).__name__, read(item))]

    def collate(self, items: list[Any]) -> Any:
        """A batch of model inputs as `records` made them (stacked tensors, or dicts of them, by default)."""
        from torch.utils.data import default_collate

        return default_collate(items)

    def predict(self, output: Any) -> list[dict[str, Any]]:
        """One readable prediction per sample, e.g. {'label': 'cat', 'score': 0.93}."""
        return [{"value": v} for v in self.scores(output).tolist()]

    def predict_inputs(self, run, inputs: list[str], out_dir: Path | None, options: dict[str, Any]) -> list[dict]:
        """`zoo predict` through the run's Predictor. A task overrides it only where the common path cannot serve
        (a prediction that needs no inputs, say) and says why; the hooks above are the way to adapt it."""
        return run.predictor().predict(inputs, out=out_dir, **options)

    def annotate(self, run, items: list[Any], predictions: list[dict[str, Any]]) -> None:
        """Add to each prediction, in place, what the task checks of its input beyond the model's output (medical:
        whether the film is like the training films); by default nothing."""

    def write_output(self, output: Any, prediction: dict[str, Any], stem: Path) -> list[Path]:
        """Write one input's result under `stem` (a path without suffix); the files written.
        By default its prediction as JSON; tasks whose outputs are images, games or maps write those."""
        path = stem.with_suffix(".json")
        path.write_text(json.dumps(prediction) + "\n")
        return [path]

    def report(self, trainer, run_dir) -> None:
        """Write task-specific figures or files into the run directory at the end of training."""

    def card(self) -> str:
        """Markdown the model card adds after its results: what the report measured beyond the metrics."""
        return ""

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        """Refuse a dataset whose items do not fit this task, before training starts."""


def refuse_options(options: dict[str, Any], recipe: str) -> None:
    """Refuse `zoo predict` options (added by plugins) that were given but that this recipe does not use."""
    take_options(options, (), recipe)


def take_options(options: dict[str, Any], accepted: tuple[str, ...], recipe: str) -> dict[str, Any]:
    """The `zoo predict` options a task reads; one given that it does not read is refused."""
    used = [k for k, v in options.items() if v not in (None, False, (), []) and k not in accepted]
    if used:
        raise ZooError(f"zoo predict: --{used[0].replace('_', '-')} does not apply to {recipe}")
    return {k: options.get(k) for k in accepted}


def index(batch: Any, i: int) -> Any:
    """Sample i of a batched output (a tensor, or nested dicts, tuples and lists of them)."""
    if isinstance(batch, torch.Tensor):
        return batch[i]
    if isinstance(batch, dict):
        return {k: index(v, i) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(index(v, i) for v in batch)
    return batch


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


def computed(task: Task, metrics: Any, prefix: str = "") -> dict[str, tuple[float, Direction]]:
    """Every value a task's metrics hold after a split, as name -> (value, direction).

    `metrics` is what Task.metrics returned: a Metric, a MetricCollection, or a dict/ModuleDict of those
    (names prefixed by its keys, as MultiTask's heads). A metric whose compute returns a dict gives each key.
    """
    from torchmetrics import MetricCollection

    out: dict[str, tuple[float, Direction]] = {}
    if isinstance(metrics, MetricCollection):  # its compute groups share state: compute it as a whole
        for key, value in metrics.compute().items():
            name = prefix + key
            out[name] = (float(value), task.direction(name, metrics[key] if key in metrics.keys() else None))
    elif isinstance(metrics, (dict, nn.ModuleDict)):
        for key, member in metrics.items():
            out.update(computed(task, member, f"{prefix}{key}_"))
    else:
        value = metrics.compute()
        values = value.items() if isinstance(value, dict) else [(prefix.rstrip("_") or type(metrics).__name__, value)]
        for key, v in values:
            name = key if key.startswith(prefix) else prefix + key
            out[name] = (float(v), task.direction(name, metrics))
    return out


def metric_leaves(metrics: Any) -> list[Any]:
    """The torchmetrics objects inside what Task.metrics returned."""
    if isinstance(metrics, (dict, nn.ModuleDict)):
        return [leaf for member in metrics.values() for leaf in metric_leaves(member)]
    from torchmetrics import MetricCollection
    return list(metrics.values()) if isinstance(metrics, MetricCollection) else [metrics]
