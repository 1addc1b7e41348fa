"""vision/traffic-signs: the rendered default (signs_render.py), and a user's signs in the GTSRB layout or in
class-per-folder trees.

Items are uint8 images kept in memory (N x 3 x S x S), normalized when read. A "no sign" class (background
crops, and windows beside a sign, round a much smaller one or inside a much larger one) is added by default (data.no_sign), so that the
classifier can be slid over a larger photo (`zoo predict --detect`); for a user's data its pictures are crops
of the built-in photos with the user's own training crops pasted off-centre or small.
"""
from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.data import DataBundle, class_counts, grouped_split, stratified_split
from zoo.paths import cache_dir

from . import augment as augmentations
from .data import IMAGE_SUFFIXES, load_image, scan_folder

RENDER_VERSION = 5  # bump when the rendering changes: cached sets are keyed by it
# GTSRB's 43 classes by ClassId (the German road-sign names, shortened)
GTSRB_CLASSES = [
    "speed limit 20", "speed limit 30", "speed limit 50", "speed limit 60", "speed limit 70", "speed limit 80",
    "end of speed limit 80", "speed limit 100", "speed limit 120", "no overtaking", "no overtaking by trucks",
    "priority at next junction", "priority road", "give way", "stop", "no vehicles", "no trucks", "no entry",
    "general danger", "bend left", "bend right", "double bend", "uneven road", "slippery road", "road narrows right",
    "road works", "traffic signals", "pedestrians", "children", "bicycles", "ice or snow", "wild animals",
    "end of all limits", "turn right ahead", "turn left ahead", "ahead only", "straight or right",
    "straight or left", "keep right", "keep left", "roundabout", "end of no overtaking",
    "end of no overtaking by trucks"]
