"""Diabetic retinopathy photos: the simulated default, users' grading CSVs (APTOS 2019, EyePACS, IDRiD) and the
`zoo predict` reader, with the usual preprocessing as a setting (`data.preprocess`):

- `crop`: the circular field of view found (pixels brighter than a tenth of the photo's peak), cropped to its
  bounding box and padded to a square;
- `ben` (the default): the crop, then the local mean colour subtracted (Ben Graham's Kaggle 2015 preprocessing:
  4 x photo - 4 x Gaussian blur of it + 0.5, inside the field), which evens out illumination and colour;
- `none`: the photo as it is, padded to a square.

Items are (photo 3 x S x S normalised per channel, grade 0-4).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.data import DataBundle, grouped_split, stratified_split

from .retinopathy_sim import GRADES, generated

PREPROCESS = ("crop", "ben", "none")
SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
# (the id column, the grade column) of the grading CSVs of APTOS 2019, EyePACS (Kaggle 2015) and IDRiD
LAYOUTS = {"APTOS 2019": ("id_code", "diagnosis"), "EyePACS": ("image", "level"),
           "IDRiD": ("image name", "retinopathy grade")}


# -- one photo ------------------------------------------------------------------------------------------------
def read_photo(path: Path) -> np.ndarray:
    """An RGB photo as H x W x 3 float32 in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ZooError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from None


