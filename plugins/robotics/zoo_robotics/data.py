"""Datasets of rendered RGB-D tabletop scenes labelled with the object's grasp point.

Items are (4 x H x W float tensor: RGB in [0, 1] and depth; target: the grasp point in cm, then the scene's
difficulty). Depth enters the network as metres from 0.75 m, times 5 (0 where the sensor gave no reading).
Each scene is rendered on first use and cached by (split, size, index); each split is its own series, so the
test scenes are fixed.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.data import DataBundle
from zoo.paths import cache_dir

from . import scenes

SPLIT_SEEDS = {"train": 1, "valid": 2, "test": 3}
TARGET_NAMES = ["x_cm", "y_cm", "z_cm"]


def to_input(rgb: np.ndarray, depth: np.ndarray) -> torch.Tensor:
    """One scene as the network reads it: 4 x H x W."""
    colour = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 255
    reading = torch.from_numpy(np.ascontiguousarray(depth, dtype=np.float32))
    return torch.cat([colour, torch.where(reading > 0, (reading - 0.75) * 5, 0.0)[None]])


class Scenes(Dataset):
    """Scenes `index` of one split's series, each rendered on first use and cached (written atomically)."""

    def __init__(self, split: str, count: int, size: int):
        self.split, self.count, self.size = split, count, size
        self.folder = cache_dir("robotics", "scenes-v2", f"{split}-{size}")  # v2: objects scaled 0.6-0.9

    def __len__(self) -> int:
        return self.count

    def scene(self, i: int) -> dict[str, np.ndarray]:
        """rgb, depth, grasp (metres), difficulty (index into DIFFICULTIES), view, projection."""
        path = self.folder / f"{i:05d}.npz"
        if path.is_file():
            with np.load(path) as data:
                return {k: data[k] for k in data.files}
        s = scenes.render_scene(SPLIT_SEEDS[self.split], i, self.size)
        arrays = {"rgb": s.rgb, "depth": s.depth, "grasp": s.grasp, "view": s.view, "projection": s.projection,
                  "difficulty": np.array(scenes.DIFFICULTIES.index(s.difficulty))}
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
        return arrays

    def __getitem__(self, i: int):
        """The network's input, and the target: the grasp point in cm and, fourth, the scene's difficulty (which
        the task leaves out of the loss and uses to report errors by look)."""
        s = self.scene(i)
        target = np.append(s["grasp"] * 100, float(s["difficulty"])).astype(np.float32)
        return to_input(s["rgb"], s["depth"]), torch.from_numpy(target)


def tabletop_scenes(data: str | None = None, seed: int = 0, train: int = 2000, valid: int = 250, test: int = 500,
                    size: int = 96) -> DataBundle:
    """robotics/tabletop-scenes: rendered scenes (the run's seed does not change them: the splits are fixed)."""
    if data is not None:
        raise ZooError("robotics/tabletop-scenes has no --data: its scenes are rendered (set data.train, "
                       "data.valid, data.test, data.size)")
    if min(train, valid, test) < 1:
        raise ZooError(f"data.train, data.valid and data.test must each be at least 1 (got {train}, {valid}, {test})")
    splits = {name: Scenes(name, n, size) for name, n in (("train", train), ("valid", valid), ("test", test))}
    return DataBundle(train=splits["train"], valid=splits["valid"], test=splits["test"],
                      model_args={"in_chans": 4, "num_outputs": 3},
                      info={"target_dims": 3, "target_names": TARGET_NAMES, "size": size,
                            "difficulties": list(scenes.DIFFICULTIES)})


def read_scene(path: str, info: dict[str, Any]) -> torch.Tensor:
    """A `zoo predict` input: an .npz with 'rgb' (H x W x 3, 0-255) and 'depth' (H x W metres), or an RGB image
    with its depth beside it as STEM.depth.npy; resized to the run's size."""
    file = Path(path)
    if not file.is_file():
        raise ZooError(f"zoo predict: {path}: no such file")
    if file.suffix == ".npz":
        with np.load(file) as data:
            missing = {"rgb", "depth"} - set(data.files)
            if missing:
                raise ZooError(f"{path}: no {', '.join(sorted(missing))} array (an .npz needs 'rgb' and 'depth')")
            rgb, depth = data["rgb"], data["depth"]
    else:
        from PIL import Image, UnidentifiedImageError

        try:
            rgb = np.asarray(Image.open(file).convert("RGB"))
        except (UnidentifiedImageError, OSError):
            raise ZooError(f"{path}: not an image (give a PNG/JPEG with STEM.depth.npy beside it, or an .npz)") \
                from None
        depth_file = file.with_name(f"{file.stem}.depth.npy")
        if not depth_file.is_file():
            raise ZooError(f"{path}: no depth beside it ({depth_file.name}: metres, H x W)")
        depth = np.load(depth_file, allow_pickle=False)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or depth.shape != rgb.shape[:2]:
        raise ZooError(f"{path}: rgb {rgb.shape} and depth {depth.shape} must be H x W x 3 and H x W")
    x = to_input(rgb.astype(np.uint8), np.nan_to_num(depth.astype(np.float32)))
    size = int(info["size"])
    if x.shape[1:] != (size, size):
        x = torch.nn.functional.interpolate(x[None], size=(size, size), mode="nearest")[0]
    return x

