"""vision/captioning data: OpenMoji rendered (emoji_data.py) by default, or the user's images with a COCO captions
JSON; word tokenisation and the vocabulary; the dataset the trainer reads.

Items: x = {'image': 3 x S x S normalized, 'tokens': [bos] + caption ids} (teacher forcing), y = the references,
R x (L + 1) ids each closed by eos (row 0 is the caption the model is taught on; -100 pads). The vocabulary lists
the training captions' words first (the model's `vocab_size` outputs), then the other splits' words, so that
references keep words the model never learnt (they count against it). Training items are
(image, caption) pairs; valid and test items are images with all their references, which the metrics read.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.config import Range
from zoo.data import DataBundle, grouped_split

SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
PAD, BOS, EOS, UNK = range(4)
IGNORE = -100
TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


# -- words ------------------------------------------------------------------------------------------
def tokenize(text: str) -> list[str]:
    """Lower-cased words and punctuation marks ('Person getting massage: dark skin tone' -> [..., ':', ...])."""
    return TOKEN.findall(text.lower())


def detokenize(tokens: list[str]) -> str:
    """Tokens back to a caption: no space before , . : ; ! ? ) or round a hyphen."""
    text = " ".join(tokens)
    text = re.sub(r"\s+([,.:;!?)\]’'])", r"\1", text)
    text = re.sub(r"([(\[])\s+", r"\1", text)
    return re.sub(r"\s*-\s*", "-", text)


def plain(text: str) -> str:
    """What the metrics compare (as COCO's evaluation does after its tokenizer): lower-case words, no
    punctuation ('medium-light skin tone' -> 'medium light skin tone')."""
    return " ".join(t for t in tokenize(text) if any(c.isalnum() for c in t))


def build_vocab(captions: list[str], min_count: int = 1) -> list[str]:
    """The specials, then the words of the training captions seen min_count times or more, most frequent first."""
    counts = Counter(t for c in captions for t in tokenize(c))
    return list(SPECIALS) + [w for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count]


def encode(caption: str, index: dict[str, int], max_words: int) -> list[int]:
    return [index.get(t, UNK) for t in tokenize(caption)][:max_words]


def decode(ids: list[int], vocab: list[str]) -> str:
    """Ids up to the first eos as a caption (specials left out)."""
    words = []
    for i in ids:
        if i == EOS:
            break
        if i >= len(SPECIALS) and i < len(vocab):
            words.append(vocab[i])
    return detokenize(words)


# -- COCO captions JSON -----------------------------------------------------------------------------
def read_coco(path: Path) -> list[tuple[str, list[str]]]:
    """A COCO captions file ({'images': [{'id', 'file_name'}], 'annotations': [{'image_id', 'caption'}]}) ->
    (file_name, captions) per image that has captions, in the file's order. Errors name the file and record."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ZooError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ZooError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ZooError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("images"), list) \
            or not isinstance(raw.get("annotations"), list):
        raise ZooError(f"{path}: a COCO captions file is an object with 'images' and 'annotations' lists")
    names: dict[Any, str] = {}
    for i, image in enumerate(raw["images"]):
        if not isinstance(image, dict) or "id" not in image or not isinstance(image.get("file_name"), str) \
                or not image["file_name"]:
            raise ZooError(f"{path}: images[{i}] needs an 'id' and a 'file_name'")
        if image["id"] in names:
            raise ZooError(f"{path}: images[{i}]: id {image['id']!r} appears twice")
        names[image["id"]] = image["file_name"]
    captions: dict[Any, list[str]] = {}
    for i, note in enumerate(raw["annotations"]):
        if not isinstance(note, dict) or "image_id" not in note:
            raise ZooError(f"{path}: annotations[{i}] needs an 'image_id' and a 'caption'")
        caption = note.get("caption")
        if not isinstance(caption, str) or not plain(caption):
            raise ZooError(f"{path}: annotations[{i}]: 'caption' must be text with at least one word")
        if note["image_id"] not in names:
            raise ZooError(f"{path}: annotations[{i}]: image_id {note['image_id']!r} is not in 'images'")
        captions.setdefault(note["image_id"], []).append(caption.strip())
    out = [(names[k], captions[k]) for k in names if k in captions]
    if not out:
        raise ZooError(f"{path}: no image has a caption")
    return out


def image_root(json_path: Path, file_name: str, images: str = "") -> Path:
    """The folder the file names are relative to: data.images, else beside the JSON, its parent, or a folder
    named like its split (captions_train2017.json -> train2017/) or images/ in either."""
    split = json_path.stem.split("_", 1)[-1]
    bases = [json_path.parent, json_path.parent.parent]
    candidates = [Path(images)] if images else [b / sub for b in bases for sub in ("", split, "images")]
    for root in candidates:
        if (root / file_name).is_file():
            return root
    raise ZooError(f"{json_path}: image {file_name!r} not found under "
                   + ", ".join(str(c) for c in candidates) + (" (set data.images=DIR)" if not images else ""))


def load_square(source: Path | Image.Image, size: int) -> np.ndarray:
    """An image centre-cropped to a square, transparency onto white, resized: 3 x size x size uint8."""
    try:
        with (Image.open(source) if not isinstance(source, Image.Image) else _same(source)) as img:
            img = ImageOps.exif_transpose(img) if not isinstance(source, Image.Image) else img
            if img.mode in ("RGBA", "LA", "P"):
                rgba = img.convert("RGBA")
                img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
            img = ImageOps.fit(img.convert("RGB"), (size, size), Image.BICUBIC)
            return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy()
    except FileNotFoundError:
        raise ZooError(f"{source}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ZooError(f"{source}: not a readable image ({exc})") from None


class _same:
    def __init__(self, img):
        self.img = img

    def __enter__(self):
        return self.img

    def __exit__(self, *exc):
        return False


def users_captions(data: Path, images: str, size: int, valid_fraction: float, test_fraction: float, seed: int):
    """--data FILE.json (split by image) or a folder with captions_train*.json and captions_val*.json (in it or in
    its annotations/): train (less valid_fraction of its images) and test. -> arrays, captions per image, splits."""
    if data.is_dir():
        found = {kind: sorted([*data.glob(f"captions_{kind}*.json"), *data.glob(f"annotations/captions_{kind}*.json")])
                 for kind in ("train", "val")}
        if not found["train"]:
            any_json = sorted(data.glob("*.json"))
            if len(any_json) != 1:
                raise ZooError(f"{data}: no captions_train*.json here nor in annotations/ (COCO's layout); or give "
                               "--data FILE.json")
            found = {"train": any_json, "val": []}
        files = {"train": found["train"][0], "test": found["val"][0] if found["val"] else None}
    elif data.is_file():
        files = {"train": data, "test": None}
    else:
        raise ZooError(f"{data}: no such file or folder")
    pictures, captions, parts = [], [], {}
    for part, path in files.items():
        if path is None:
            continue
        records = read_coco(path)
        root = image_root(path, records[0][0], images)
        start = len(captions)
        for name, caps in records:
            file = root / name
            if not file.is_file():
                raise ZooError(f"{path}: image {name!r} not found in {root}")
            pictures.append(load_square(file, size))
            captions.append(caps)
        parts[part] = list(range(start, len(captions)))
    ids = parts["train"]
    fractions = [1 - valid_fraction - (0 if "test" in parts else test_fraction), valid_fraction] + \
        ([] if "test" in parts else [test_fraction])
    pieces = grouped_split(ids, fractions, seed)
    splits = {"train": [ids[i] for i in pieces[0]], "valid": [ids[i] for i in pieces[1]],
              "test": parts["test"] if "test" in parts else [ids[i] for i in pieces[2]]}
    for name, idx in splits.items():
        if not idx:
            raise ZooError(f"{data}: too few images for a {name} split ({len(captions)} images; "
                           "data.valid_fraction, data.test_fraction)")
    return np.stack(pictures), captions, splits


def emoji_captions(size: int, valid_fraction: float, test_fraction: float, seed: int):
    """OpenMoji: every drawing with its one caption, split by family (variants together)."""
    from . import emoji_data

    images, records, fams = emoji_data.rendered(size)
    pieces = grouped_split(fams, [1 - valid_fraction - test_fraction, valid_fraction, test_fraction], seed)
    return images, [[r["caption"]] for r in records], dict(zip(("train", "valid", "test"), pieces)), \
        [r["hexcode"] for r in records]


# -- the dataset ------------------------------------------------------------------------------------------
class CaptionSet(Dataset):
    """Images (uint8, N x 3 x S x S) with their references; `pairs`: one item per (image, caption)."""

    def __init__(self, images: torch.Tensor, refs: list[list[list[int]]], info: dict[str, Any], pairs: bool,
                 names: list[str] | None = None):
        self.images, self.refs, self.names = images, refs, names
        self.vocab_size = int(info["vocab_size"])
        self.mean = torch.tensor(info["mean"]).view(-1, 1, 1)
        self.std = torch.tensor(info["std"]).view(-1, 1, 1)
        self.items = [(i, j) for i, r in enumerate(refs) for j in range(len(r))] if pairs \
            else [(i, 0) for i in range(len(refs))]

    def __len__(self) -> int:
        return len(self.items)

    def image(self, i: int) -> torch.Tensor:
        return (self.images[i].float() / 255.0 - self.mean) / self.std

    def __getitem__(self, k: int):
        i, j = self.items[k]
        refs = [self.refs[i][j]] + [r for n, r in enumerate(self.refs[i]) if n != j]
        said = [t if t < self.vocab_size else UNK for t in refs[0]]  # words the model does not know are unknown
        x = {"image": self.image(i), "tokens": torch.tensor([BOS] + said, dtype=torch.long)}
        return x, [torch.tensor(r + [EOS], dtype=torch.long) for r in refs]


def collate(batch):
    """Pads tokens with pad ids and references with -100: x = {'image' B x 3 x S x S, 'tokens' B x L},
    y = B x R x L."""
    images = torch.stack([x["image"] for x, _ in batch])
    longest = max(len(x["tokens"]) for x, _ in batch)
    tokens = torch.full((len(batch), longest), PAD, dtype=torch.long)
    for b, (x, _) in enumerate(batch):
        tokens[b, :len(x["tokens"])] = x["tokens"]
    r = max(len(refs) for _, refs in batch)
    width = max(len(t) for _, refs in batch for t in refs)
    y = torch.full((len(batch), r, max(width, longest)), IGNORE, dtype=torch.long)
    for b, (_, refs) in enumerate(batch):
        for k, t in enumerate(refs):
            y[b, k, :len(t)] = t
    return {"image": images, "tokens": tokens}, y


class Shift:
    """Training augmentation: each image moved by up to `pixels` in x and y (edges repeated)."""

    def __init__(self, pixels: int):
        self.pixels = pixels

    def __call__(self, x, y):
        p = self.pixels
        images = x["image"]
        padded = F.pad(images, (p, p, p, p), mode="replicate")
        size = images.shape[-1]
        offsets = torch.randint(0, 2 * p + 1, (len(images), 2)).tolist()
        moved = torch.stack([padded[b, :, dy:dy + size, dx:dx + size] for b, (dy, dx) in enumerate(offsets)])
        return {**x, "image": moved}, y


# -- the factory --------------------------------------------------------------------------------------
def captioning(data: str | None = None, images: str = "", seed: int = 0,
               image_size: Annotated[int, Range(16, 512)] = 48,
               valid_fraction: Annotated[float, Range(0.01, 0.5)] = 0.1,
               test_fraction: Annotated[float, Range(0.01, 0.5)] = 0.1,
               min_count: Annotated[int, Range(1)] = 1, max_words: Annotated[int, Range(1, 200)] = 30,
               beam: Annotated[int, Range(1, 32)] = 3, length_penalty: Annotated[float, Range(0, 2)] = 0.0,
               augment: str = "shift", limit: Annotated[int, Range(0)] = 0) -> DataBundle:
    """OpenMoji drawings with their CLDR captions (split by emoji family), or --data: a COCO captions JSON (or
    a COCO folder). `beam` and `length_penalty` are how captions are decoded (validation, test and predict);
    `limit` keeps the first images of each split (quick checks)."""
    if augment not in ("shift", "none", ""):
        raise ZooError(f"--set data.augment={augment}: captioning knows 'shift' or 'none' (no flips: a mirrored "
                       "arrow changes its caption)")
    hexcodes = None
    if data is None:
        pictures, captions, splits, hexcodes = emoji_captions(image_size, valid_fraction, test_fraction, seed)
    else:
        pictures, captions, splits = users_captions(Path(data), images, image_size, valid_fraction, test_fraction,
                                                    seed)
    if limit:
        splits = {k: v[:limit] for k, v in splits.items()}
    # the model's words are the training captions' (the first `vocab_size`); the other words of the captions are
    # appended so that references are scored as written, though the model can never say them
    vocab = build_vocab([c for i in splits["train"] for c in captions[i]], min_count)
    vocab_size = len(vocab)
    known = set(vocab)
    vocab += sorted({t for idx in splits.values() for i in idx for c in captions[i] for t in tokenize(c)} - known)
    index = {w: i for i, w in enumerate(vocab)}
    train_px = torch.from_numpy(pictures[splits["train"][:4096]]).float().div(255).transpose(0, 1).reshape(3, -1)
    lengths = [len(tokenize(c)) for idx in splits.values() for i in idx for c in captions[i]]
    train_captions = {plain(c) for i in splits["train"] for c in captions[i]}
    test_refs = [plain(c) for i in splits["test"] for c in captions[i]]
    info = {"dataset": "vision/captioning", "rendered": data is None, "image_size": image_size, "channels": 3,
            "mean": train_px.mean(1).tolist(), "std": train_px.std(1).clamp_min(1e-3).tolist(),
            "vocab": vocab, "vocab_size": vocab_size, "pad_id": PAD, "bos_id": BOS, "eos_id": EOS, "unk_id": UNK,
            "max_len": min(max_words, max(lengths)) + 1, "beam": beam, "length_penalty": length_penalty,
            "counts": {k: len(v) for k, v in splits.items()},
            "test_captions_seen": round(sum(r in train_captions for r in test_refs) / max(1, len(test_refs)), 4)}

    def part(name: str) -> CaptionSet:
        idx = splits[name]
        refs = [[encode(c, index, max_words) for c in captions[i]] for i in idx]
        names = [hexcodes[i] for i in idx] if hexcodes else None
        return CaptionSet(torch.from_numpy(pictures[idx]), refs, info, pairs=name == "train", names=names)

    return DataBundle(train=part("train"), valid=part("valid"), test=part("test"), collate=collate,
                      augment=Shift(max(1, image_size // 16)) if augment == "shift" else None,
                      model_args={"vocab_size": vocab_size, "image_size": image_size, "max_len": info["max_len"] + 1},
                      info=info)


def read_image(text: str | Image.Image, info: dict[str, Any]) -> torch.Tensor:
    """`zoo predict` input: one image (a PNG with transparency goes onto white), centre-cropped square and
    normalized as in training. The tensor keeps where it came from (`.photo`) for `--out`."""
    source = text if isinstance(text, Image.Image) else Path(text)
    if isinstance(source, Path) and source.is_dir():
        raise ZooError(f"{source}: a folder; give image files")
    array = load_square(source, int(info["image_size"]))
    x = (torch.from_numpy(array).float() / 255.0 - torch.tensor(info["mean"]).view(-1, 1, 1)) \
        / torch.tensor(info["std"]).view(-1, 1, 1)
    x.photo = source
    return x
