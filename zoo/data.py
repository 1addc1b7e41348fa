"""What a dataset factory returns, and the sampling that makes runs reproducible and resumable."""
from __future__ import annotations

import gzip
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, Sampler

from .errors import ZooError


@dataclass
class DataBundle:
    """Splits of one dataset plus what the model, the task and `zoo predict` need to know.

    model_args go to the model factory (e.g. num_classes, in_channels); info (JSON values only) to
    the task and to the dataset's reader, which turns one `zoo predict` argument into a model input.
    Both are stored in the run directory, so a trained model predicts without its training data.
    augment, when given, is applied by the trainer to each training batch once it is on the device, as
    `x, y = augment(x, y)`: one call per batch (drawing each sample's parameters on its own) instead of one
    per sample, and free to move the targets with the inputs (a flipped image's mask, a masked token's label).
    generator, when given, makes the training data during training (self-play, DAgger, engine labels):
    a round before each epoch, with the current model; `train` is then unused and may be None.
    lengths, when given, holds the size of each training item (audio samples, tokens): each training batch is
    then drawn from items of similar size, so that little of it is padding.
    """

    train: Dataset | None
    valid: Dataset | None
    test: Dataset | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    collate: Callable | None = None
    augment: Callable | None = None
    generator: DataGenerator | None = None
    lengths: Sequence[int] | None = None

    def check(self, name: str) -> None:
        if self.generator is None and (self.train is None or len(self.train) == 0):
            raise ZooError(f"{name}: the train split is empty")
        if self.valid is not None and len(self.valid) == 0:
            raise ZooError(f"{name}: the valid split is empty")
        if self.valid is None and self.generator is None:
            raise ZooError(f"{name}: the valid split is missing (only a recipe that generates its data may go without)")


class DataGenerator:
    """Training data a recipe makes while it trains: one round before each epoch, with the current model.

    `generate` adds the round's samples (self-play games into a replay buffer, a learner's rollouts labelled
    by an expert, positions labelled by an engine); `dataset` is what the round's steps sample from.
    `state_dict` holds everything generation depends on (buffer, RNG, round) as tensors and JSON values: it
    goes into every checkpoint, so a resumed run regenerates nothing and then ends equal to an uninterrupted
    one. Draw randomness from a generator of your own, seeded by the run's seed and kept in the state.
    Under torchrun only rank 0 generates; the other processes receive its state (see Trainer.generate).
    """

    def generate(self, model: nn.Module, round: int, device: torch.device) -> None:
        raise NotImplementedError

    def dataset(self) -> Dataset:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError


class ReplayBuffer(Dataset):
    """The newest `capacity` (x, y) samples, stored as stacked tensors (x and y: tensors or dicts of them)."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ZooError(f"replay buffer capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.x: Any = None
        self.y: Any = None

    def add(self, x: Any, y: Any) -> None:
        """Append a batch of samples, dropping the oldest beyond capacity."""
        keep = lambda old, new: new[-self.capacity:] if old is None else torch.cat([old, new])[-self.capacity:]  # noqa: E731
        self.x, self.y = _zip_map(keep, self.x, x), _zip_map(keep, self.y, y)

    def __len__(self) -> int:
        return 0 if self.x is None else batch_size_of(self.x)

    def __getitem__(self, i: int):
        return _zip_map(lambda _, t: t[i], None, self.x), _zip_map(lambda _, t: t[i], None, self.y)

    def state_dict(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.x, self.y = state["x"], state["y"]


def _zip_map(fn: Callable, old: Any, new: Any) -> Any:
    if isinstance(new, dict):
        return {k: fn(None if old is None else old[k], v) for k, v in new.items()}
    return fn(old, new)


def batch_size_of(batch: Any) -> int:
    """How many samples a batch holds: the first dimension of its first tensor, however nested."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else 1
    values = batch.values() if isinstance(batch, dict) else batch if isinstance(batch, (list, tuple)) else ()
    for value in values:
        n = batch_size_of(value)
        if n:
            return n
    return 0


