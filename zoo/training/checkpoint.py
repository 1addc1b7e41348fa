"""Checkpoints as one safetensors file: tensors by path, everything else as JSON in its metadata.

Loading never unpickles: a checkpoint holds only tensors and JSON. Writing is atomic
(temporary file, fsync, rename), so a run killed at any moment leaves the previous file intact.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import ZooError

_TENSOR = "__tensor__"


def flatten(state: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor in nested dicts/lists by a reference, collecting tensors by path."""
    if isinstance(state, torch.Tensor):
        key = prefix or "tensor"
        tensors[key] = state.detach().to("cpu").contiguous().clone()
        return {_TENSOR: key}
    if isinstance(state, dict):
        out = {}
        for k, v in state.items():
            out[str(k)] = flatten(v, f"{prefix}/{k}", tensors)
        # JSON keys are strings; remember which were ints (optimizer states are keyed by int)
        if state and all(isinstance(k, int) for k in state):
            out["__intkeys__"] = True
        return out
    if isinstance(state, tuple):
        return {"__tuple__": [flatten(v, f"{prefix}/{i}", tensors) for i, v in enumerate(state)]}
    if isinstance(state, list):
        return [flatten(v, f"{prefix}/{i}", tensors) for i, v in enumerate(state)]
    if isinstance(state, float) and (state != state or state in (float("inf"), float("-inf"))):
        return {"__float__": repr(state)}
    if state is None or isinstance(state, (bool, int, float, str)):
        return state
    raise TypeError(f"cannot store {type(state).__name__} at {prefix!r} in a checkpoint")


def unflatten(state: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(state, dict):
        if _TENSOR in state:
            return tensors[state[_TENSOR]]
        if "__tuple__" in state:
            return tuple(unflatten(v, tensors) for v in state["__tuple__"])
        if "__float__" in state:
            return float(state["__float__"])
        intkeys = state.get("__intkeys__")
        return {(int(k) if intkeys else k): unflatten(v, tensors)
                for k, v in state.items() if k != "__intkeys__"}
    if isinstance(state, list):
        return [unflatten(v, tensors) for v in state]
    return state


def save(path: str | Path, state: dict[str, Any]) -> None:
    """Write `state` (nested dicts of tensors and JSON values) atomically to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    tree = flatten(state, "", tensors)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"zoo": json.dumps(tree)})
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_partial(folder: Path) -> list[Path]:
    """Delete the temporary files that writes cut short by a kill left in a checkpoint folder."""
    found = sorted(Path(folder).glob(".*.safetensors.*")) if Path(folder).is_dir() else []
    for path in found:
        path.unlink(missing_ok=True)
    return found


def load(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by `save`; a damaged file gets an error that names it."""
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"{path}: no such checkpoint")
    try:
        from safetensors import safe_open
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        tensors = load_file(str(path))
        tree = json.loads(meta["zoo"])
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        raise ZooError(f"{path}: not a readable zoo checkpoint ({exc})") from None
    return unflatten(tree, tensors)


def of_run(source: str | Path, which: str = "best") -> Path:
    """The checkpoint a run directory offers (`which`, else last), or `source` itself when it is a file."""
    source = Path(source)
    if source.is_file():
        return source
    folder = source / "checkpoints"
    for name in (which, "last"):
        if (folder / f"{name}.safetensors").is_file():
            return folder / f"{name}.safetensors"
    raise ZooError(f"{source}: not a run directory with checkpoints (no {folder}/{which}.safetensors)")


def evaluated_weights(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The weights a run evaluated: its moving average when it kept one, else the trained weights."""
    ema = state.get("ema")
    if ema:
        return {k.removeprefix("module."): v for k, v in ema.items() if k.startswith("module.")}
    return state["model"]
