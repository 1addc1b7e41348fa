"""Hyperparameters: the trainer's defaults, a recipe's overrides and a user's `--set key=value`.

A resolved config is one flat dict. Each setting belongs to who reads it: trainer keys are the fields of
`TrainConfig`; `task.` keys are the fields of the task's settings (a `TaskSettings` dataclass); keys that start
with `model.` or `data.` go to the model and dataset factories.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .errors import PluginError, ZooError


def setting(default: Any, help: str, allowed: "Range | None" = None) -> Any:
    """A trainer or task setting with its one-line help, shown by `zoo info`, and the values it may take."""
    return field(default=default, metadata={"help": help, "range": allowed})


# -- the values a setting may take ------------------------------------------------
@dataclass(frozen=True)
class Range:
    """The values a factory's numeric setting may take, declared with it:
    `dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.1`."""

    low: float | None = None
    high: float | None = None
    high_open: bool = False

    def check(self, key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        above = self.low is None or value >= self.low
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        if not (above and below):
            raise ZooError(f"--set {key}: must be {self}, got {value}")

    def __str__(self) -> str:
        if self.high is None:
            return f"at least {self.low:g}"
        return f"from {self.low:g} to {self.high:g}{' (not included)' if self.high_open else ''}"


@dataclass
class TrainConfig:
    """Every switch of the shared trainer, with the defaults that suit most recipes."""

    epochs: int = setting(10, "passes over the training data")
    batch_size: int = setting(64, "samples per batch (per process under torchrun)")
    eval_batch_size: int = setting(256, "samples per batch when evaluating")
    lr: float = setting(1e-3, "peak learning rate")
    optimizer: str = setting("adamw", "adamw | sgd")
    momentum: float = setting(0.9, "momentum, for sgd")
    weight_decay: float = setting(0.05, "AdamW/SGD weight decay (not on biases and norms)")
    schedule: str = setting("onecycle", "onecycle | cosine | constant")
    warmup: float = setting(0.25, "fraction of steps spent warming up (one-cycle pct_start)")
    grad_clip: float = setting(1.0, "max global gradient norm; 0 turns clipping off")
    mixup: float = setting(0.0, "Beta(alpha, alpha) for mixup; 0 is off")
    cutmix: float = setting(0.0, "Beta(alpha, alpha) for CutMix; 0 is off")
    ema: float = setting(0.0, "decay of the weights' moving average, e.g. 0.999; 0 is off")
    accumulate: int = setting(1, "gradient accumulation: micro-batches per optimizer step")
    progressive_resize: str = setting("", "image scales for the first epochs, then full size, e.g. '0.5,0.75'")
    compile: bool = setting(False, "torch.compile the model")
    channels_last: bool = setting(False, "channels-last memory format for image models")
    grad_stats_every: int = setting(50, "steps between gradient-health samples; 0 is off")
    checkpoint_every: int = setting(0, "steps between mid-epoch checkpoints; 0 writes one per epoch")
    max_steps: int = setting(0, "stop after this many optimizer steps; 0 is no limit")
    eval_limit: int = setting(0, "evaluate on at most this many batches per split; 0 is all (for quick checks)")
    monitor: str = setting("", "metric that picks the best checkpoint; empty uses the task's")
    init_from: str = setting("", "start from the weights of this run directory (or checkpoint file)")
    seed: int = setting(0, "seed of every random number generator")
    device: str = setting("auto", "auto | cpu | cuda")
    deterministic: bool = setting(False, "use deterministic algorithms only (slower, bitwise repeatable)")
    num_workers: str = setting("auto", "DataLoader worker processes; auto: 4 (pinned memory) with a CUDA device, "
                                       "0 on CPU, where batches are made in the training process")
    precision: str = setting("auto", "auto | bf16 | fp32: auto is bf16 autocast on a CUDA device that has it, fp32 "
                                     "elsewhere; bf16 is also honoured on a CPU with native bf16 (AVX512-BF16/AMX)")
    sync_every: int = setting(0, "steps between reads of the loss on the host for the non-finite guard; 0: every "
                                 "step on CPU, every 50 on CUDA (reading waits for the device)")
    threads: int = setting(0, "CPU threads for torch; 0 keeps torch's default (1 helps on a shared machine)")


@dataclass
class TaskSettings:
    """What every task takes. A task that reads more declares a subclass, in a module that does not import torch
    (`zoo info` shows it), and the recipe names it (`RecipeSpec.task_settings`)."""

    tta: str = setting("", "test-time views averaged by `zoo eval --tta` and `zoo predict --tta`, e.g. 'hflip,shift'")


@dataclass
class LabelSettings(TaskSettings):
    """A task whose targets are labels (classes, tokens, yes/no)."""

    label_smoothing: float = setting(0.0, "label smoothing, e.g. 0.1", Range(0, 1, high_open=True))


@dataclass
class ClassifierSettings(LabelSettings):
    """A classifier's settings."""

    logit_adjust: float = setting(0.0, "predict with logits - this x log(training class share), for rare classes "
                                       "(macro-F1); 0 is off", Range(0))


