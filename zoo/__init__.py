"""zoo: a model zoo for applied deep learning. One registry, one trainer, a plugin per field.

Importing zoo is light: torch is imported only by the parts that train, evaluate or predict.
"""
from __future__ import annotations

from .version import __version__

from .errors import DataMissing, PluginError, ZooError
from .plugins import get_registry, hookimpl
from .registry import DatasetSpec, ModelSpec, RecipeSpec, Registry

__all__ = [
    "DataMissing", "DatasetSpec", "ModelSpec", "PluginError", "RecipeSpec", "Registry", "ZooError",
    "Trainer", "TrainConfig", "DataBundle", "get_registry", "hookimpl", "load", "train", "__version__",
]


def train(name: str, data: str | None = None, *, epochs: int | None = None, sets: dict | None = None,
          out: str | None = None, resume: str | None = None, seed: int | None = None, device: str | None = None):
    """Train recipe `name` as `zoo train` does and return the run, ready to predict and evaluate (see `load`).

    `sets` holds any settings by key, as `--set` does: {"lr": 3e-3, "data.image_size": 8}.
    """
    from .reopen import load
    from .runs import train as train_run

    settings = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in (sets or {}).items()}
    run_dir = train_run(name, data=data, sets=settings, out=out, resume=resume, epochs=epochs, seed=seed,
                        device=device)
    return load(run_dir)


def __getattr__(name: str):  # heavy names are imported on first use only
    if name == "Trainer":
        from .training.trainer import Trainer
        return Trainer
    if name == "TrainConfig":
        from .config import TrainConfig
        return TrainConfig
    if name == "load":
        from .reopen import load
        return load
    if name == "DataBundle":
        from .data import DataBundle
        return DataBundle
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
