"""Runs: build a recipe into (data, model, task), train it into a run directory, reopen it later.

A run directory holds config.json, metrics.jsonl, summary.json, checkpoints/, curves.png and a
model card README.md. Everything needed to evaluate or predict is in it.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__
from .config import override, resolve, split
from .errors import PluginError, ZooError
from .plugins import get_registry
from .registry import DatasetSpec, RecipeSpec
from .registry.entries import import_path
from .rundir import RunLock, check_out, read_config

@dataclass
class Built:
    """A recipe made concrete: resolved config, data, model, task."""

    recipe: RecipeSpec
    config: dict[str, Any]
    bundle: Any
    model: Any
    task: Any


def recipe_spec(name: str) -> RecipeSpec:
    return get_registry().get(name, kind="recipe")  # type: ignore[return-value]


def build(name: str, data: str | None = None, sets: dict[str, str] | None = None, *,
          config: dict[str, Any] | None = None, **explicit: Any) -> Built:
    """Resolve the config and build dataset, model and task through the recipe's factory, then check them."""
    import torch.nn as nn

    from .data import DataBundle
    from .tasks import Task
    from .training.device import seed_everything

    recipe = recipe_spec(name)
    if config is None:
        config = resolve(recipe.defaults, sets, recipe=name, extra=factory_settings(recipe), **explicit)
    if data is not None and not Path(data).exists():
        raise ZooError(f"--data {data}: no such file or folder")
    seed_everything(config["seed"])  # model initialization and data generation depend on the seed only
    built = recipe.load()(recipe, config, data)
    if not (isinstance(built, tuple) and len(built) == 3):
        raise PluginError(f"{name}: its builder {recipe.factory} must return (DataBundle, nn.Module, Task)")
    bundle, model, task = built
    for value, kind, what in ((bundle, DataBundle, "a zoo DataBundle"), (model, nn.Module, "a torch nn.Module"),
                              (task, Task, "a zoo Task")):
        if not isinstance(value, kind):
            source = {"a zoo DataBundle": recipe.dataset, "a torch nn.Module": recipe.model}.get(what, name)
            raise PluginError(f"{source}: its factory returned {type(value).__name__}, expected {what}")
    bundle.check(recipe.dataset)
    sample = bundle.train if bundle.generator is None else bundle.valid  # generated data is checked per round
    if sample is not None:
        first = next(iter(_first_batch(bundle, sample)))
        task.check_batch(first[0], first[1], recipe.dataset)
    return Built(recipe, config, bundle, model, task)


def factory_settings(recipe: RecipeSpec) -> dict[str, Any]:
    """Every keyword setting of the recipe's model and dataset factories with its default, by key
    (`model.drop_path_rate`, `data.limit`): what `--set` may change beyond the recipe's own defaults."""
    import inspect

    registry = get_registry()
    settings: dict[str, Any] = {}
    for prefix, kind, name in (("model", "model", recipe.model), ("data", "dataset", recipe.dataset)):
        for param in inspect.signature(registry.get(name, kind=kind).load()).parameters.values():
            if param.name not in ("data", "seed") and param.default is not inspect.Parameter.empty:
                settings[f"{prefix}.{param.name}"] = param.default
    return settings


def default_recipe(recipe: RecipeSpec, config: dict[str, Any], data: str | None):
    """The usual recipe: the registry's dataset and model, the named task. Plugins may supply their own."""
    from .data import DataBundle
    from .tasks import get_task

    registry = get_registry()
    train_cfg, model_opts, data_opts = split(config)
    dataset = registry.get(recipe.dataset, kind="dataset").load()
    bundle = call_with(dataset, recipe.dataset, "data", data, seed=train_cfg.seed, **data_opts)
    if not isinstance(bundle, DataBundle):
        raise PluginError(f"{recipe.dataset}: its factory returned {type(bundle).__name__}, expected a zoo DataBundle")
    model_factory = registry.get(recipe.model, kind="model").load()
    model = call_with(model_factory, recipe.model, "model", **{**bundle.model_args, **model_opts})
    task = get_task(recipe.task)(train_cfg, bundle.info)
    return bundle, model, task


def call_with(factory, owner: str, prefix: str, *args: Any, **kwargs: Any) -> Any:
    """Call a factory, refusing settings it does not take with an error that names them."""
    import inspect

    try:
        inspect.signature(factory).bind(*args, **kwargs)
    except TypeError as exc:
        params = [p for p in inspect.signature(factory).parameters if p not in ("data", "seed")]
        raise ZooError(f"{owner}: {exc}; its {prefix}.* settings are {', '.join(params) or 'none'}") from None
    return factory(*args, **kwargs)


def _first_batch(bundle, dataset):
    from torch.utils.data import DataLoader
    return DataLoader(dataset, batch_size=min(4, len(dataset)), collate_fn=bundle.collate)