def prepare(photo: np.ndarray, size: int, preprocess: str) -> torch.Tensor:
    """3 x size x size in [0, 1]: cropped to the field of view (unless 'none'), padded square, resized, and with
    'ben' the local mean colour subtracted."""
    if preprocess not in PREPROCESS:
        raise ZooError(f"--set data.preprocess={preprocess}: expected one of {', '.join(PREPROCESS)}")
    if preprocess != "none":
        grey = photo.mean(-1)
        rows, cols = np.nonzero(grey > 0.1 * max(float(grey.max()), 1e-6))
        if len(rows):
            photo = photo[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = photo.shape[:2]
    side = max(h, w)
    canvas = np.zeros((side, side, 3), np.float32)
    canvas[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = photo
    x = torch.from_numpy(canvas).permute(2, 0, 1)[None]
    if side != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=side > size)
    x = x[0].clamp(0, 1)
    if preprocess == "ben":
        from scipy.ndimage import gaussian_filter

        field = (x.mean(0) > 0.04).numpy()
        array = x.numpy()
        blurred = np.stack([gaussian_filter(c, size / 30) for c in array])
        array = np.clip(4 * array - 4 * blurred + 0.5, 0, 1) * field
        x = torch.from_numpy(array.astype(np.float32))
    return x


def normalize(x: torch.Tensor, info: dict[str, Any]) -> torch.Tensor:
    mean, std = torch.tensor(info["mean"])[:, None, None], torch.tensor(info["std"])[:, None, None]
    return (x - mean) / std


def read_input(text: str, info: dict[str, Any]) -> torch.Tensor:
    """`zoo predict` input: a fundus photo (PNG, JPEG, TIFF), preprocessed as in training."""
    path = Path(text)
    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    if path.suffix.lower() not in SUFFIXES:
        raise ZooError(f"{path}: expected a fundus photo ({', '.join(SUFFIXES)}), got {path.suffix or 'no suffix'}")
    x = normalize(prepare(read_photo(path), info["image_size"], info["preprocess"]), info)
    x.meta = {"file": str(path)}
    return x


# -- datasets -------------------------------------------------------------------------------------------------
class Photos(Dataset):
    """uint8 photos N x S x S x 3 (already preprocessed) and grades; training items are flipped and rotated by a
    quarter turn at random, and their brightness varied (`augment`)."""

    def __init__(self, photos: torch.Tensor, grades, info: dict[str, Any], augment: bool = False):
        self.photos, self.grades, self.info, self.augment = photos, torch.as_tensor(grades), info, augment

    def __len__(self) -> int:
        return len(self.grades)

    def __getitem__(self, i: int):
        x = self.photos[i].permute(2, 0, 1).float() / 255.0
        if self.augment:
            if torch.rand(()) < 0.5:
                x = x.flip(-1)
            x = torch.rot90(x, int(torch.randint(4, ())), (1, 2))
            x = (x * torch.empty(()).uniform_(0.85, 1.15)).clamp(0, 1)
        return normalize(x, self.info), self.grades[i]


def fundus_dr(data: str | None = None, seed: int = 0, count: int = 2000, image_size: int = 128, data_seed: int = 0,
              preprocess: str = "ben", augment: bool = True) -> DataBundle:
    """medical/retinopathy: simulated lesions on a real fundus photo (default), or a grading CSV's photos (`data`)."""
    if preprocess not in PREPROCESS:
        raise ZooError(f"--set data.preprocess={preprocess}: expected one of {', '.join(PREPROCESS)}")
    if image_size % 32 or image_size < 32:
        raise ZooError(f"--set data.image_size={image_size}: must be a multiple of 32")
    if data is None:
        if count < 20:
            raise ZooError(f"--set data.count={count}: at least 20 photos (train, valid and test splits)")
        arrays = generated(count, image_size, data_seed)
        grades = arrays["grades"]
        photos = torch.stack([(prepare(p / 255.0, image_size, preprocess) * 255).round().to(torch.uint8)
                              .permute(1, 2, 0) for p in arrays["images"].astype(np.float32)])
        parts = stratified_split(grades.tolist(), (0.7, 0.1, 0.2), data_seed)
        source = "simulated"
    else:
        paths, grades, groups, source = grading_csv(Path(data))
        photos = torch.stack([(prepare(read_photo(p), image_size, preprocess) * 255).round().to(torch.uint8)
                              .permute(1, 2, 0) for p in paths])
        parts = grouped_split(groups, (0.7, 0.1, 0.2), seed)
    grades = np.asarray(grades, np.int64)
    sample = photos[parts[0][:500]].float() / 255.0
    field = sample.mean(-1) > 0.02
    info = {"dataset": source, "image_size": image_size, "preprocess": preprocess, "grades": GRADES,
            "num_classes": 5, "mean": [round(float(sample[..., c][field].mean()), 5) for c in range(3)],
            "std": [round(float(sample[..., c][field].std()), 5) for c in range(3)],
            "train_grades": np.bincount(grades[parts[0]], minlength=5).tolist()}

    def subset(idx, train=False):
        return Photos(photos[idx], grades[idx], info, augment=augment and train)

    return DataBundle(train=subset(parts[0], True), valid=subset(parts[1]), test=subset(parts[2]),
                      model_args={"in_channels": 3, "num_classes": 5, "image_size": image_size}, info=info)


# -- users' data: grading CSVs --------------------------------------------------------------------------------
def grading_csv(root: Path) -> tuple[list[Path], list[int], list[str], str]:
    """Photos and grades from an APTOS 2019 (`id_code,diagnosis`), EyePACS (`image,level`) or IDRiD (`Image
    name,Retinopathy grade,...`) CSV: `root` is the CSV or a folder with one below it; each photo is found by its
    id (with or without a suffix) anywhere below the CSV's folder. Eyes of one person (EyePACS `10_left`,
    `10_right`) stay in one split."""
    if root.is_file():
        tables, folder = [root], root.parent
    else:
        tables, folder = sorted(root.rglob("*.csv")), root
    for table in tables:
        with table.open(newline="", encoding="utf-8-sig") as handle:
            header = [h.strip().lower() for h in next(csv.reader(handle), [])]
        for layout, (id_col, grade_col) in LAYOUTS.items():
            if id_col in header and grade_col in header:
                return (*_rows(table, folder, header.index(id_col), header.index(grade_col)), layout)
    raise ZooError(f"--data {root}: no grading CSV (APTOS 2019 id_code,diagnosis; EyePACS image,level; IDRiD "
                   "Image name,Retinopathy grade)")


def _rows(table: Path, folder: Path, id_index: int, grade_index: int):
    files: dict[str, Path] = {}
    for path in folder.rglob("*"):
        if path.suffix.lower() in SUFFIXES:
            files.setdefault(path.name.lower(), path)
            files.setdefault(path.stem.lower(), path)
    paths, grades, groups = [], [], []
    with table.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader)
        for line, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(id_index, grade_index):
                raise ZooError(f"{table}, line {line}: {len(row)} columns, expected at least {max(id_index, grade_index) + 1}")
            name, grade = row[id_index].strip(), row[grade_index].strip()
            try:
                value = int(float(grade))
            except ValueError:
                raise ZooError(f"{table}, line {line}: grade {grade!r} is not a number 0-4") from None
            if not 0 <= value <= 4 or float(grade) != value:
                raise ZooError(f"{table}, line {line}: grade {grade} is not one of 0-4 (the international scale)")
            path = files.get(name.lower())
            if path is None:
                raise ZooError(f"{table}, line {line}: no photo {name} ({'/'.join(SUFFIXES)}) below {folder}")
            paths.append(path)
            grades.append(value)
            groups.append(Path(name).stem.rsplit("_", 1)[0] if name.lower().endswith(("_left", "_right")) else name)
    if len(paths) < 20:
        raise ZooError(f"{table}: {len(paths)} graded photos; at least 20 are needed to split them")
    return paths, grades, groups