GTSRB_COLUMNS = ("Filename", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId")


class SignImages(Dataset):
    """uint8 images N x 3 x S x S and labels; items are normalized float images."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, info: dict[str, Any]):
        self.images, self.labels = images, torch.as_tensor(labels, dtype=torch.int64)
        self.mean = torch.tensor(info["mean"]).view(-1, 1, 1)
        self.std = torch.tensor(info["std"]).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return (self.images[i].float() / 255.0 - self.mean) / self.std, self.labels[i]


# -- the factory -----------------------------------------------------------------------------------
def traffic_signs(data: str | None = None, seed: int = 0, image_size: int = 32, per_class: int = 200,
                  valid_per_class: int = 20, test_per_class: int = 50, classes: str = "", no_sign: bool = True,
                  augment: str = "crop", valid_fraction: float = 0.1) -> DataBundle:
    """Rendered josm signs by default (train, valid and test on different photos); --data DIR reads GTSRB's
    Final_Training layout or class-per-folder images. `classes` keeps some of the drawings ('stop,give_way')."""
    if "flip" in [a.strip() for a in augment.split(",")]:
        raise ZooError("--set data.augment: flip is refused for traffic signs: a mirrored left turn is a right turn "
                       "(roundabout_left/right, no_left/no_right_turn, only_left/only_right_turn)")
    if image_size < 16:
        raise ZooError(f"--set data.image_size={image_size}: traffic signs need at least 16 px")
    if data is None:
        arrays, names, meta = rendered(seed, image_size, per_class, valid_per_class, test_per_class, classes, no_sign)
    else:
        arrays, names, meta = users_signs(Path(data), image_size, valid_fraction, no_sign, seed)
    (xtr, ytr), (xva, yva) = arrays["train"], arrays["valid"]
    flat = torch.from_numpy(xtr[: 4096]).float().div(255).transpose(0, 1).reshape(3, -1)
    info = {"image_size": image_size, "channels": 3, "mean": flat.mean(1).tolist(),
            "std": flat.std(1).clamp_min(1e-3).tolist(), "classes": names, "num_classes": len(names),
            "no_sign": names.index(NO_SIGN_NAME) if NO_SIGN_NAME in names else None, **meta,
            "class_counts": class_counts(ytr.tolist(), list(range(len(ytr))), len(names)),
            "dataset": "vision/traffic-signs"}

    def part(split):
        x, y = arrays[split]
        return SignImages(torch.from_numpy(x), torch.from_numpy(y), info)

    return DataBundle(train=part("train"), valid=part("valid"),
                      test=part("test") if "test" in arrays else None,
                      augment=augmentations.build(augment, image_size),
                      model_args={"num_classes": len(names), "in_channels": 3, "image_size": image_size},
                      info=info)


NO_SIGN_NAME = "no sign"


def rendered(seed: int, size: int, per_class: int, valid_per_class: int, test_per_class: int, classes: str,
             no_sign: bool):
    """The josm drawings rendered onto photos: each split on its own photos; cached under $ZOO_CACHE."""
    from . import josm_data, signs_render

    svgs = signs_render.drawings(josm_data.signs_dir())
    if classes:
        wanted = [c.strip() for c in classes.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in svgs]
        if unknown:
            raise ZooError(f"--set data.classes: no drawing {unknown[0]!r}; known: {', '.join(svgs)}")
        svgs = {c: svgs[c] for c in wanted}
    if len(svgs) < 2:
        raise ZooError("--set data.classes: name at least two drawings")
    names = list(svgs) + ([NO_SIGN_NAME] if no_sign else [])
    glyphs = [signs_render.glyph(name, svg) for name, svg in svgs.items()] + ([None] if no_sign else [])
    key = hashlib.sha1(repr((RENDER_VERSION, size, per_class, valid_per_class, test_per_class, seed, names,
                             [hashlib.sha1(s).hexdigest() for s in svgs.values()],
                             signs_render.SPLIT_PHOTOS)).encode()).hexdigest()[:16]
    path = cache_dir("vision", "traffic-signs") / f"{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            arrays = {s: (z[f"{s}_x"], z[f"{s}_y"]) for s in ("train", "valid", "test")}
    else:
        arrays = {}
        for offset, (split, n) in enumerate((("train", per_class), ("valid", valid_per_class),
                                             ("test", test_per_class))):
            counts = [n] * len(glyphs)
            # valid and test are drawn from fixed seeds: every run is scored on the same renderings
            arrays[split] = signs_render.render_set(glyphs, counts, signs_render.photo_arrays(split), size,
                                                    seed=(seed if split == "train" else 0) * 10 + offset + 1000)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **{f"{s}_{k}": a for s, (x, y) in arrays.items() for k, a in (("x", x), ("y", y))})
        tmp.replace(path)
    meta = {"rendered": True, "mirrors": [list(m) for m in signs_render.MIRRORS if all(c in names for c in m)]}
    return arrays, names, meta


# -- a user's signs --------------------------------------------------------------------------------
def users_signs(root: Path, size: int, valid_fraction: float, no_sign: bool, seed: int):
    if not root.exists():
        raise ZooError(f"--data {root}: no such folder")
    gtsrb = find_gtsrb(root)
    if gtsrb is not None:
        x, y, groups, test = read_gtsrb(gtsrb, size)
        present = sorted(set(y.tolist()))
        names = [GTSRB_CLASSES[c] if c < len(GTSRB_CLASSES) else f"class {c}" for c in range(max(present) + 1)]
        valid, train = grouped_split(groups, [valid_fraction, 1 - valid_fraction], seed=0)  # whole tracks held out
        arrays = {"train": (x[train], y[train]), "valid": (x[valid], y[valid])}
        if test is not None:
            arrays["test"] = test
        meta = {"rendered": False, "layout": "GTSRB"}
    else:
        arrays, names = read_folders(root, size, valid_fraction)
        meta = {"rendered": False, "layout": "class-per-folder"}
    if not len(arrays["valid"][1]):
        raise ZooError(f"--data {root}: too few images to hold out a validation split")
    if no_sign:
        arrays, names = add_no_sign(arrays, names, size, seed)
    return arrays, names, meta


def find_gtsrb(root: Path) -> Path | None:
    """The Final_Training/Images folder under root (root itself, root/GTSRB), or None for another layout."""
    for candidate in (root, root / "GTSRB"):
        if (candidate / "Final_Training" / "Images").is_dir():
            return candidate / "Final_Training" / "Images"
    if root.is_dir() and any(root.glob("[0-9][0-9][0-9][0-9][0-9]/GT-*.csv")):
        return root
    return None


def read_gtsrb(images: Path, size: int):
    """GTSRB's training layout: NNNNN/GT-NNNNN.csv (Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId),
    each image cut to its region of interest; groups are the tracks (NNNNN_TTTTT: one physical sign), so that
    validation holds whole tracks. Final_Test/Images/GT-final_test.csv, when it has ClassId, is the test split."""
    csvs = sorted(images.glob("*/GT-*.csv"))
    if not csvs:
        raise ZooError(f"{images}: no NNNNN/GT-NNNNN.csv annotation file (GTSRB's Final_Training layout)")
    xs, ys, groups = [], [], []
    for path in csvs:
        for x, y, track in read_gt_csv(path, size):
            xs.append(x), ys.append(y), groups.append(f"{path.parent.name}/{track}")
    test = None
    test_csv = images.parent.parent / "Final_Test" / "Images" / "GT-final_test.csv"
    if test_csv.is_file():
        rows = list(read_gt_csv(test_csv, size))
        test = (np.stack([r[0] for r in rows]), np.asarray([r[1] for r in rows], np.int64))
    return np.stack(xs), np.asarray(ys, np.int64), groups, test


def read_gt_csv(path: Path, size: int):
    """(image 3 x size x size uint8, ClassId, track) for each row of one GT-*.csv; errors name the file and line."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh, delimiter=";"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ZooError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows:
        raise ZooError(f"{path}: empty; expected GTSRB's header Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in GTSRB_COLUMNS if c not in header]
    if missing:
        raise ZooError(f"{path}: line 1: missing column {missing[0]} (GTSRB's header is "
                       "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId, ';'-separated)")
    col = {c: header.index(c) for c in GTSRB_COLUMNS}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise ZooError(f"{path}: line {line}: {len(row)} fields, the header has {len(header)}")
        try:
            x1, y1, x2, y2, label = (int(row[col[c]]) for c in GTSRB_COLUMNS[1:])
        except ValueError:
            raise ZooError(f"{path}: line {line}: Roi.X1..Roi.Y2 and ClassId must be whole numbers, got "
                           f"{';'.join(row)!r}") from None
        if label < 0:
            raise ZooError(f"{path}: line {line}: ClassId {label} is negative")
        file = path.parent / row[col["Filename"]].strip()
        x = read_crop(file, size, (x1, y1, x2, y2), where=f"{path}: line {line}")
        stem = Path(row[col["Filename"]]).stem
        yield x, label, stem.split("_")[0] if "_" in stem else stem


def read_crop(file: Path, size: int, box: tuple[int, int, int, int] | None = None, where: str = "") -> np.ndarray:
    """An image file (PPM, PNG, JPEG...) cut to `box` (x1, y1, x2, y2 inclusive, as GTSRB's ROI) and resized:
    3 x size x size uint8."""
    prefix = f"{where}: " if where else ""
    try:
        with Image.open(file) as img:
            img = img.convert("RGB")
            if box is not None:
                x1, y1, x2, y2 = box
                if not (0 <= x1 < x2 < img.width + 1 and 0 <= y1 < y2 < img.height + 1):
                    raise ZooError(f"{prefix}region of interest ({x1},{y1})-({x2},{y2}) lies outside the "
                                   f"{img.width} x {img.height} image {file.name}")
                img = img.crop((x1, y1, x2 + 1, y2 + 1))
            img = img.resize((size, size), Image.BILINEAR)
            return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy()
    except FileNotFoundError:
        raise ZooError(f"{prefix}{file}: no such image file") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ZooError(f"{prefix}{file}: not a readable image ({exc})") from None


def read_folders(root: Path, size: int, valid_fraction: float):
    """DIR/<class>/* or DIR/train|valid|test/<class>/*; without DIR/valid, a stratified share is held out."""
    def load(folder):
        files, labels, names = scan_folder(folder)
        return np.stack([read_crop(f, size) for f in files]), np.asarray(labels, np.int64), names

    if (root / "train").is_dir():
        x, y, names = load(root / "train")
        arrays = {}
        for split in ("valid", "test"):
            if (root / split).is_dir():
                sx, sy, snames = load(root / split)
                if snames != names:
                    raise ZooError(f"{root / split}: classes {snames} differ from train's {names}")
                arrays[split] = (sx, sy)
        if "valid" not in arrays:
            valid, train = stratified_split(y.tolist(), [valid_fraction, 1 - valid_fraction], seed=0)
            arrays["valid"], (x, y) = (x[valid], y[valid]), (x[train], y[train])
        arrays["train"] = (x, y)
    else:
        x, y, names = load(root)
        valid, train = stratified_split(y.tolist(), [valid_fraction, 1 - valid_fraction], seed=0)
        arrays = {"train": (x[train], y[train]), "valid": (x[valid], y[valid])}
    return arrays, names


def add_no_sign(arrays: dict, names: list[str], size: int, seed: int):
    """A "no sign" class for a user's data: crops of the built-in train (valid) photos, a third of them with one
    of the user's own training crops pasted small or off-centre; as many as the median class has."""
    from . import signs_render

    x, y = arrays["train"]
    if NO_SIGN_NAME in names:
        return arrays, names
    label = len(names)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(y), size=min(200, len(y)), replace=False)
    glyphs = [Image.fromarray(x[i].transpose(1, 2, 0)).convert("RGBA") for i in pick]
    out = dict(arrays)
    for split in ("train", "valid"):
        sx, sy = arrays[split]
        n = max(1, int(np.median(np.bincount(sy))))
        photos = signs_render.photo_arrays(split)
        made = [signs_render.render(glyphs[int(rng.integers(len(glyphs)))] if rng.random() < 0.67 else None,
                                    photos[int(rng.integers(len(photos)))], rng, size, negative=True)
                for _ in range(n)]
        out[split] = (np.concatenate([sx, np.stack(made).transpose(0, 3, 1, 2)]),
                      np.concatenate([sy, np.full(n, label, np.int64)]))
    return out, names + [NO_SIGN_NAME]


# -- zoo predict -----------------------------------------------------------------------------------
def read_sign(text: str | Image.Image, info: dict[str, Any]) -> torch.Tensor:
    """`zoo predict` input: one photo (a crop around a sign), normalized as in training. The tensor keeps
    where it came from (`.photo`), so that `--detect` can slide windows over the photo at full resolution."""
    source = text if isinstance(text, Image.Image) else Path(text)
    if isinstance(source, Path) and source.suffix.lower() not in IMAGE_SUFFIXES | {".ppm", ".pgm", ".webp"}:
        if not source.exists():
            raise ZooError(f"{source}: no such file")
    x = load_image(source, info)
    x = (x - torch.tensor(info["mean"]).view(-1, 1, 1)) / torch.tensor(info["std"]).view(-1, 1, 1)
    x.photo = source  # read again by SignTask.annotate when --detect is given
    return x


def mirror_pairs(info: dict[str, Any]) -> list[tuple[int, int]]:
    names = info["classes"]
    return [(names.index(a), names.index(b)) for a, b in info.get("mirrors", [])]


def natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]