def versions(recipe: RecipeSpec) -> dict[str, str]:
    import torch
    out = {"zoo": __version__, "torch": torch.__version__}
    if recipe.provider:
        try:
            out[recipe.provider] = metadata.version(recipe.provider)
        except metadata.PackageNotFoundError:
            pass
    return out


def default_run_dir(name: str) -> Path:
    return Path("runs") / name / time.strftime("%Y%m%d-%H%M%S")


def train(name: str, data: str | None = None, sets: dict[str, str] | None = None, out: str | None = None,
          resume: str | None = None, callbacks=None, **explicit: Any) -> Path:
    """Train a recipe into a run directory (or continue one) and write its summary and model card."""
    from .training.device import is_main

    run_dir = Path(resume) if resume else Path(out) if out else default_run_dir(name)
    check_out(run_dir)
    if not resume and (run_dir / "checkpoints").exists():
        raise ZooError(f"--out {run_dir}: already holds a run; use --resume {run_dir} to continue it")
    lock, created = RunLock(run_dir), not run_dir.exists()
    if is_main():  # the run directory has one writer: a second `zoo train` into it is refused
        lock.acquire()
    try:
        return _train(name, run_dir, data, sets, resume, callbacks, explicit)
    finally:
        lock.release()
        if created and run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()  # a run that failed before writing anything leaves no empty folder behind


def _train(name: str, run_dir: Path, data: str | None, sets: dict[str, str] | None, resume: str | None,
           callbacks, explicit: dict[str, Any]) -> Path:
    from .training import checkpoint
    from .training.trainer import Trainer

    if resume:
        saved = read_config(run_dir)
        if saved["recipe"] != name:
            raise ZooError(f"--resume {run_dir}: that run trained {saved['recipe']}, not {name}")
        if data is not None and str(Path(data).resolve()) != saved.get("data"):
            # an exact resume replays the run's own data order; new data is a new run
            raise ZooError(f"--resume {run_dir}: that run trained on {saved.get('data') or 'its default data'}; "
                           f"it continues on it (drop --data {data}, or start a new run with --out)")
        # the run's own settings, with what the user changes now (e.g. more --epochs)
        config = override(saved["config"], sets, name, factory_settings(recipe_spec(name)), **explicit)
        built = build(name, saved.get("data"), config=config)
    else:
        built = build(name, data, sets, **explicit)
    train_cfg, _, _ = split(built.config)
    from .training.callbacks import ConsoleLogger, TensorBoardLogger

    callbacks = [ConsoleLogger()] if callbacks is None else list(callbacks)
    callbacks += [TensorBoardLogger(run_dir), *recipe_callbacks(built.recipe, built.config)]
    trainer = Trainer(built.model, built.task, built.bundle, train_cfg, run_dir=run_dir, callbacks=callbacks)
    if trainer.main and not resume:
        write_config(run_dir, built, data)
    if resume:
        if trainer.main:  # a write cut short by a kill leaves a temporary file behind
            checkpoint.remove_partial(run_dir / "checkpoints")
        trainer.resume(run_dir / "checkpoints" / "last.safetensors")
        if trainer.main:  # the checkpoint's history is the truth; drop epochs logged after it
            (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in trainer.history))
    trainer.fit()
    if trainer.main:
        finish(run_dir, built, trainer)
    # not in a `finally`: a rank that fails leaves at once and torchrun stops the others, where a barrier
    # here would pair with whatever collective the other ranks are in
    trainer.close()
    return run_dir


def recipe_callbacks(recipe: RecipeSpec, config: dict[str, Any]) -> list[Any]:
    """The callbacks a recipe names, each built from the run's resolved config."""
    from .training.callbacks import Callback

    made = []
    for path in recipe.callbacks:
        callback = import_path(path, recipe.name)(config)
        if not isinstance(callback, Callback):
            raise PluginError(f"{recipe.name}: callback {path} returned {type(callback).__name__}, "
                              "expected a zoo Callback")
        made.append(callback)
    return made


def write_config(run_dir: Path, built: Built, data: str | None) -> None:
    recipe = built.recipe
    payload = {
        "recipe": recipe.name, "dataset": recipe.dataset, "model": recipe.model, "task": recipe.task,
        "data": str(Path(data).resolve()) if data else None,
        "config": built.config, "seed": built.config["seed"], "versions": versions(recipe),
        "model_args": built.bundle.model_args, "info": built.bundle.info,
    }
    (run_dir / "config.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")


