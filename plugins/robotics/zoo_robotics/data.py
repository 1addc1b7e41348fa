"""Dataset factories: rendered RGB-D tabletop scenes labelled with the object's grasp point, and Reacher
demonstrations made while training (zoo_robotics.reacher).

Scenes: items are (4 x H x W float tensor: RGB in [0, 1] and depth; target: the grasp point in cm, then the scene's
difficulty, then with data.yaws whether a grasp there lifts the object at each of grasping.YAWS). Depth enters
the network as metres from 0.75 m, times 5 (0 where the sensor gave no reading).
Each scene is rendered on first use and cached by (split, size, index); each split is its own series, so the
test scenes are fixed.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from zoo import ZooError
from zoo.data import DataBundle
from zoo.paths import cache_dir

from . import scenes

SPLIT_SEEDS = {"train": 1, "valid": 2, "test": 3}
TARGET_NAMES = ["x_cm", "y_cm", "z_cm"]
IMAGE_SCALE = 33.0  # cm across half the image at the tray's distance: image targets weigh about as cm do
DEPTH_ORIGIN = 0.75  # m: depth enters the network (and image targets) as cm from here
DEPTH_GAIN = 5.0  # the depth channel is (metres - DEPTH_ORIGIN) x this
LIFTS = "lifts_v2"  # the cache key of the yaw labels; v2: the fingertips clear the tray floor (v1 dragged on it)


def to_input(rgb: np.ndarray, depth: np.ndarray) -> torch.Tensor:
    """One scene as the network reads it: 4 x H x W."""
    colour = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 255
    reading = torch.from_numpy(np.ascontiguousarray(depth, dtype=np.float32))
    return torch.cat([colour, torch.where(reading > 0, (reading - DEPTH_ORIGIN) * DEPTH_GAIN, 0.0)[None]])


class Scenes(Dataset):
    """Scenes `index` of one split's series, each rendered on first use and cached (written atomically)."""

    def __init__(self, split: str, count: int, size: int, target: str = "point", yaws: bool = False):
        self.split, self.count, self.size, self.target, self.yaws = split, count, size, target, yaws
        self.folder = cache_dir("robotics", "scenes-v2", f"{split}-{size}")  # v2: objects scaled 0.6-0.9

    def __len__(self) -> int:
        return self.count

    def scene(self, i: int) -> dict[str, np.ndarray]:
        """rgb, depth, grasp (metres), difficulty (index into DIFFICULTIES), view, projection; with data.yaws also
        lifts (grasping.yaw_lifts at the grasp point, simulated once and kept in the same file)."""
        path = self.folder / f"{i:05d}.npz"
        if path.is_file():
            with np.load(path) as data:
                arrays = {k: data[k] for k in data.files}
        else:
            s = scenes.render_scene(SPLIT_SEEDS[self.split], i, self.size)
            arrays = {"rgb": s.rgb, "depth": s.depth, "grasp": s.grasp, "view": s.view, "projection": s.projection,
                      "difficulty": np.array(scenes.DIFFICULTIES.index(s.difficulty))}
            self._save(path, arrays)
        if self.yaws and LIFTS not in arrays:
            from .grasping import yaw_lifts

            arrays[LIFTS] = yaw_lifts(SPLIT_SEEDS[self.split], i, arrays["grasp"])
            self._save(path, arrays)
        return arrays

    @staticmethod
    def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)  # a killed write leaves the cache as it was

    def __getitem__(self, i: int):
        """The network's input, and the target: the grasp point in cm (or, with target 'image', where the camera
        sees it: image_target), fourth, the scene's difficulty (which the task leaves out of the loss and uses
        to report errors by look), then with yaws the scene's lifts."""
        s = self.scene(i)
        goal = s["grasp"] * 100 if self.target == "point" else image_target(s["grasp"], s["view"], s["projection"])
        target = np.append(goal, float(s["difficulty"]))
        if self.yaws:
            target = np.append(target, s[LIFTS])
        return to_input(s["rgb"], s["depth"]), torch.from_numpy(target.astype(np.float32))


