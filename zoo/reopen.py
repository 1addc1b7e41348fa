"""Reopening a trained run: evaluate it on its data (through a Trainer) or predict with it (through its Predictor)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .build import build, recipe_spec
from .config import split
from .errors import ZooError
from .predictor import load_weights, weights_file
from .rundir import read_config


class OpenRun:
    """A trained run, ready to evaluate and predict: what `zoo.load(RUN_DIR)` returns.

    `.predictor()` is its zoo.predictor.Predictor, which everything that predicts goes through.
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
        self.which = which
        self._predictor = None

    def trainer(self, with_data: bool = True):
        """A Trainer holding the run's weights and its data (or `--data`): for evaluation and benchmarks."""
        from .training.trainer import Trainer

        # the evaluated weights (the moving average, when the run kept one) go into the plain model: no EMA here
        config = dict(self.saved["config"], device=self.device, grad_stats_every=0, compile=False, schedule="constant",
                      init_from="", ema=0.0)
        train_cfg, _, _ = split(config)
        if not with_data:
            raise ZooError("OpenRun.trainer(with_data=False) is gone: predict through run.predictor()")
        data = self.data if self.data is not None else self.saved.get("data")
        built = build(self.recipe.name, data, config=config)
        trainer = Trainer(built.model, built.task, built.bundle, train_cfg, run_dir=None, callbacks=[])
        load_weights(trainer.model, weights_file(self.dir, self.which))
        return trainer

    def evaluate(self, tta: bool = False) -> dict[str, dict[str, float]]:
        trainer = self.trainer(with_data=True)
        if tta and not trainer.views:
            raise ZooError(f"--tta: recipe {self.recipe.name} declares no test-time views (set task.tta=hflip,...)")
        out = {"valid": trainer.evaluate("valid", tta=tta)}
        if trainer.data.test is not None or trainer.task.evaluates_itself:
            out["test"] = trainer.evaluate("test", tta=tta)
        return out

    @property
    def module(self):
        """The trained network (the moving average of the weights when the run kept one), in eval mode."""
        return self.predictor().model

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.saved["config"])

    def new_module(self):
        """A freshly initialised network of the run's architecture (from its config), e.g. to load exported weights
        into with safetensors.torch.load_model."""
        return self.predictor().new_module()

    def predict(self, inputs: Any, out: str | Path | None = None, **options: Any) -> list[dict[str, Any]]:
        """One dict per input; with `out`, each input's result is also written there as files (the task says
        which). `options` are `batch_size`, `tta`, `progress` and those of `zoo predict` that plugins add (e.g.
        heatmap=True for medical runs)."""
        predictor = self.predictor()
        if isinstance(inputs, (str, Path)) or not isinstance(inputs, (list, tuple)):
            inputs = [inputs]  # one input
        return predictor.task.predict_inputs(self, list(inputs), Path(out) if out is not None else None, options)

    def read_inputs(self, inputs: list[Any]) -> list[Any]:
        """Model inputs from `zoo predict` arguments through the dataset's reader."""
        return [self.predictor().read(item) for item in inputs]

    def predictor(self):
        """The run's Predictor (zoo.predictor), made once."""
        if self._predictor is None:
            from .predictor import Predictor

            self._predictor = Predictor(self.dir, device=self.device, which=self.which)
        return self._predictor


def open_run(run_dir: str | Path, **kwargs: Any) -> OpenRun:
    """A run directory, a published model folder or hf://ORG/NAME[@REVISION] (zoo.hub.resolve), reopened."""
    from .hub import resolve

    return OpenRun(resolve(run_dir), **kwargs)


def load(run_dir: str | Path, device: str = "auto") -> OpenRun:
    """`zoo.load(RUN_DIR)`: a trained run (or a published model: a folder or hf://ORG/NAME[@REVISION]) to predict
    with, evaluate, export or take the module of."""
    return open_run(run_dir, device=device)