def summarize(history: list[dict[str, Any]], test: dict[str, float] | None,
              test_final: dict[str, float] | None = None, directions: dict[str, str] | None = None) -> dict[str, Any]:
    """Final and best value of every validation metric, best by the direction the task declared; the test
    metrics of the checkpoint validation picked (`test`) and of the last epoch's weights (`test_final`)."""
    directions = directions or {}
    valid = {"final": {}, "best": {}}
    for key in history[-1] if history else {}:
        if not key.startswith("valid_"):
            continue
        name = key[len("valid_"):]
        values = [row[key] for row in history if row.get(key) is not None]
        if name not in directions:
            raise ZooError(f"metric {name}: no direction is known for it (declare it in the task's `directions`)")
        valid["final"][name] = values[-1]
        valid["best"][name] = max(values) if directions[name] == "max" else min(values)
    summary: dict[str, Any] = {"epochs": len(history), "valid": valid,
                               "directions": {k: directions[k] for k in valid["final"]}}
    if test:
        summary["test"] = test
        summary["test_final"] = test_final or test
    return summary


def finish(run_dir: Path, built: Built, trainer) -> None:
    """Score the test split with the weights `zoo eval` will load (best.safetensors) and with the last
    epoch's, then write summary.json, the curves and the model card."""
    from .training import plots

    best = run_dir / "checkpoints" / "best.safetensors"
    chosen_epoch = trainer.best_epoch if best.is_file() else len(trainer.history)
    test = final = None
    has_test = built.bundle.test is not None or built.task.evaluates_itself
    if has_test:
        final = trainer.evaluate("test")  # the last epoch's weights
        test = final
        if chosen_epoch != len(trainer.history):  # validation picked an earlier epoch: score what eval loads
            trainer.load_weights(best)
            test = trainer.evaluate("test")
    summary = summarize(trainer.history, test, final, trainer.directions)
    if test is not None and trainer.config.tta:  # the chosen weights again, averaged over the recipe's views
        summary["test_tta"] = trainer.evaluate("test", tta=True)
    summary["monitor"] = trainer.monitor
    summary["best_epoch"] = chosen_epoch
    if test is not None:
        summary["test_checkpoint"] = "best" if best.is_file() else "last"
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plots.curves(trainer.history, run_dir / "curves.png")
    if trainer.health is not None:
        trainer.health.plot(run_dir / "gradients.png")
    built.task.report(trainer, run_dir)
    (run_dir / "README.md").write_text(model_card(run_dir, built, summary))


def model_card(run_dir: Path, built: Built, summary: dict[str, Any]) -> str:
    recipe = built.recipe
    dataset = get_registry().get(recipe.dataset, kind="dataset")
    model = get_registry().get(recipe.model, kind="model")
    assert isinstance(dataset, DatasetSpec)
    lines = [f"# {recipe.name}", "", recipe.summary, "",
             "## Recipe", "", f"- dataset: `{dataset.name}`: {dataset.summary}", f"- model: `{model.name}`: {model.summary}",
             f"- task: {recipe.task}", f"- settings: see `config.json`", "",
             "## Data", "", f"- source: {dataset.source or 'n/a'}", f"- licence: {dataset.licence or 'n/a'}"]
    if dataset.notes:
        lines.append(f"- notes: {dataset.notes}")
    lines += ["", "## Results", "", "Final: the last epoch's weights; best: the checkpoint the validation split picked "
              f"(by {summary.get('monitor', 'its metric')}), which `zoo eval` and `zoo predict` use.", "",
              "| split | metric | final | best |", "|---|---|---|---|"]
    for name, value in summary["valid"]["final"].items():
        lines.append(f"| valid | {name} | {value:.4f} | {summary['valid']['best'][name]:.4f} |")
    for name, value in summary.get("test", {}).items():
        lines.append(f"| test | {name} | {summary['test_final'][name]:.4f} | {value:.4f} |")
    views = built.config.get("tta")
    for name, value in summary.get("test_tta", {}).items():
        lines.append(f"| test, views {views} (`zoo eval --tta`) | {name} | | {value:.4f} |")
    extra = built.task.card()
    if extra:
        lines += ["", extra.rstrip()]
    lines += ["", "## Reload and predict", "", "```bash", f"zoo eval {run_dir}", f"zoo predict {run_dir} INPUT...",
              f"zoo export {run_dir} --format onnx --out model.onnx", "```", "", "```python", "import zoo", "",
              f"run = zoo.load({str(run_dir)!r})", "print(run.predict(['INPUT']))  # file paths, text, PIL images",
              "net = run.module  # the plain torch nn.Module, with the weights zoo eval uses", "```", ""]
    return "\n".join(lines)