def image_target(grasp: np.ndarray, view: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """The grasp point where the camera sees it, scaled to weigh about as cm: u and v times IMAGE_SCALE, depth in
    cm from DEPTH_ORIGIN."""
    u, v, depth = scenes.world_to_image(grasp, view, projection)
    return np.array([u * IMAGE_SCALE, v * IMAGE_SCALE, (depth - DEPTH_ORIGIN) * 100])


def image_to_world(output: np.ndarray, view: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """A heatmap network's output (image_target's units) back to the world point in metres, with the camera."""
    u, v, depth_cm = np.asarray(output, dtype=np.float64)
    return scenes.image_to_world(u / IMAGE_SCALE, v / IMAGE_SCALE, depth_cm / 100 + DEPTH_ORIGIN, view, projection)


def world_point(output: np.ndarray, scene: dict[str, np.ndarray], target: str) -> np.ndarray:
    """A network's output for one scene (its task's scores) as the grasp point in the world, in metres."""
    return np.asarray(output) / 100 if target == "point" else image_to_world(output, scene["view"], scene["projection"])


def tabletop_scenes(data: str | None = None, seed: int = 0, train: int = 2000, valid: int = 250, test: int = 500,
                    size: int = 96, target: str = "point", yaws: bool = False) -> DataBundle:
    """robotics/tabletop-scenes: rendered scenes (the run's seed does not change them: the splits are fixed).
    target 'point' regresses the grasp point in the world (cm); 'image' locates it in the image with a heatmap
    (where, by soft-argmax) and a depth (how far), which a calibrated camera turns into the point. yaws: each
    scene also labelled with which of grasping.YAWS lift the object at its point (4 simulated grasps a scene,
    about 0.7 s, cached), for the network's yaw head."""
    if data is not None:
        raise ZooError("robotics/tabletop-scenes has no --data: its scenes are rendered (set data.train, "
                       "data.valid, data.test, data.size)")
    if min(train, valid, test) < 1:
        raise ZooError(f"data.train, data.valid and data.test must each be at least 1 (got {train}, {valid}, {test})")
    if target not in ("point", "image"):
        raise ZooError(f"--set data.target: 'point' (regress the grasp point) or 'image' (heatmap and depth), got "
                       f"{target!r}")
    from .grasping import YAWS

    splits = {name: Scenes(name, n, size, target, bool(yaws))
              for name, n in (("train", train), ("valid", valid), ("test", test))}
    image = target == "image"
    return DataBundle(train=splits["train"], valid=splits["valid"], test=splits["test"],
                      model_args={"in_chans": 4, "num_outputs": 3, "head": "heatmap" if image else "regression",
                                  "yaws": len(YAWS) if yaws else 0},
                      info={"target_dims": 3, "target": target, "size": size, "difficulties": list(scenes.DIFFICULTIES),
                            "target_names": ["u_px", "v_px", "depth_m"] if image else TARGET_NAMES,
                            "yaws_deg": [round(math.degrees(y)) for y in YAWS] if yaws else []})


def read_scene(path: str, info: dict[str, Any]) -> torch.Tensor:
    """A `zoo predict` input (see read_rgbd), resized to the run's size."""
    rgb, depth = read_rgbd(path)
    x = to_input(rgb, np.nan_to_num(depth.astype(np.float32)))
    size = int(info["size"])
    if x.shape[1:] != (size, size):
        x = torch.nn.functional.interpolate(x[None], size=(size, size), mode="nearest")[0]
    return x


def read_rgbd(path: str) -> tuple[np.ndarray, np.ndarray]:
    """An RGB-D scene from a file: an .npz with 'rgb' (H x W x 3, 0-255) and 'depth' (H x W metres), or an RGB image
    with its depth beside it as STEM.depth.npy."""
    file = Path(path)
    if not file.is_file():
        raise ZooError(f"zoo predict: {path}: no such file")
    if file.suffix == ".npz":
        import zipfile

        try:
            with np.load(file, allow_pickle=False) as data:
                missing = {"rgb", "depth"} - set(data.files)
                if missing:
                    raise ZooError(f"{path}: no {', '.join(sorted(missing))} array (an .npz needs 'rgb' and 'depth')")
                rgb, depth = data["rgb"], data["depth"]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # garbage, truncated, pickled objects
            raise ZooError(f"{path}: not a readable .npz of arrays ({type(exc).__name__})") from None
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
        try:
            depth = np.load(depth_file, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise ZooError(f"{depth_file}: not a readable .npy array ({type(exc).__name__})") from None
    if rgb.ndim != 3 or rgb.shape[2] != 3 or depth.shape != rgb.shape[:2]:
        raise ZooError(f"{path}: rgb {rgb.shape} and depth {depth.shape} must be H x W x 3 and H x W")
    if not np.issubdtype(depth.dtype, np.number) or not np.isfinite(depth).any():
        raise ZooError(f"{path}: the depth map holds no reading (all NaN or not numbers)")
    return rgb.astype(np.uint8), depth


def reacher_demonstrations(data: str | None = None, seed: int = 0, demos: int = 20, episodes: int = 10,
                           dagger: bool = True, noise: float = 0.0, capacity: int = 100_000,
                           valid_episodes: int = 20) -> DataBundle:
    """robotics/reacher-demos: the scripted expert's episodes (or a user's .npz), then a round of `episodes` more
    before each epoch, driven by the learner and labelled by the expert (`dagger`) or driven by the expert."""
    from . import reacher

    for key, value, least in (("demos", demos, 0 if data else 1), ("episodes", episodes, 0),
                              ("capacity", capacity, 1), ("valid_episodes", valid_episodes, 1)):
        if value < least:
            raise ZooError(f"--set data.{key}: must be at least {least}, got {value}")
    if noise < 0:
        raise ZooError(f"--set data.noise: must not be negative, got {noise}")
    user = tuple(map(torch.from_numpy, reacher.read_demonstrations(data))) if data is not None else None
    generator = reacher.Demonstrations(demos, episodes, bool(dagger), capacity, seed, noise=noise, user=user)

    def labelled(split: str) -> TensorDataset:  # the expert's states and actions on fixed episodes of a split
        states = reacher.rollouts(reacher.expert, reacher.episode_seeds(split, valid_episodes), record=True).observations
        return TensorDataset(torch.from_numpy(states), torch.from_numpy(reacher.expert(states)))

    mean, std = reacher.observation_stats()
    return DataBundle(train=None, valid=labelled("valid"), test=labelled("test"), generator=generator,
                      model_args={"in_features": reacher.OBSERVATION, "out_features": reacher.ACTION,
                                  "mean": mean, "std": std},
                      info={"target_dims": reacher.ACTION, "target_names": ["shoulder_torque", "elbow_torque"]})


def racecar_drives(data: str | None = None, seed: int = 0, demos: int = 12, episodes: int = 8, dagger: bool = True,
                   noise: float = 0.1, steps: int = 150, capacity: int = 20_000, valid_drives: int = 4,
                   eval_steps: int = 220) -> DataBundle:
    """robotics/racecar-drives: camera frames labelled with the scripted driver's steering, made while training."""
    from . import racecar

    if data is not None:
        raise ZooError("robotics/racecar-drives has no --data: its drives are simulated (set data.demos, "
                       "data.episodes, data.steps)")
    for key, value, least in (("demos", demos, 1), ("episodes", episodes, 0), ("steps", steps, 1),
                              ("capacity", capacity, 1), ("valid_drives", valid_drives, 1),
                              ("eval_steps", eval_steps, 1)):
        if value < least:
            raise ZooError(f"--set data.{key}: must be at least {least}, got {value}")
    if noise < 0:
        raise ZooError(f"--set data.noise: must not be negative, got {noise}")
    generator = racecar.Drives(demos, episodes, bool(dagger), capacity, seed, noise=noise, steps=steps)
    valid, test = (racecar.LabelledFrames(split, valid_drives, steps, noise) for split in ("valid", "test"))
    return DataBundle(train=None, valid=valid, test=test, generator=generator, augment=racecar.Mirror(),
                      model_args={"in_chans": 1, "num_outputs": 1},
                      info={"target_dims": 1, "target_names": ["steering_rad"], "eval_steps": eval_steps})


def read_camera(path: str, info: dict[str, Any]) -> torch.Tensor:
    """A `zoo predict` input for the driving network: a camera image (any size; made grey and 48 x 64)."""
    from PIL import Image, UnidentifiedImageError

    from .racecar import IMAGE, grey

    if not Path(path).is_file():
        raise ZooError(f"zoo predict: {path}: no such file")
    try:
        image = Image.open(path).convert("RGB").resize((IMAGE[1], IMAGE[0]), Image.BILINEAR)
    except (UnidentifiedImageError, OSError):
        raise ZooError(f"{path}: not an image") from None
    return torch.from_numpy(grey(np.asarray(image)))


def read_observation(text: str, info: dict[str, Any]) -> torch.Tensor:
    """A `zoo predict` input for a policy: one Reacher-v5 observation, as 10 comma-separated numbers or a .npy file."""
    from .reacher import OBSERVATION

    if Path(text).suffix == ".npy":
        if not Path(text).is_file():
            raise ZooError(f"zoo predict: {text}: no such file")
        values = np.load(text, allow_pickle=False).reshape(-1)
    else:
        try:
            values = np.array([float(v) for v in text.split(",")])
        except ValueError:
            raise ZooError(f"zoo predict: {text!r}: give {OBSERVATION} comma-separated numbers or a .npy file") from None
    if values.size != OBSERVATION or not np.isfinite(values).all():
        raise ZooError(f"zoo predict: {text}: a Reacher-v5 observation is {OBSERVATION} finite numbers, got "
                       f"{values.size}")
    return torch.from_numpy(values.astype(np.float32))