@dataclass
class EvaluatedSettings(TaskSettings):
    """A task judged by its own evaluation (games played, episodes rolled out, samples drawn)."""

    eval_budget: int = setting(100, "games, episodes or samples of the task's own evaluation (win rate, returns, "
                                    "FID)", Range(1))


@dataclass
class RoundSettings(TaskSettings):
    """A task whose recipe makes its own data, round by round (self-play, DAgger, engine labelling)."""

    steps_per_round: int = setting(0, "optimizer steps per round (epoch) of a recipe that generates its data",
                                   Range(0))


# the settings of the core's tasks, by the names recipes use for them (zoo.tasks.BUILTIN)
BUILTIN_TASK_SETTINGS: dict[str, type[TaskSettings]] = {
    "classification": ClassifierSettings, "binary": LabelSettings, "regression": TaskSettings}
# keys that were trainer settings before the task owned them: a one-line error names the new key
MOVED = {name: f"task.{name}" for name in ("tta", "label_smoothing", "logit_adjust", "eval_budget", "steps_per_round")}

TRAIN_KEYS = {f.name: f for f in fields(TrainConfig)}
FACTORY_PREFIXES = ("model.", "data.", "task.")


def trainer_defaults() -> dict[str, Any]:
    return asdict(TrainConfig())


def task_defaults(kind: type[TaskSettings]) -> dict[str, Any]:
    """The settings of a task, as `task.` keys with their defaults."""
    return {f"task.{name}": value for name, value in asdict(kind()).items()}


def upgrade(config: dict[str, Any]) -> dict[str, Any]:
    """A config saved before the task owned its settings, with those keys under `task.`; a key at the trainer's
    old default says nothing and is dropped (the task may not take it, and its own default is the same)."""
    # the trainer's old defaults are the settings classes' defaults: one source for both
    old_defaults = {f.name: f.default for kind in (ClassifierSettings, EvaluatedSettings, RoundSettings)
                    for f in fields(kind)}
    return {MOVED.get(key, key): value for key, value in config.items()
            if not (key in MOVED and value == old_defaults[key])}


def parse_value(key: str, text: str, like: Any) -> Any:
    """Turn `text` into the type of `like`, or raise an error that names `key`."""
    if isinstance(like, bool):
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ZooError(f"--set {key}: expected true or false, got {text!r}")
    for kind in (int, float):
        if isinstance(like, kind):
            try:
                return kind(text)
            except ValueError:
                raise ZooError(f"--set {key}: expected {kind.__name__}, got {text!r}") from None
    return text


