"""Image datasets: scikit-learn digits, Fashion-MNIST IDX files, and a user's class-per-folder images."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from zoo import DataMissing, ZooError
from zoo.config import Range
from zoo.data import DataBundle, class_counts, idx_file, read_idx, stratified_split
from zoo.paths import cache_dir

from . import augment

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff"}
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


class Images(Dataset):
    """Images in [0, 1] (a tensor N x C x H x W, or files read on demand), normalized.

    Training augmentation is not done here but on whole batches, by the trainer (DataBundle.augment).
    """

    def __init__(self, images: torch.Tensor | list[Path], labels: list[int] | torch.Tensor, info: dict[str, Any]):
        self.images, self.labels, self.info = images, torch.as_tensor(labels), info
        self.mean = torch.tensor(info["mean"]).view(-1, 1, 1)
        self.std = torch.tensor(info["std"]).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        image = self.images[i]
        x = load_image(image, self.info) if isinstance(image, Path) else image
        return (x - self.mean) / self.std, self.labels[i]


MIN_SIZE = 8


def _bundle(name: str, images, labels, parts: dict[str, list[int] | None], classes: list[str],
            info: dict[str, Any], augment_spec: str, test=None) -> DataBundle:
    """Splits of one image set, training batches augmented; mean/std come from the training images."""
    if info["image_size"] < MIN_SIZE:  # the backbones halve the image three times
        raise ZooError(f"--set data.image_size={info['image_size']}: at least {MIN_SIZE} pixels are needed")

    def pick(idx):
        chosen = [images[i] for i in idx] if isinstance(images, list) else images[idx]
        return Images(chosen, [labels[i] for i in idx], info)

    return DataBundle(
        train=pick(parts["train"]), valid=pick(parts["valid"]),
        augment=augment.build(augment_spec, info["image_size"]),
        test=pick(parts["test"]) if parts.get("test") else test,
        model_args={"num_classes": len(classes), "in_channels": info["channels"], "image_size": info["image_size"]},
        info={**info, "classes": classes, "num_classes": len(classes), "dataset": name,
              "class_counts": class_counts(labels, parts["train"], len(classes))})


def _stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    channels = images.transpose(0, 1).reshape(images.shape[1], -1)
    return channels.mean(1).tolist(), channels.std(1).clamp_min(1e-3).tolist()


# -- scikit-learn digits -------------------------------------------------------------------
def digits(data: str | None = None, seed: int = 0, image_size: int = 8, augment: str = "affine") -> DataBundle:
    """1,797 8x8 digits; a fixed stratified 70/10/20 split, so the test set is the same for every run."""
    if data is not None:
        raise ZooError("vision/digits has no --data; use vision/image-folder for your own images")
    from sklearn.datasets import load_digits

    d = load_digits()
    images = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if image_size != 8:
        images = F.interpolate(images, size=(image_size, image_size), mode="bilinear", align_corners=False)
    labels = d.target.tolist()
    train, valid, test = stratified_split(labels, [0.7, 0.1, 0.2], seed=0)
    mean, std = _stats(images[train])
    info = {"image_size": image_size, "channels": 1, "mean": mean, "std": std}
    return _bundle("vision/digits", images, labels, {"train": train, "valid": valid, "test": test},
                   [str(i) for i in range(10)], info, augment)


# -- Fashion-MNIST (IDX gz) ----------------------------------------------------------------
def fashion_mnist(data: str | None = None, seed: int = 0, augment: str = "crop,flip", valid_size: int = 5000,
                  limit: int = 0) -> DataBundle:
    """60,000 + 10,000 images; `limit` keeps only that many training images (quick experiments)."""
    folder = Path(data) if data else FASHION_DIR
    if not folder.is_dir():
        raise (ZooError if data else DataMissing)(f"{folder}: no Fashion-MNIST folder; install the Debian package dataset-fashion-mnist "
                       "or pass --data DIR with the IDX gz files")
    arrays = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(idx_file(folder, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(idx_file(folder, f"{prefix}-labels-idx1-ubyte"))
        if len(x) != len(y):
            raise ZooError(f"{folder}: {prefix} images ({len(x)}) and labels ({len(y)}) differ in number")
        arrays[split] = (torch.from_numpy(x.copy()).unsqueeze(1).float() / 255.0, y.astype(np.int64).tolist())
    images, labels = arrays["train"]
    valid, train = stratified_split(labels, [valid_size / len(labels), 1 - valid_size / len(labels)], seed=0)
    if limit:
        train = train[:limit]
    mean, std = _stats(images[train])
    info = {"image_size": 28, "channels": 1, "mean": mean, "std": std}
    test_x, test_y = arrays["test"]
    bundle = _bundle("vision/fashion-mnist", images, labels, {"train": train, "valid": valid}, FASHION_CLASSES,
                     info, augment)
    bundle.test = Images(test_x, test_y, info)
    return bundle


# -- a user's folder of images -------------------------------------------------------------
def load_image(path: Path | Image.Image, info: dict[str, Any]) -> torch.Tensor:
    """One image file (or a PIL image) -> C x H x W in [0, 1], in the run's channels and size; errors name the file."""
    try:
        with contextlib.nullcontext(path) if isinstance(path, Image.Image) else Image.open(path) as img:
            img = img.convert("L" if info["channels"] == 1 else "RGB")
            if img.size != (info["image_size"],) * 2:
                img = img.resize((info["image_size"],) * 2, Image.BILINEAR)
            array = np.asarray(img, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise ZooError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ZooError(f"{path}: not a readable image ({exc})") from None
    x = torch.from_numpy(array)
    return x.unsqueeze(0) if x.dim() == 2 else x.permute(2, 0, 1)


def read_image(text: str | Image.Image, info: dict[str, Any]) -> torch.Tensor:
    """`zoo predict` input: an image file (or a PIL image, from the Python API), normalized as in training."""
    x = load_image(text if isinstance(text, Image.Image) else Path(text), info)
    return (x - torch.tensor(info["mean"]).view(-1, 1, 1)) / torch.tensor(info["std"]).view(-1, 1, 1)


def scan_folder(root: Path) -> tuple[list[Path], list[int], list[str]]:
    """DIR/<class>/<image>: files, labels and sorted class names; every file is checked readable."""
    if not root.is_dir():
        raise ZooError(f"{root}: no such folder")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files, labels = [], []
    for label, name in enumerate(classes):
        found = sorted(p for p in (root / name).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise ZooError(f"{root / name}: class folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        for path in found:
            try:
                with Image.open(path) as img:
                    img.verify()
            except (UnidentifiedImageError, OSError, SyntaxError) as exc:
                raise ZooError(f"{path}: not a readable image ({exc})") from None
        files += found
        labels += [label] * len(found)
    if not classes:
        raise ZooError(f"{root}: expected one sub-folder per class, found none")
    if len(classes) < 2:
        raise ZooError(f"{root}: only one class ({classes[0]}); a classifier needs at least two class folders")
    return files, labels, classes


def export_digits_png(root: Path) -> Path:
    """The documented default for vision/image-folder: scikit-learn digits written as class-per-folder PNGs."""
    marker = root / ".complete"
    if marker.exists():
        return root
    from sklearn.datasets import load_digits

    d = load_digits()
    for i, (image, label) in enumerate(zip(d.images, d.target)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 255 / 16).astype(np.uint8), mode="L").save(folder / f"{i:04d}.png")
    marker.touch()
    return root


def image_folder(data: str | None = None, seed: int = 0, image_size: Annotated[int, Range(0)] = 0, channels: int = 0,
                 augment: str = "crop,flip", valid_fraction: float = 0.15) -> DataBundle:
    """A user's class-per-folder images. image_size=0 and channels=0 take them from the images: the median
    shorter side (a multiple of 8, 16 to 64 px) and grey (1) unless some image has colour (3)."""
    root = Path(data) if data else export_digits_png(cache_dir("vision", "digits-png"))
    split_dirs = {s: root / s for s in ("train", "valid", "test") if (root / s).is_dir()}
    if "train" in split_dirs:
        files, labels, classes = scan_folder(split_dirs["train"])
        if "valid" in split_dirs:
            vfiles, vlabels, vclasses = scan_folder(split_dirs["valid"])
            if vclasses != classes:
                raise ZooError(f"{split_dirs['valid']}: classes {vclasses} differ from train's {classes}")
            files, labels = files + vfiles, labels + vlabels
            parts = {"train": list(range(len(files) - len(vfiles))),
                     "valid": list(range(len(files) - len(vfiles), len(files)))}
        else:
            valid, train = stratified_split(labels, [valid_fraction, 1 - valid_fraction], seed=0)
            parts = {"train": train, "valid": valid}
    else:
        files, labels, classes = scan_folder(root)
        valid, train = stratified_split(labels, [valid_fraction, 1 - valid_fraction], seed=0)
        parts = {"train": train, "valid": valid}
    if not parts["valid"]:
        raise ZooError(f"{root}: too few images to hold out a validation split")
    if not image_size or not channels:
        seen_size, seen_channels = looks([files[i] for i in parts["train"][:200]])
        image_size, channels = image_size or seen_size, channels or seen_channels
    info = {"image_size": image_size, "channels": channels, "mean": [0.5] * channels, "std": [0.25] * channels}
    sample = torch.stack([load_image(files[i], info) for i in parts["train"][:512]])
    info["mean"], info["std"] = _stats(sample)
    test = None
    if "test" in split_dirs:
        tfiles, tlabels, tclasses = scan_folder(split_dirs["test"])
        if tclasses != classes:
            raise ZooError(f"{split_dirs['test']}: classes {tclasses} differ from train's {classes}")
        test = Images(tfiles, tlabels, info)
    bundle = _bundle("vision/image-folder", files, labels, parts, classes, info, augment, test=test)
    bundle.model_args["num_images"] = len(parts["train"])  # sizes the default network (model.arch=auto)
    return bundle


def looks(files: list[Path]) -> tuple[int, int]:
    """The image size and channels a folder's images call for: the median shorter side, rounded up to a
    multiple of 8 within 16..64 px, and 1 channel when every image is grey (RGB files with equal channels
    count as grey), else 3."""
    sides, colour = [], False
    for path in files:
        try:
            with Image.open(path) as img:
                sides.append(min(img.size))
                if not colour and img.mode not in ("L", "LA", "1", "I", "I;16", "F"):
                    rgb = np.asarray(img.convert("RGB"))
                    colour = not ((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
        except (UnidentifiedImageError, OSError) as exc:
            raise ZooError(f"{path}: not a readable image ({exc})") from None
    median = sorted(sides)[len(sides) // 2]
    return min(64, max(16, -(-median // 8) * 8)), 3 if colour else 1
