"""What a dataset factory returns, and the sampling that makes runs reproducible and resumable."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler

from .errors import ZooError


@dataclass
class DataBundle:
    """Splits of one dataset plus what the model, the task and `zoo predict` need to know.

    model_args go to the model factory (e.g. num_classes, in_channels); info (JSON values only) to
    the task and to the dataset's reader, which turns one `zoo predict` argument into a model input.
    Both are stored in the run directory, so a trained model predicts without its training data.
    augment, when given, is applied by the trainer to each training batch of inputs once it is on the
    device: one call per batch (drawing each sample's parameters on its own) instead of one per sample.
    """

    train: Dataset
    valid: Dataset
    test: Dataset | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    collate: Callable | None = None
    augment: Callable | None = None

    def check(self, name: str) -> None:
        for split in ("train", "valid"):
            if len(getattr(self, split)) == 0:
                raise ZooError(f"{name}: the {split} split is empty")


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


class EpochSampler(Sampler[int]):
    """A seeded permutation per epoch, sharded across processes, that can start mid-epoch.

    torch's DistributedSampler cannot skip to a position inside an epoch, which exact resume needs.
    """

    def __init__(self, size: int, seed: int, shuffle: bool = True, rank: int = 0, world: int = 1):
        self.size, self.seed, self.shuffle, self.rank, self.world = size, seed, shuffle, rank, world
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Use epoch's permutation, skipping the first `start` samples of this process's shard."""
        self.epoch, self.start = epoch, start

    def _shard(self) -> list[int]:
        if self.shuffle:
            order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed + self.epoch))
            order = order.tolist()
        else:
            order = list(range(self.size))
        if self.world > 1:  # pad so that every process gets the same number of samples
            per = -(-self.size // self.world)
            order = (order * 2)[: per * self.world]
            order = order[self.rank::self.world]
        return order

    def __iter__(self) -> Iterator[int]:
        return iter(self._shard()[self.start:])

    def __len__(self) -> int:
        return len(self._shard()) - self.start


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