# -- reopening a run -----------------------------------------------------------------------
class OpenRun:
    """A trained run, ready to evaluate and predict: what `zoo.load(RUN_DIR)` returns.

    `.predict(inputs)` takes file paths, text, PIL images (for image models) or tensors already shaped as one
    model input; `.evaluate()` scores the valid and test splits; `.module` is the plain `nn.Module` with the
    weights `zoo eval` uses; `.config` the run's resolved settings.
    """

    def __init__(self, run_dir: str | Path, data: str | None = None, device: str = "auto", which: str = "best"):
        self.dir = Path(run_dir)
        self.saved = read_config(self.dir)
        self.recipe = recipe_spec(self.saved["recipe"])
        self.data = data
        self.device = device
        ckpt = self.dir / "checkpoints" / f"{which}.safetensors"
        self.checkpoint = ckpt if ckpt.is_file() else self.dir / "checkpoints" / "last.safetensors"
        self._trainer = None

    def trainer(self, with_data: bool):
        """A Trainer holding the run's weights, with the run's data (or `--data`) when asked for."""
        from .data import DataBundle
        from .tasks import get_task
        from .training.trainer import Trainer

        config = dict(self.saved["config"], device=self.device, grad_stats_every=0, compile=False, schedule="constant",
                      init_from="")
        train_cfg, model_opts, _ = split(config)
        if with_data:
            data = self.data if self.data is not None else self.saved.get("data")
            built = build(self.recipe.name, data, config=config)
            bundle, model, task = built.bundle, built.model, built.task
        else:
            import torch
            dummy = torch.utils.data.TensorDataset(torch.zeros(1), torch.zeros(1))
            bundle = DataBundle(train=dummy, valid=dummy, model_args=self.saved["model_args"], info=self.saved["info"])
            model_spec = get_registry().get(self.recipe.model, kind="model")
            model = call_with(model_spec.load(), model_spec.name, "model", **{**bundle.model_args, **model_opts})
            task = get_task(self.recipe.task)(train_cfg, bundle.info)
        trainer = Trainer(model, task, bundle, train_cfg, run_dir=None, callbacks=[])
        trainer.load_weights(self.checkpoint)
        return trainer

    def evaluate(self, tta: bool = False) -> dict[str, dict[str, float]]:
        trainer = self.trainer(with_data=True)
        if tta and not trainer.views:
            raise ZooError(f"--tta: recipe {self.recipe.name} declares no test-time views (set tta=hflip,...)")
        out = {"valid": trainer.evaluate("valid", tta=tta)}
        if trainer.data.test is not None or trainer.task.evaluates_itself:
            out["test"] = trainer.evaluate("test", tta=tta)
        return out

    @property
    def module(self):
        """The trained network (the moving average of the weights when the run kept one), in eval mode."""
        return self.predictor().eval_model().eval()

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.saved["config"])

    def new_module(self):
        """A freshly initialised network of the run's architecture (from its config), e.g. to load exported weights
        into with safetensors.torch.load_model."""
        model_spec = get_registry().get(self.recipe.model, kind="model")
        _, model_opts, _ = split(self.saved["config"])
        return call_with(model_spec.load(), model_spec.name, "model", **{**self.saved["model_args"], **model_opts})

    def predict(self, inputs: list[Any], out: str | Path | None = None, **options: Any) -> list[dict[str, Any]]:
        """One dict per input; with `out`, each input's result is also written there as files (the task says
        which). `options` are those of `zoo predict` that plugins add (e.g. heatmap=True for medical runs)."""
        task = self.predictor().task
        if isinstance(inputs, (str, Path)) or not isinstance(inputs, (list, tuple)):
            inputs = [inputs]  # one input
        return task.predict_inputs(self, list(inputs), Path(out) if out is not None else None, options)

    def read_inputs(self, inputs: list[Any]) -> list[Any]:
        """Model inputs from `zoo predict` arguments (file paths, text; PIL images from Python) through the
        dataset's reader; a tensor is taken as one model input already."""
        import torch

        if all(isinstance(item, torch.Tensor) for item in inputs):
            return list(inputs)
        dataset = get_registry().get(self.recipe.dataset, kind="dataset")
        assert isinstance(dataset, DatasetSpec)
        if not dataset.reader:
            raise ZooError(f"{dataset.name} declares no reader, so its models cannot predict on raw inputs")
        read = import_path(dataset.reader, dataset.name)
        return [item if isinstance(item, torch.Tensor) else read(str(item) if isinstance(item, Path) else item,
                                                                  self.saved["info"]) for item in inputs]

    def predictor(self):
        """The run's trainer without data, built once: enough to predict."""
        if self._trainer is None:
            self._trainer = self.trainer(with_data=False)
        return self._trainer


def open_run(run_dir: str | Path, **kwargs: Any) -> OpenRun:
    return OpenRun(run_dir, **kwargs)


def load(run_dir: str | Path, device: str = "auto") -> OpenRun:
    """`zoo.load(RUN_DIR)`: a trained run to predict with, evaluate, export or take the module of."""
    return OpenRun(run_dir, device=device)
