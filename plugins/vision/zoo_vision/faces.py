"""vision/faces: identities rendered by facesjs (faces_render.py) by default, or a user's photos in
class-per-identity folders, with LFW's pairs.txt protocol for the test pairs; faces found and aligned in photos
by OpenCV's Haar cascades (shipped inside the opencv-python-headless wheel, `cv2.data`); the verification
figures (TAR at a FAR, accuracy at a threshold) shared by the task, the baseline and the bench.

Splits hold whole identities: the model never sees a test identity. Items are normalized float images; the
label of a training image is its identity's class, that of a valid or test image its identity within the split
(only pairs are scored there).
"""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.data import DataBundle
from zoo.paths import cache_dir

from . import augment as augmentations
from .data import IMAGE_SUFFIXES

RENDER_VERSION = 2  # bump when the rendering changes: cached sets are keyed by it
MAX_PAIRS = 5_000_000  # impostor pairs scored at most (sampled beyond)
FAR = 1e-3


class NoFaceFound(UserWarning):
    """A photo in which the Haar cascade found no face: its centre square is used instead."""


class FaceImages(Dataset):
    """uint8 images N x 3 x S x S and identity labels; `pairs` (i, j, same) and `folds` when the split comes with
    a fixed pair list (LFW's pairs.txt); `calibration`: the split whose pairs choose the threshold (valid)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, info: dict[str, Any],
                 identities: list[str] | None = None, pairs: np.ndarray | None = None,
                 folds: np.ndarray | None = None):
        self.images, self.labels = torch.from_numpy(images), torch.from_numpy(np.asarray(labels, np.int64))
        self.identities, self.pairs, self.folds = identities, pairs, folds
        self.calibration: FaceImages | None = None
        self.mean = torch.tensor(info["mean"]).view(-1, 1, 1)
        self.std = torch.tensor(info["std"]).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return (self.images[i].float() / 255.0 - self.mean) / self.std, self.labels[i]


# -- the factory -----------------------------------------------------------------------------------------------
def faces(data: str | None = None, seed: int = 0, image_size: int = 48, identities: int = 400,
          per_identity: int = 12, valid_identities: int = 50, test_identities: int = 150, test_per_identity: int = 8,
          augment: str = "crop,flip", pairs: str = "", detect: bool = True, valid_fraction: float = 0.1,
          test_fraction: float = 0.2) -> DataBundle:
    """Rendered identities by default (train, valid and test identities disjoint, on different background
    photos); --data DIR reads class-per-identity folders (photos: faces found and aligned unless
    data.detect=false); data.pairs=pairs.txt (LFW) fixes the test pairs."""
    if image_size < 16:
        raise ZooError(f"--set data.image_size={image_size}: faces need at least 16 px")
    if data is None and not pairs:
        if identities < 2 or valid_identities < 2 or test_identities < 2 or min(per_identity, test_per_identity) < 2:
            raise ZooError("--set data.identities, data.valid_identities, data.test_identities: at least 2 each, "
                           "and data.per_identity, data.test_per_identity at least 2 pictures")
        arrays, meta = rendered(seed, image_size, identities, per_identity, valid_identities, test_identities,
                                test_per_identity)
    else:
        arrays, meta = users_faces(Path(data) if data else None, Path(pairs) if pairs else None, image_size,
                                   detect, valid_fraction, test_fraction, seed)
    xtr, ytr = arrays["train"][:2]
    flat = torch.from_numpy(xtr[:4096]).float().div(255).transpose(0, 1).reshape(3, -1)
    num_classes = int(ytr.max()) + 1
    info = {"image_size": image_size, "channels": 3, "mean": flat.mean(1).tolist(),
            "std": flat.std(1).clamp_min(1e-3).tolist(), "num_identities": num_classes,
            "detect": bool(detect) and not meta["rendered"], "dataset": "vision/faces",
            "split_sizes": {s: [int(len(set(a[1].tolist()))), int(len(a[1]))] for s, a in arrays.items()}, **meta}
    parts = {}
    for split, (x, y, *rest) in arrays.items():
        names = rest[0] if rest else None
        extra = rest[1] if len(rest) > 1 else {}
        parts[split] = FaceImages(x, y, info, names, extra.get("pairs"), extra.get("folds"))
    parts["test"].calibration = parts["valid"]
    return DataBundle(train=parts["train"], valid=parts["valid"], test=parts["test"],
                      augment=augmentations.build(augment, image_size),
                      model_args={"num_classes": num_classes, "in_channels": 3, "image_size": image_size}, info=info)


def rendered(seed: int, size: int, identities: int, per_identity: int, valid_identities: int, test_identities: int,
             test_per_identity: int):
    """facesjs identities: train 0..identities-1 drawn with `seed`; valid and test the next ones, drawn with seed
    0 (every run is scored on the same people), each split on its own background photos; cached under $ZOO_CACHE."""
    from . import faces_render, signs_render

    key = hashlib.sha1(repr((RENDER_VERSION, size, seed, identities, per_identity, valid_identities,
                             test_identities, test_per_identity, faces_render.FACESJS, faces_render.SHOTS,
                             faces_render.SCRIPT.read_bytes())).encode()).hexdigest()[:16]
    path = cache_dir("vision", "faces") / f"{key}.npz"
    plan = {"train": (seed, 0, identities, per_identity),
            "valid": (0, identities, valid_identities, test_per_identity),
            "test": (0, identities + valid_identities, test_identities, test_per_identity)}
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            arrays = {s: (z[f"{s}_x"], z[f"{s}_y"]) for s in plan}
    else:
        arrays = {}
        for split, (draw_seed, first, n, per) in plan.items():
            arrays[split] = faces_render.render_set(draw_seed, first, n, per, size, signs_render.photo_arrays(split))
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **{f"{s}_{k}": a for s, (x, y) in arrays.items() for k, a in (("x", x), ("y", y))})
        tmp.replace(path)
    out = {}
    for split, (x, y) in arrays.items():
        first = plan[split][1]
        out[split] = (x, y - first, [f"face{k:05d}" for k in range(first, first + plan[split][2])])
    return out, {"rendered": True, "layout": "facesjs"}


# -- a user's photos ---------------------------------------------------------------------------------------------
def users_faces(root: Path | None, pairs_file: Path | None, size: int, detect: bool, valid_fraction: float,
                test_fraction: float, seed: int):
    """Class-per-identity folders (DIR/<name>/*, or DIR/train|valid|test/<name>/*); with LFW's pairs.txt
    (data.pairs, or DIR/pairs.txt) the test split is the pairs' images and their people are kept out of training."""
    if root is not None and not root.exists():
        raise ZooError(f"--data {root}: no such folder")
    if pairs_file is None and root is not None and (root / "pairs.txt").is_file():
        pairs_file = root / "pairs.txt"
    if root is None:
        raise ZooError("--set data.pairs: also give --data DIR, the identity folders to train on")
    test_part = None
    held: set[str] = set()
    if pairs_file is not None:
        test_part = read_lfw_pairs(pairs_file, size, detect)
        held = set(test_part[2])
    if (root / "train").is_dir():
        splits = {s: scan_identities(root / s, held) for s in ("train", "valid", "test") if (root / s).is_dir()}
    else:
        everyone = scan_identities(root, held)
        names = sorted(everyone)
        order = np.random.default_rng(seed).permutation(len(names))
        n_test = 0 if test_part is not None else max(2, round(test_fraction * len(names)))
        n_valid = max(2, round(valid_fraction * len(names)))
        if len(names) - n_test - n_valid < 2:
            raise ZooError(f"--data {root}: {len(names)} identities (besides those of the test pairs) are too few "
                           f"to hold out {n_valid} for validation{'' if test_part else f' and {n_test} for test'}")
        chosen = {"test": order[:n_test], "valid": order[n_test:n_test + n_valid], "train": order[n_test + n_valid:]}
        splits = {s: {names[i]: everyone[names[i]] for i in sorted(idx)} for s, idx in chosen.items() if len(idx)}
    if "valid" not in splits:
        raise ZooError(f"--data {root}: DIR/train needs a DIR/valid of other identities (the threshold is chosen on "
                       "its pairs)")
    if "test" not in splits and test_part is None:
        raise ZooError(f"--data {root}: DIR/train needs DIR/test (other identities) or data.pairs=pairs.txt")
    arrays, missing = {}, []
    for split, people in splits.items():
        x, y, names = load_identities(people, size, detect, missing)
        if len(set(y.tolist())) < 2:
            raise ZooError(f"--data {root}: the {split} split has fewer than 2 identities")
        arrays[split] = (x, y, names)
    if test_part is not None:
        x, y, names, extra = test_part
        arrays["test"] = (x, y, names, extra)
        missing += extra.pop("missing")
    warn_missing(missing)
    layout = "class-per-identity folders" + (f" + LFW pairs ({pairs_file.name})" if pairs_file else "")
    return arrays, {"rendered": False, "layout": layout}


def scan_identities(root: Path, held: set[str] = frozenset()) -> dict[str, list[Path]]:
    """DIR/<identity>/<image>: name -> files (sorted); identities in `held` (the test pairs' people) left out."""
    if not root.is_dir():
        raise ZooError(f"{root}: no such folder")
    people = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name in {"train", "valid", "test"} or folder.name in held:
            continue
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES | {".ppm", ".pgm"})
        if files:
            people[folder.name] = files
    if len(people) < 2:
        raise ZooError(f"{root}: expected one sub-folder of face photos per identity, found {len(people)} with images"
                       + (f" (besides the {len(held)} people of the test pairs)" if held else ""))
    return people


def load_identities(people: dict[str, list[Path]], size: int, detect: bool, missing: list[str]):
    images, labels = [], []
    for label, (name, files) in enumerate(people.items()):
        for file in files:
            array, found = load_face(file, size, detect)
            images.append(array), labels.append(label)
            if detect and not found:
                missing.append(str(file))
    return np.stack(images), np.asarray(labels, np.int64), list(people)


def warn_missing(missing: list[str]) -> None:
    if missing:
        warnings.warn(NoFaceFound(f"no face found in {len(missing)} photo(s), their centre square used instead "
                                  f"(first: {missing[0]}); data.detect=false if the photos are crops of faces"))


def read_lfw_pairs(path: Path, size: int, detect: bool):
    """LFW's pairs.txt: a header `folds pairs_per_fold` (or one count, as pairsDevTest.txt), then lines
    `name n1 n2` (the same person) or `name1 n1 name2 n2` (two people), tab- or space-separated; images at
    <name>/<name>_<nnnn>.jpg beside the file (or in its lfw/ or lfw_funneled/ folder). The images, their identity,
    the identities' names and {'pairs': (i, j, same) rows, 'folds': each pair's fold, 'missing': no face found}."""
    try:
        lines = [line.split() for line in path.read_text(encoding="utf-8").splitlines()]
    except FileNotFoundError:
        raise ZooError(f"--set data.pairs={path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ZooError(f"{path}: not a readable text file ({exc})") from None
    if not lines or not lines[0] or not all(t.isdigit() for t in lines[0]) or len(lines[0]) > 2:
        raise ZooError(f"{path}: line 1: expected LFW's header `folds pairs_per_fold` (e.g. `10 300`) or a pair count")
    header = [int(t) for t in lines[0]]
    per_fold = 2 * header[1] if len(header) == 2 else None  # each fold: its matched pairs, then its mismatched
    base = next((d for d in (path.parent, path.parent / "lfw", path.parent / "lfw_funneled")
                 if d.is_dir() and any(c.is_dir() for c in d.iterdir())), path.parent)
    files: dict[Path, int] = {}
    rows, folds = [], []
    for number, fields in enumerate(lines[1:], start=2):
        if not fields:
            continue
        try:
            if len(fields) == 3:
                a, b, same = (fields[0], int(fields[1])), (fields[0], int(fields[2])), 1
            elif len(fields) == 4:
                a, b, same = (fields[0], int(fields[1])), (fields[2], int(fields[3])), 0
            else:
                raise ValueError
        except ValueError:
            raise ZooError(f"{path}: line {number}: expected `name n1 n2` or `name1 n1 name2 n2`, got "
                           f"{' '.join(fields)!r}") from None
        ends = []
        for name, n in (a, b):
            file = next((f for f in (base / name / f"{name}_{n:04d}{ext}" for ext in (".jpg", ".png", ".jpeg"))
                         if f.is_file()), None)
            if file is None:
                raise ZooError(f"{path}: line {number}: no image {base / name / f'{name}_{n:04d}.jpg'}")
            ends.append(files.setdefault(file, len(files)))
        rows.append((*ends, same))
        folds.append((len(rows) - 1) // per_fold if per_fold else 0)
    if not rows:
        raise ZooError(f"{path}: no pairs after the header")
    names = sorted({f.parent.name for f in files})
    images, labels, missing = [], [], []
    for file in files:
        array, found = load_face(file, size, detect)
        images.append(array), labels.append(names.index(file.parent.name))
        if detect and not found:
            missing.append(str(file))
    return (np.stack(images), np.asarray(labels, np.int64), names,
            {"pairs": np.asarray(rows, np.int64), "folds": np.asarray(folds, np.int64), "missing": missing})


# -- finding and aligning a face ---------------------------------------------------------------------------------
_CASCADES: dict[str, Any] = {}


def cascade(name: str):
    """One of the Haar cascades that ship inside the opencv-python-headless wheel (never downloaded)."""
    if name not in _CASCADES:
        import cv2

        path = Path(cv2.data.haarcascades) / name
        if not path.is_file():
            raise ZooError(f"OpenCV's {name} is missing from {path.parent} (opencv-python-headless 5 dropped the "
                           "Haar cascades: pip install 'opencv-python-headless<5')")
        _CASCADES[name] = cv2.CascadeClassifier(str(path))
    return _CASCADES[name]


def align(img: Image.Image, size: int, detect: bool = True) -> tuple[np.ndarray, bool]:
    """The face of a photo, size x size x 3 uint8, and whether one was found: the largest frontal face of the Haar
    cascade, turned so that its eyes (the eye cascade, when it finds two) are level, cut with a margin that
    holds the whole head (as the renderings show it). No face (or detect=False): the centre square."""
    import cv2

    rgb = np.asarray(img.convert("RGB"))
    h, w = rgb.shape[:2]
    found = False
    box = ((w - min(w, h)) / 2, (h - min(w, h)) / 2, min(w, h), min(w, h))
    angle = 0.0
    if detect:
        grey = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        side = max(20, min(w, h) // 10)
        faces = cascade("haarcascade_frontalface_default.xml").detectMultiScale(
            grey, scaleFactor=1.1, minNeighbors=5, minSize=(side, side))
        if len(faces):
            x, y, fw, fh = max(faces, key=lambda f: f[2] * f[3]).tolist()
            found = True
            top = grey[y:y + fh // 2, x:x + fw]
            eyes = cascade("haarcascade_eye.xml").detectMultiScale(top, scaleFactor=1.1, minNeighbors=5,
                                                                   minSize=(max(4, fw // 10),) * 2)
            if len(eyes) >= 2:
                (ax, ay, aw, ah), (bx, by, bw, bh) = sorted(sorted(eyes.tolist(), key=lambda e: -e[2] * e[3])[:2])
                angle = float(np.degrees(np.arctan2((by + bh / 2) - (ay + ah / 2), (bx + bw / 2) - (ax + aw / 2))))
                if abs(angle) > 25:  # not a pair of eyes
                    angle = 0.0
            grow = 1.5  # the cascade's box is the inner face: take the head
            cx, cy, s = x + fw / 2, y + fh / 2 - 0.05 * fh, fw * grow
            box = (cx - s / 2, cy - s / 2, s, s)
    x, y, s, _ = box
    if angle:
        img = img.rotate(angle, resample=Image.BILINEAR, center=(x + s / 2, y + s / 2))
    face = img.convert("RGB").crop((round(x), round(y), round(x + s), round(y + s))).resize((size, size),
                                                                                            Image.BILINEAR)
    return np.asarray(face, np.uint8), found


def load_face(file: Path, size: int, detect: bool) -> tuple[np.ndarray, bool]:
    """One photo file -> (3 x size x size uint8 face, whether a face was found); a one-line error naming the file."""
    try:
        with Image.open(file) as img:
            img = ImageOps.exif_transpose(img)
            img.load()
    except FileNotFoundError:
        raise ZooError(f"{file}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ZooError(f"{file}: not a readable image ({exc})") from None
    array, found = align(img, size, detect)
    return array.transpose(2, 0, 1).copy(), found


def read_face(text: str | Image.Image, info: dict[str, Any]) -> torch.Tensor:
    """`zoo predict` input: one photo, its face found and aligned as in training (runs on photos) or the whole
    picture (runs on renderings); normalized. `.face_found` tells whether the cascade found a face."""
    size, detect = info["image_size"], info.get("detect", False)
    if isinstance(text, Image.Image):
        array, found = align(text, size, detect)
        array = array.transpose(2, 0, 1)
    else:
        array, found = load_face(Path(text), size, detect)
    x = torch.from_numpy(np.ascontiguousarray(array)).float() / 255.0
    x = (x - torch.tensor(info["mean"]).view(-1, 1, 1)) / torch.tensor(info["std"]).view(-1, 1, 1)
    x.face_found = found if detect else None
    return x


# -- verification figures ----------------------------------------------------------------------------------------
def all_pairs(labels: np.ndarray, seed: int = 0, limit: int = MAX_PAIRS) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of a split and whether each is one person: every pair, or every genuine pair and
    `limit` impostor pairs drawn at random when there are more."""
    labels = np.asarray(labels)
    n = len(labels)
    if n * (n - 1) // 2 <= limit:
        i, j = np.triu_indices(n, 1)
        return np.stack([i, j], 1), labels[i] == labels[j]
    genuine = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        a, b = np.triu_indices(len(members), 1)
        genuine.append(np.stack([members[a], members[b]], 1))
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, n, limit), rng.integers(0, n, limit)
    keep = labels[i] != labels[j]
    impostor = np.stack([np.minimum(i, j), np.maximum(i, j)], 1)[keep]
    pairs = np.concatenate(genuine + [impostor])
    return pairs, labels[pairs[:, 0]] == labels[pairs[:, 1]]


def balanced_pairs(labels: np.ndarray, seed: int = 0, limit: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """An LFW-like pair list: up to `limit` genuine pairs and as many impostor pairs, drawn with a fixed seed."""
    pairs, same = all_pairs(labels, seed)
    rng = np.random.default_rng(seed)
    genuine, impostor = np.flatnonzero(same), np.flatnonzero(~same)
    k = min(limit, len(genuine), len(impostor))
    pick = np.concatenate([rng.choice(genuine, k, replace=False), rng.choice(impostor, k, replace=False)])
    return pairs[pick], same[pick]


def cosine(embeddings: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    e = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return np.einsum("ij,ij->i", e[pairs[:, 0]], e[pairs[:, 1]])


def tar_at_far(scores: np.ndarray, same: np.ndarray, far: float = FAR) -> tuple[float, float]:
    """True accept rate at the threshold that accepts a fraction `far` of impostor pairs, and that threshold."""
    impostor = np.sort(scores[~same])[::-1]
    k = int(np.floor(far * len(impostor)))  # impostors allowed above the threshold
    threshold = float(impostor[k]) if k < len(impostor) else float(impostor[-1])
    return float((scores[same] > threshold).mean()), threshold


def best_threshold(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """The threshold of highest balanced accuracy on these pairs (half genuine, half impostor weight) and it."""
    order = np.argsort(-scores)
    s, g = scores[order], same[order].astype(float)
    tp = np.cumsum(g) / max(g.sum(), 1)  # accepting the first k+1
    tn = 1 - np.cumsum(1 - g) / max((1 - g).sum(), 1)
    accuracy = (tp + tn) / 2
    k = int(np.argmax(accuracy))
    threshold = float((s[k] + s[k + 1]) / 2) if k + 1 < len(s) else float(s[k] - 1e-6)
    return threshold, float(accuracy[k])


def accuracy(scores: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(((scores > threshold) == same).mean())


def tenfold_accuracy(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[float, float]:
    """LFW's protocol: each fold scored at the threshold chosen on the other nine; mean and standard deviation."""
    values = []
    for fold in np.unique(folds):
        test = folds == fold
        threshold, _ = best_threshold(scores[~test], same[~test])
        values.append(accuracy(scores[test], same[test], threshold))
    return float(np.mean(values)), float(np.std(values))


def verification(embeddings: np.ndarray, labels: np.ndarray, threshold: float | None = None,
                 pairs: tuple[np.ndarray, np.ndarray] | None = None, folds: np.ndarray | None = None) -> dict:
    """TAR at FAR 1e-3 over all pairs of a split, verification accuracy on its LFW-like pair list (at
    `threshold`, else at the best one for these pairs), and the threshold of highest accuracy."""
    from sklearn.metrics import roc_auc_score

    every, same = all_pairs(labels)
    every_scores = cosine(embeddings, every)
    tar, far_threshold = tar_at_far(every_scores, same)
    listed, listed_same = pairs if pairs is not None else balanced_pairs(labels)
    scores = cosine(embeddings, listed)
    best, best_accuracy = best_threshold(scores, listed_same)
    out = {"tar_far_1e-3": tar, "verify_accuracy": accuracy(scores, listed_same, threshold)
           if threshold is not None else best_accuracy, "roc_auc": float(roc_auc_score(same, every_scores)),
           "threshold": best, "far_threshold": far_threshold}
    if folds is not None and len(np.unique(folds)) > 1:
        out["accuracy_10fold"], out["accuracy_10fold_std"] = tenfold_accuracy(scores, listed_same, folds)
    return out


def split_pairs(dataset: FaceImages) -> tuple[np.ndarray, np.ndarray] | None:
    """A split's fixed pair list (LFW's pairs.txt) as (pairs, same), else None (the balanced list is drawn)."""
    if dataset.pairs is None:
        return None
    return dataset.pairs[:, :2], dataset.pairs[:, 2].astype(bool)
