"""Hyperparameters: the trainer's defaults, a recipe's overrides and a user's `--set key=value`.

A resolved config is one flat dict. Trainer keys are the fields of `TrainConfig`; keys that start
with `model.` or `data.` go to the model and dataset factories and are declared by the recipe.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .errors import PluginError, ZooError


def setting(default: Any, help: str) -> Any:
    """A trainer setting with its one-line help, shown by `zoo info`."""
    return field(default=default, metadata={"help": help})


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
    label_smoothing: float = setting(0.0, "label smoothing for classification, e.g. 0.1")
    logit_adjust: float = setting(0.0, "classification: predict with logits - this x log(training class share), "
                                       "for rare classes (macro-F1); 0 is off")
    mixup: float = setting(0.0, "Beta(alpha, alpha) for mixup; 0 is off")
    cutmix: float = setting(0.0, "Beta(alpha, alpha) for CutMix; 0 is off")
    ema: float = setting(0.0, "decay of the weights' moving average, e.g. 0.999; 0 is off")
    accumulate: int = setting(1, "gradient accumulation: micro-batches per optimizer step")
    progressive_resize: str = setting("", "image scales for the first epochs, then full size, e.g. '0.5,0.75'")
    tta: str = setting("", "test-time views for `zoo eval --tta`, e.g. 'hflip,shift'")
    compile: bool = setting(False, "torch.compile the model")
    channels_last: bool = setting(False, "channels-last memory format for image models")
    grad_stats_every: int = setting(50, "steps between gradient-health samples; 0 is off")
    checkpoint_every: int = setting(0, "steps between mid-epoch checkpoints; 0 writes one per epoch")
    max_steps: int = setting(0, "stop after this many optimizer steps; 0 is no limit")
    eval_limit: int = setting(0, "evaluate on at most this many batches per split; 0 is all (for quick checks)")
    monitor: str = setting("", "metric that picks the best checkpoint; empty uses the task's")
    eval_budget: int = setting(100, "games, episodes or samples of a task's own evaluation (win rate, returns, FID)")
    steps_per_round: int = setting(0, "optimizer steps per round (epoch) of a recipe that generates its data")
    init_from: str = setting("", "start from the weights of this run directory (or checkpoint file)")
    seed: int = setting(0, "seed of every random number generator")
    device: str = setting("auto", "auto | cpu | cuda")
    deterministic: bool = setting(False, "use deterministic algorithms only (slower, bitwise repeatable)")
    num_workers: str = setting("auto", "DataLoader worker processes; auto: 4 (pinned memory) with a CUDA device, "
                                       "0 on CPU, where batches are made in the training process")
    precision: str = setting("auto", "auto | bf16 | fp32: auto is bf16 autocast on a CUDA device that has it, fp32 "
                                     "elsewhere")
    sync_every: int = setting(0, "steps between reads of the loss on the host for the non-finite guard; 0: every "
                                 "step on CPU, every 50 on CUDA (reading waits for the device)")
    threads: int = setting(0, "CPU threads for torch; 0 keeps torch's default (1 helps on a shared machine)")


TRAIN_KEYS = {f.name: f for f in fields(TrainConfig)}
FACTORY_PREFIXES = ("model.", "data.")


def trainer_defaults() -> dict[str, Any]:
    return asdict(TrainConfig())


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
            recipe: str = "recipe", extra: dict[str, Any] | None = None, **explicit: Any) -> dict[str, Any]:
    """Trainer defaults, then the recipe's defaults, then `--set` strings, then explicit options.

    `extra` holds model./data. settings that the recipe does not declare but its factories take, with
    their defaults: `--set` may change those too.
    """
    config = trainer_defaults()
    for key, value in defaults.items():
        if key not in TRAIN_KEYS and not key.startswith(FACTORY_PREFIXES):
            raise PluginError(f"{recipe}: default {key!r} is neither a trainer setting nor model./data.")
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
        if key not in config:
            close = difflib.get_close_matches(key, list(config) + list(extra), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ZooError(f"--set {key}: unknown setting for {recipe}{hint} (see `zoo info {recipe}`)")
        config[key] = parse_value(key, text, config[key])
    config.update({k: v for k, v in explicit.items() if v is not None})
    for key, value in config.items():
        if isinstance(value, float) and not math.isfinite(value):  # NaN is not even valid JSON in config.json
            raise ZooError(f"--set {key}: must be a finite number, got {value}")
        if key in TRAIN_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
            if value < 0:
                raise ZooError(f"--set {key}: must not be negative, got {value}")
    for key in ("epochs", "batch_size", "accumulate", "eval_budget"):
        if config[key] < 1:
            raise ZooError(f"--set {key}: must be at least 1, got {config[key]}")
    return config


def split(config: dict[str, Any]) -> tuple[TrainConfig, dict[str, Any], dict[str, Any]]:
    """The trainer's part, the model factory's part and the dataset factory's part."""
    train = TrainConfig(**{k: v for k, v in config.items() if k in TRAIN_KEYS})
    model = {k[6:]: v for k, v in config.items() if k.startswith("model.")}
    data = {k[5:]: v for k, v in config.items() if k.startswith("data.")}
    return train, model, data


def help_of(key: str) -> str:
    f = TRAIN_KEYS.get(key)
    return f.metadata.get("help", "") if f else ""


# -- ranges of the model./data. settings a factory declares ------------------------------------------------
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