def split_indices(n: int, fractions: Sequence[float], seed: int) -> list[list[int]]:
    """Shuffle 0..n-1 with a fixed seed and cut it into parts of the given fractions (last takes the rest)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    parts, start = [], 0
    for frac in fractions[:-1]:
        size = int(round(n * frac))
        parts.append(order[start:start + size])
        start += size
    parts.append(order[start:])
    return parts


def stratified_split(labels: Sequence[int], fractions: Sequence[float], seed: int) -> list[list[int]]:
    """Like split_indices, but each class is cut in the same proportions."""
    by_class: dict[int, list[int]] = {}
    for i, y in enumerate(labels):
        by_class.setdefault(int(y), []).append(i)
    parts: list[list[int]] = [[] for _ in fractions]
    for c, idx in sorted(by_class.items()):
        for k, chunk in enumerate(split_indices(len(idx), fractions, seed + c)):
            parts[k].extend(idx[i] for i in chunk)
    return [sorted(p) for p in parts]


def grouped_split(groups: Sequence[Any], fractions: Sequence[float], seed: int,
                  sizes: Sequence[float] | None = None) -> list[list[int]]:
    """Like split_indices, but every sample of a group (a patient, a game, a protein) lands in the same part.

    Groups are shuffled with a fixed seed and each goes to the part furthest below its share of the total size
    (`sizes`: one per sample, e.g. a protein's residues; 1 each by default). Once only as many groups are left as
    parts are empty, they go to the empty parts, so no part is left empty that could have had a group.
    """
    members: dict[Any, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    weight = [1.0] * len(groups) if sizes is None else [float(s) for s in sizes]
    if len(weight) != len(groups):
        raise ValueError(f"grouped_split: {len(weight)} sizes for {len(groups)} samples")
    keys = list(members)
    order = torch.randperm(len(keys), generator=torch.Generator().manual_seed(seed)).tolist()
    targets = [f * sum(weight) for f in fractions]
    filled = [0.0] * len(fractions)
    parts: list[list[int]] = [[] for _ in fractions]
    for done, k in enumerate(order):
        left = len(order) - done
        gap = [t - f for t, f in zip(targets, filled)]
        empty = [j for j, p in enumerate(parts) if not p]
        choices = empty if 0 < len(empty) >= left else range(len(parts))
        part = max(choices, key=lambda j: (gap[j], -j))
        parts[part].extend(members[keys[k]])
        filled[part] += sum(weight[i] for i in members[keys[k]])
    return [sorted(p) for p in parts]


# -- IDX files (MNIST, Fashion-MNIST) --------------------------------------------------------------
def idx_file(folder: Path, stem: str) -> Path:
    """`stem`.gz or `stem` in `folder` (the standard names, e.g. train-images-idx3-ubyte)."""
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise ZooError(f"{folder}: missing {stem}.gz (the standard file names of (Fashion-)MNIST)")


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (gzipped or not), the format of MNIST and Fashion-MNIST."""
    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as fh:
            raw = fh.read()
        zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype != 0x08:
            raise ValueError("not an unsigned-byte IDX file")
        shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)
    except (OSError, EOFError, ValueError, struct.error) as exc:
        raise ZooError(f"{path}: not a readable IDX file ({exc})") from None


class EpochSampler(Sampler[int]):
    """A seeded permutation per epoch, sharded across processes, that can start mid-epoch.

    `length` samples per process and epoch (default: the dataset split evenly) repeats the permutation as
    needed, so a round of generated data gets the fixed number of steps the schedule was planned with.
    torch's DistributedSampler cannot skip to a position inside an epoch, which exact resume needs.
    With `sizes` (one per item) and `batch`, each run of `batch` x processes samples is of similar size: the
    permutation is cut into pools of 50 batches, each pool sorted by size, and the batches shuffled again.
    """

    def __init__(self, size: int, seed: int, shuffle: bool = True, rank: int = 0, world: int = 1,
                 length: int | None = None, sizes: Sequence[int] | None = None, batch: int = 1):
        self.size, self.seed, self.shuffle, self.rank, self.world = size, seed, shuffle, rank, world
        self.length = length if length is not None else -(-size // world)
        self.sizes, self.batch = sizes, batch
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Use epoch's permutation, skipping the first `start` samples of this process's shard."""
        self.epoch, self.start = epoch, start

    def _shard(self) -> list[int]:
        order: list[int] = []
        repeat = 0
        while len(order) < self.length * self.world:
            if self.shuffle:
                seed = self.seed + self.epoch + 7919 * repeat  # repeat 0 is the permutation of old
                order += torch.randperm(self.size, generator=torch.Generator().manual_seed(seed)).tolist()
            else:
                order += list(range(self.size))
            repeat += 1
        order = order[: self.length * self.world]  # pad so that every process gets the same number
        if self.sizes is not None and self.shuffle:
            order = self._grouped(order)
        return order[self.rank::self.world]

    def _grouped(self, order: list[int]) -> list[int]:
        step = self.batch * self.world  # one batch of every process
        pool = step * 50
        runs = []
        for start in range(0, len(order), pool):
            ranked = sorted(order[start:start + pool], key=lambda i: self.sizes[i])
            runs += [ranked[i:i + step] for i in range(0, len(ranked), step)]
        shuffled = torch.randperm(len(runs), generator=torch.Generator().manual_seed(self.seed + self.epoch + 1))
        ranked_runs = sorted((runs[r] for r in shuffled.tolist()), key=lambda run: len(run) < step)  # short last
        return [i for run in ranked_runs for i in run]

    def __iter__(self) -> Iterator[int]:
        return iter(self._shard()[self.start:])

    def __len__(self) -> int:
        return self.length - self.start


def class_counts(labels: Sequence[int], indices: Sequence[int], num_classes: int) -> list[int]:
    """How many of the given (training) examples each class has: `info['class_counts']`, for logit_adjust."""
    counts = [0] * num_classes
    for i in indices:
        counts[int(labels[i])] += 1
    return counts


def to_device(batch: Any, device: torch.device) -> Any:
    """Move tensors inside nested tuples, lists and dicts to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


class TensorPairs(Dataset):
    """(x, y) pairs from two tensors, with an optional per-sample transform on x (augmentation)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform: Callable | None = None):
        if len(x) != len(y):
            raise ZooError(f"inputs ({len(x)}) and labels ({len(y)}) differ in length")
        self.x, self.y, self.transform = x, y, transform

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        x = self.x[i]
        if self.transform is not None:
            x = self.transform(x)
        return x, self.y[i]
