"""A trained model ready to predict: the one way from a run (or a published model folder) to predictions.

A `Predictor` holds the network in eval mode on its device (the moving average of the weights when the run
kept one), the recipe's task, the dataset's reader and the run's `info`; it builds no Trainer and reads no
training data. Everything that predicts goes through it: `zoo predict`, `zoo.load(...).predict`, `zoo eval`
(the forward path with test-time views, `views.forward`), `zoo export`, the game engines, `zoo serve`, the Hub.

What a task says about prediction, in narrow hooks (zoo.tasks.Task):
- `records(item, read)`: the model inputs one argument holds, each named (one by default; a FASTA file many);
- `collate(items)`: a batch of them;
- `predict(output)`: one readable dict per input; `annotate(predictor, items, predictions)`: checks of the input;
- `write_output(output, prediction, stem)`: an input's files under `--out`;
- `predict_options`: the `zoo predict` options it reads from `self.options`.
"""
from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import ZooError

WEIGHTS = "model.safetensors"  # a published model folder's weights (zoo publish); a run keeps checkpoints/
LOOKS_LIKE_FILE = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,5}(\.gz)?$")  # a suffix of 2 to 6 characters


class Predictor:
    """`Predictor(folder)`: a run directory or a published model folder, ready to predict."""

    def __init__(self, folder: str | Path, device: str = "auto", which: str = "best"):
        from .config import split
        from .rundir import read_config
        from .training.device import pick_device, resolve_precision
        from .training.views import parse

        self.dir = Path(folder)
        self.saved = read_config(self.dir)
        self.recipe = recipe_spec(self.saved["recipe"])
        self.info: dict[str, Any] = self.saved["info"]
        self.config, model_opts, _ = split(self.saved["config"])
        self.device = pick_device(device)
        self.precision = resolve_precision(self.device, self.config.precision, lambda message: None)
        self.task = task_of(self.recipe, self.config, self.info, self.saved["config"])
        self.model = network(self.recipe, self.saved["model_args"], model_opts)
        self.weights = weights_file(self.dir, which)
        load_weights(self.model, self.weights)
        self.model.to(self.device).eval()
        self.views = parse(self.task.settings.tta, self.task.views())
        self.out_dir: Path | None = None  # --out of the prediction under way
        self._reader = None

    # -- the forward path ------------------------------------------------------------------------------
    def forward(self, batch: Any, tta: bool = False) -> Any:
        """The network's raw output on one collated batch (averaged over the recipe's views with `tta`)."""
        import torch

        from .data import to_device
        from .training.device import autocast
        from .training.views import forward

        with torch.no_grad(), autocast(self.device, self.precision):
            return forward(self.task, self.model, to_device(batch, self.device), self.views if tta else [])

    def outputs(self, items: list[Any], tta: bool = False) -> tuple[Any, list[dict[str, Any]]]:
        """Raw outputs and readable predictions for model inputs already read."""
        output = self.forward(self.task.collate(items), tta)
        return output, self.task.predict(output)

    # -- from arguments to predictions -------------------------------------------------------------------
    def read(self, item: Any) -> Any:
        """One model input from one argument (a path, text, a PIL image) through the dataset's reader."""
        import torch

        if isinstance(item, torch.Tensor):
            return item
        if self._reader is None:
            from .registry.entries import import_path

            dataset = spec(self.recipe.dataset, "dataset")
            if not dataset.reader:
                raise ZooError(f"{dataset.name} declares no reader, so its models cannot predict on raw inputs")
            self._reader = import_path(dataset.reader, dataset.name)
        return self._reader(str(item) if isinstance(item, Path) else item, self.info)

    def predict(self, inputs: Any, out: str | Path | None = None, batch_size: int = 32, tta: bool = False,
                progress: bool = False, **options: Any) -> list[dict[str, Any]]:
        """One dict per input (`input` names it; a bad input gets `error` instead of a prediction and the others
        are still predicted). With `out`, each input's files are written there. Every input failing is an error."""
        results = list(self.iter_predict(inputs, out, batch_size, tta, progress, **options))
        bad = [r for r in results if "error" in r]
        if results and len(bad) == len(results):
            more = f" (and {len(bad) - 1} more bad input(s))" if len(bad) > 1 else ""
            raise ZooError(f"{bad[0]['input']}: {bad[0]['error']}{more}")
        return results

    def iter_predict(self, inputs: Any, out: str | Path | None = None, batch_size: int = 32, tta: bool = False,
                     progress: bool = False, **options: Any) -> Iterator[dict[str, Any]]:
        """`predict` one batch at a time, in the inputs' order."""
        from .tasks.base import index, take_options

        task = self.task
        task.options = take_options(options, task.predict_options, self.recipe.name)
        out_dir = self.out_dir = checked_out(out)
        if batch_size < 1:
            raise ZooError(f"--batch-size {batch_size}: must be at least 1")
        if tta and not self.views:
            raise ZooError(f"--tta: recipe {self.recipe.name} declares no test-time views (set task.tta=hflip,...)")
        if isinstance(inputs, (str, Path)) or not isinstance(inputs, Iterable):
            inputs = [inputs]
        arguments = expand(task.arguments(list(inputs)))
        if not arguments:
            raise ZooError("zoo predict: give at least one INPUT")
        pending: list[tuple[str, Any]] = []
        chunks = _records(task, arguments, self.read)
        if progress:
            from .progress import track
            # a bar on a terminal; in logs a line every tenth of the way, for long lists only
            chunks = track(chunks, "predicting", total=len(arguments), lines=len(arguments) >= 100)
        for chunk in chunks:
            for name, record in chunk:
                if isinstance(record, ZooError):
                    yield from self._flush(pending, out_dir, tta, index)
                    pending = []
                    yield {"input": name, "error": str(record)}
                    continue
                pending.append((name, record))
                if len(pending) >= batch_size:
                    yield from self._flush(pending, out_dir, tta, index)
                    pending = []
        yield from self._flush(pending, out_dir, tta, index)

    def _flush(self, pending: list[tuple[str, Any]], out_dir: Path | None, tta: bool, index) -> Iterator[dict]:
        if not pending:
            return
        names, items = [n for n, _ in pending], [x for _, x in pending]
        if len(items) > 1 and not same_shapes(items):  # inputs of several sizes (images, scenes): one at a time
            for one in pending:
                yield from self._flush([one], out_dir, tta, index)
            return
        output, predictions = self.outputs(items, tta)
        predictions = [{"input": p.pop("input", name), **p} for name, p in zip(names, predictions)]
        self.task.annotate(self, items, predictions)
        for i, (name, prediction) in enumerate(zip(names, predictions)):
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                files = self.task.write_output(index(output, i), prediction, out_dir / stem_of(name, i))
                prediction["files"] = [str(f) for f in files]
            yield prediction

    # -- what else callers take from a trained model -------------------------------------------------------
    def eval_model(self):
        """The network with the weights predictions use (kept for callers written against a Trainer)."""
        return self.model

    def predict_outputs(self, items: list[Any], tta: bool = False) -> tuple[Any, list[dict[str, Any]]]:
        return self.outputs(items, tta)

    def new_module(self):
        """A freshly initialised network of this model's architecture."""
        from .config import split

        return network(self.recipe, self.saved["model_args"], split(self.saved["config"])[1])


