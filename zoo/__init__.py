"""zoo: a model zoo for applied deep learning. One registry, one trainer, a plugin per field.

Importing zoo is light: torch is imported only by the parts that train, evaluate or predict.
"""
__version__ = "0.1.0"

from .errors import DataMissing, PluginError, ZooError
from .plugins import get_registry, hookimpl
from .registry import DatasetSpec, ModelSpec, RecipeSpec, Registry

__all__ = [
    "DataMissing", "DatasetSpec", "ModelSpec", "PluginError", "RecipeSpec", "Registry", "ZooError",
    "Trainer", "TrainConfig", "DataBundle", "get_registry", "hookimpl", "load", "__version__",
]


def __getattr__(name: str):  # heavy names are imported on first use only
    if name == "Trainer":
        from .train.trainer import Trainer
        return Trainer
    if name == "TrainConfig":
        from .config import TrainConfig
        return TrainConfig
    if name == "load":
        from .runs import load
        return load
    if name == "DataBundle":
        from .data import DataBundle
        return DataBundle
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
