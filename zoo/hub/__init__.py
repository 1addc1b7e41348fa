"""Trained models on the Hugging Face Hub: `zoo publish` writes a model folder and uploads it, `zoo pull` and
`zoo.load("hf://ORG/NAME@REVISION")` bring one back, checked file by file against its `zoo.json`.

A published model folder holds `model.safetensors` (the weights `zoo eval` uses), `config.json` (the run's
resolved recipe, read by zoo.rundir.read_config like a run's), `README.md` (the model card, with the Hub's
YAML front matter) and `zoo.json` (what zoo checks before loading anything: the recipe, the zoo and plugin
versions that made it and the range that can load it, the sha256 and size of every other file, the test
metrics). Nothing in it is a pickle.

Importing this package is light: huggingface_hub is imported only to talk to a Hub (the extra `zoo[hub]`).
"""
from __future__ import annotations

from pathlib import Path

SCHEME = "hf://"
MANIFEST = "zoo.json"


def is_uri(path_or_uri: object) -> bool:
    return isinstance(path_or_uri, str) and path_or_uri.startswith(SCHEME)


def resolve(path_or_uri: str | Path) -> Path:
    """The local folder a run directory, a published model folder or `hf://ORG/NAME[@REVISION]` stands for.

    `hf://...` is fetched (or found in the Hub cache) and a published folder is checked before anything is
    loaded from it: every file against zoo.json's sha256 and size, the plugin against the versions that can
    load it. A run directory is returned as it is.
    """
    if is_uri(path_or_uri):
        from .pull import fetch

        return fetch(str(path_or_uri))
    folder = Path(path_or_uri)
    if (folder / MANIFEST).is_file():
        from .manifest import check

        check(folder, str(path_or_uri))
    return folder


__all__ = ["MANIFEST", "SCHEME", "is_uri", "resolve"]
