"""Registry of datasets, models and recipes."""
from .entries import KINDS, DatasetSpec, Entry, ModelSpec, RecipeSpec
from .registry import Registry

__all__ = ["KINDS", "DatasetSpec", "Entry", "ModelSpec", "RecipeSpec", "Registry"]