def same_shapes(items: list[Any]) -> bool:
    """Whether model inputs (tensors, or dicts of them) can be stacked into one batch as they are."""
    import torch

    def shapes(item: Any) -> Any:
        if isinstance(item, torch.Tensor):
            return tuple(item.shape)
        if isinstance(item, dict):
            return tuple((k, shapes(v)) for k, v in sorted(item.items()))
        return None

    first = shapes(items[0])
    return all(shapes(item) == first for item in items[1:])


def _records(task, arguments: list[Any], read) -> Iterator[list[tuple[str, Any]]]:
    """Per argument, its named model inputs, or (name, ZooError) for an argument that cannot be read."""
    for argument in arguments:
        name = str(argument) if isinstance(argument, (str, Path)) else type(argument).__name__
        try:
            missing = missing_file(argument)
            if missing:
                raise ZooError(missing)
            yield list(task.records(argument, read))
        except ZooError as exc:
            message = str(exc)
            yield [(name, ZooError(message.removeprefix(f"{name}: ")))]
        except Exception as exc:  # noqa: BLE001 - the boundary where a user's file meets a library
            # a reader that let a library's exception through (PIL's decompression-bomb guard, a truncated
            # archive): still one line naming the input, and the other inputs are predicted
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            yield [(name, ZooError(f"cannot be read ({type(exc).__name__}{': ' + first if first else ''})"))]