def parse_sets(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ZooError(f"--set {item!r}: expected key=value")
        out[key.strip()] = value.strip()
    return out


def resolve(defaults: dict[str, Any], sets: dict[str, str] | None = None,
            recipe: str = "recipe", extra: dict[str, Any] | None = None, task_defaults: dict[str, Any] | None = None,
            **explicit: Any) -> dict[str, Any]:
    """Trainer defaults and the task's (`task.` keys), then the recipe's defaults, then `--set` strings, then
    explicit options.

    `extra` holds model./data. settings that the recipe does not declare but its factories take, with
    their defaults: `--set` may change those too.
    """
    config = trainer_defaults()
    config.update(task_defaults or {})
    for key, value in defaults.items():
        if key in MOVED:
            raise PluginError(f"{recipe}: default {key!r} is now {MOVED[key]!r} (a setting of the task)")
        if key not in TRAIN_KEYS and not key.startswith(FACTORY_PREFIXES):
            raise PluginError(f"{recipe}: default {key!r} is neither a trainer setting nor model./data./task.")
        config[key] = value
    return override(config, sets, recipe, extra, **explicit)


def override(config: dict[str, Any], sets: dict[str, str] | None = None, recipe: str = "recipe",
             extra: dict[str, Any] | None = None, **explicit: Any) -> dict[str, Any]:
    """A copy of a resolved config with `--set` strings and explicit options applied, then checked."""
    config = dict(config)
    extra = {k: v for k, v in (extra or {}).items() if k not in config}
    for key, text in (sets or {}).items():
        if key not in config and key in extra:  # a factory setting the recipe leaves at its default
            config[key] = parse_value(key, text, extra[key])
            continue
        if key in MOVED and key not in config:
            raise ZooError(f"--set {key}: this setting is now {MOVED[key]} (see `zoo info {recipe}`)")
        if key not in config:
            close = difflib.get_close_matches(key, list(config) + list(extra), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            if key.startswith("task.") and not close:
                hint = "; its task's settings are " + (", ".join(k for k in config if k.startswith("task.")) or "none")
            raise ZooError(f"--set {key}: unknown setting for {recipe}{hint} (see `zoo info {recipe}`)")
        config[key] = parse_value(key, text, config[key])
    config.update({k: v for k, v in explicit.items() if v is not None})
    for key, value in config.items():
        if isinstance(value, float) and not math.isfinite(value):  # NaN is not even valid JSON in config.json
            raise ZooError(f"--set {key}: must be a finite number, got {value}")
        if key in TRAIN_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
            if value < 0:
                raise ZooError(f"--set {key}: must not be negative, got {value}")
    for key in ("epochs", "batch_size", "accumulate"):
        if config[key] < 1:
            raise ZooError(f"--set {key}: must be at least 1, got {config[key]}")
    return config


def split(config: dict[str, Any]) -> tuple[TrainConfig, dict[str, Any], dict[str, Any]]:
    """The trainer's part, the model factory's part and the dataset factory's part."""
    train = TrainConfig(**{k: v for k, v in config.items() if k in TRAIN_KEYS})
    model = {k[6:]: v for k, v in config.items() if k.startswith("model.")}
    data = {k[5:]: v for k, v in config.items() if k.startswith("data.")}
    return train, model, data


def task_settings(config: dict[str, Any], kind: type[TaskSettings], recipe: str = "recipe") -> TaskSettings:
    """The task's settings from a resolved config's `task.` keys, each checked against its declared range."""
    declared = {f.name: f for f in fields(kind)}
    values = {}
    for key, value in config.items():
        if not key.startswith("task."):
            continue
        name = key[5:]
        if name not in declared:
            raise ZooError(f"--set {key}: the task of {recipe} has no such setting; its task.* settings are "
                           f"{', '.join(declared) or 'none'}")
        allowed = declared[name].metadata.get("range")
        if allowed is not None:
            allowed.check(key, value)
        values[name] = value
    return kind(**values)


def help_of(key: str, kind: type[TaskSettings] = TaskSettings) -> str:
    """The one-line help of a trainer setting, or of a task setting (`task.NAME`) of the settings `kind`."""
    if key.startswith("task."):
        f = {f.name: f for f in fields(kind)}.get(key[5:])
    else:
        f = TRAIN_KEYS.get(key)
    return f.metadata.get("help", "") if f else ""


# Settings whose name fixes their range wherever a factory declares them, unless it declares a Range itself.
CONVENTIONS: tuple[tuple[re.Pattern[str], Range], ...] = (
    (re.compile(r"(^|_)(dropout|drop_rate|drop_path_rate|mask_prob|p)$"), Range(0, 1, high_open=True)),
    (re.compile(r"^(kernel|kernel_size|size|image_size|window|num_beams|heads|filters|embed|dim|hidden|depth|"
                r"stride|max_length|per_class|patch|patch_size)$"), Range(1)),
    (re.compile(r"^sigma(_\w+)?$"), Range(0)),
)


def check_factory_settings(factory: Any, prefix: str, values: dict[str, Any]) -> None:
    """Refuse a model./data. value outside its declared range (or its name's), before the factory runs."""
    import typing

    try:
        hints = typing.get_type_hints(factory, include_extras=True)
    except Exception:  # noqa: BLE001 - annotations that do not evaluate declare no range
        hints = {}
    for name, value in values.items():
        declared = [m for m in getattr(hints.get(name), "__metadata__", ()) if isinstance(m, Range)]
        ranges = declared or [r for pattern, r in CONVENTIONS if pattern.search(name)]
        for allowed in ranges[:1]:
            allowed.check(f"{prefix}.{name}", value)


# -- what a factory's settings are, read from its source without importing it (zoo info imports no torch) ----
def factory_help(path: str) -> dict[str, tuple[Any, str]]:
    """The keyword settings of the factory at 'module:function' with their defaults and a help line: the sentence
    of its docstring that names the setting, else its declared range. Empty when the source cannot be read."""
    import ast
    import importlib.util

    module, _, name = path.partition(":")
    try:
        spec = importlib.util.find_spec(module)
        tree = ast.parse(open(spec.origin, encoding="utf-8").read())  # type: ignore[union-attr, arg-type]
    except Exception:  # noqa: BLE001 - no help is shown for a factory whose source is not at hand
        return {}
    found = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if found is None:
        return {}
    sentences = re.split(r"(?<=[.;])\s+", " ".join((ast.get_docstring(found) or "").split()))
    args = found.args
    pairs = list(zip(args.args[len(args.args) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    out: dict[str, tuple[Any, str]] = {}
    for arg, default in pairs:
        if arg.arg in ("data", "seed"):
            continue
        try:
            value = ast.literal_eval(default)
        except ValueError:
            value = ast.unparse(default)
        said = next((s for s in sentences if re.search(rf"`{arg.arg}`|\b{arg.arg}\b", s)), "")
        allowed = next((str(r) for pattern, r in CONVENTIONS if pattern.search(arg.arg)), "")
        if arg.annotation is not None and "Range(" in ast.unparse(arg.annotation):
            allowed = ast.unparse(arg.annotation).partition("Range(")[2].rstrip(")]")
            allowed = f"range ({allowed})"
        out[arg.arg] = (value, said or allowed)
    return out
