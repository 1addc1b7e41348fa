"""Running a training into a run directory: config.json, metrics.jsonl, checkpoints/, then summary.json, the
curves and the model card once it ends. Building a recipe is zoo.build; reopening a run, zoo.reopen.
"""
from __future__ import annotations

import json
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from .build import Built, build, factory_settings, recipe_spec
from .card import model_card
from .config import override, split
from .errors import PluginError, ZooError
from .registry import RecipeSpec
from .registry.entries import import_path
from .rundir import RunLock, check_out, read_config
from .version import __version__


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
    if test is not None and trainer.task.settings.tta:  # the chosen weights again, averaged over the recipe's views
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


def find_lr(name: str, data: str | None = None, sets: dict[str, str] | None = None, out: str = "lr_find.png",
            steps: int = 100, **explicit: Any) -> float:
    """The LR range test on recipe `name` (zoo.training.lr_finder.sweep), its plot saved to `out`; returns the
    suggested learning rate."""
    from .training.lr_finder import suggest, sweep
    from .training.plots import lr_sweep
    from .training.trainer import Trainer

    built = build(name, data, sets, **explicit)
    config = dict(built.config, schedule="constant", ema=0.0, grad_stats_every=0)
    train_cfg, _, _ = split(config)
    trainer = Trainer(built.model, built.task, built.bundle, train_cfg, run_dir=None, callbacks=[])
    lrs, losses = sweep(trainer, steps)
    best = suggest(lrs, losses)
    lr_sweep(lrs, losses, best, Path(out))
    return best