def missing_file(item: Any) -> str | None:
    """'no such file' for an argument that looks like a path and is not there, so that it is never taken as text,
    a sequence or a FEN: no spaces, and a file suffix (`.png`, `.fasta`), or a folder part that is there or
    plainly a path (`/`, `./`, `~/`). A board (`xo.x....o`) or a bare FEN board (`8/8/8/8/8/8/8/K1k5`) is not."""
    if not isinstance(item, (str, Path)):
        return None
    text = str(item)
    if not text or any(c.isspace() for c in text) or exists(text):
        return None
    folder_part = os.sep in text and (text.startswith((os.sep, "." + os.sep, ".." + os.sep, "~"))
                                      or exists(text.split(os.sep)[0]))
    return "no such file" if LOOKS_LIKE_FILE.search(text) or folder_part else None


def exists(text: str) -> bool:
    """Whether a path is there; an argument too long to be a path (a long text) is not."""
    try:
        return Path(text).exists()
    except OSError:  # File name too long
        return False


def is_folder(item: Any) -> bool:
    try:
        return isinstance(item, (str, Path)) and str(item) != "" and Path(item).is_dir()
    except OSError:
        return False


def expand(inputs: Any) -> list[Any]:
    """The arguments of `zoo predict`: a folder stands for its files, a glob for what it matches."""
    if isinstance(inputs, (str, Path)) or not isinstance(inputs, Iterable):
        inputs = [inputs]
    out: list[Any] = []
    for item in inputs:
        if is_folder(item):
            files = sorted(p for p in Path(item).rglob("*") if p.is_file() and not p.name.startswith("."))
            if not files:
                raise ZooError(f"{item}: an empty folder (no input files in it)")
            out.extend(str(p) for p in files)
        elif isinstance(item, str) and not any(c.isspace() for c in item) and glob.has_magic(item) \
                and not exists(item):
            matched = sorted(glob.glob(item, recursive=True))
            if not matched:
                raise ZooError(f"{item}: matches no file")
            out.extend(p for p in matched if Path(p).is_file())
        else:
            out.append(item)
    return out


def checked_out(out: str | Path | None) -> Path | None:
    """The `--out` folder, refused before any work when it is a file or lies under one."""
    if out is None:
        return None
    out = Path(out)
    for part in (out, *out.parents):
        if part.exists() and not part.is_dir():
            raise ZooError(f"--out {out}: {part} is a file, not a folder")
    return out


def stem_of(name: str, i: int) -> str:
    """The file stem an input's results are written under."""
    stem = Path(name).stem if name and not any(c.isspace() for c in name) and len(name) < 200 else ""
    return stem or f"input-{i}"


# -- building the network without a Trainer ---------------------------------------------------------------
def spec(name: str, kind: str):
    from .plugins import get_registry

    return get_registry().get(name, kind=kind)


def recipe_spec(name: str):
    return spec(name, "recipe")


def task_of(recipe, config, info: dict[str, Any], saved: dict[str, Any]):
    """The recipe's task with the run's task settings."""
    from .build import attach_settings, settings_class
    from .config import task_settings
    from .tasks import get_task

    task = get_task(recipe.task)(config, info)
    attach_settings(task, task_settings(saved, settings_class(recipe), recipe.name), recipe)
    return task


def network(recipe, model_args: dict[str, Any], model_opts: dict[str, Any]):
    """The recipe's network, freshly initialised from the run's model settings."""
    from .build import call_with

    model = spec(recipe.model, "model")
    return call_with(model.load(), model.name, "model", **{**model_args, **model_opts})


def weights_file(folder: Path, which: str = "best") -> Path:
    """A published folder's model.safetensors, or a run's checkpoint (`which`, else the last)."""
    from .training.checkpoint import of_run

    published = folder / WEIGHTS
    if published.is_file():
        return published
    return of_run(folder, which)


def load_weights(model, path: Path) -> None:
    """The weights predictions use into `model`: a published file holds them as they are; a run's checkpoint
    holds the trained weights and, when the run kept one, their moving average (which is used)."""
    from .training.checkpoint import evaluated_weights, load

    if path.name == WEIGHTS:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            weights = load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise ZooError(f"{path}: not a readable safetensors file ({exc})") from None
    else:
        weights = evaluated_weights(load(path))
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise ZooError(f"{path}: weights do not fit this model ({str(exc).splitlines()[0]})") from None
