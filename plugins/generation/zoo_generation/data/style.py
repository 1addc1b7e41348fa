"""Style transfer: content photos and the style image(s); and the photo patches its perceptual encoder learns
from (generation/style-encoder)."""
from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from zoo import DataMissing, ZooError
from zoo.data import DataBundle

from ..images import find_images, read_many
from .photos import (STYLE_DEFAULT, HeldOut, Windows, bundle_info, check_crop, photo_path, prepared, random_crops,
                     random_symmetry)


class CropAugment:
    def __init__(self, crop: int, rotate: bool = False):
        self.crop, self.rotate = crop, rotate

    def __call__(self, x, y):
        out = random_symmetry(random_crops(y, self.crop), rotate=self.rotate)
        return out, out


def style_images(style: str) -> list[str]:
    """The style image(s): a file, a folder of them, or by default the painting in mate-backgrounds."""
    if not style:
        path = photo_path(*STYLE_DEFAULT[:2])
        if not path.is_file():
            raise DataMissing(f"{path}: the default style painting is missing; install the Debian package "
                              "mate-backgrounds or pass --set data.style=IMAGE_OR_FOLDER")
        return [str(path)]
    files = find_images(Path(style))
    readable = [str(p) for p, _ in read_many(files)]
    if not readable:
        raise ZooError(f"--set data.style={style}: holds no readable image")
    return readable


def style_photos(data: str | None = None, seed: int = 0, crop: int = 96, max_side: int = 384, tile: int = 128,
                 style: str = "", style_side: int = 256, style_weight: float = 10.0, content_weight: float = 1.0,
                 tv_weight: float = 0.1) -> DataBundle:
    """Content photos (RGB) and the style to learn (data.style: an image or a folder of them); the weights of
    the style, content and total-variation losses go to the task."""
    check_crop("style transfer", crop, 32)
    styles = style_images(style)
    splits = prepared(data, seed, 3, max_side, crop)
    held = {s: HeldOut(splits[s], tile, lambda t, key, i: (t, t)) for s in ("valid", "test")}
    window = crop + crop // 2
    return DataBundle(train=Windows([im for _, im in splits["train"]], window, window // 2), valid=held["valid"],
                      test=held["test"], augment=CropAugment(crop),
                      info=bundle_info(splits, style_images=styles, style_side=style_side, crop=crop, kind="style",
                                        style_weight=style_weight, content_weight=content_weight, tv_weight=tv_weight))


def patch_photos(data: str | None = None, seed: int = 0, crop: int = 64, max_side: int = 384) -> DataBundle:
    """Crops of the training photos labelled by the photo they come from: a pretext task that needs no labels
    and teaches an encoder what tells photos apart (colour, texture, edges), which is what Gram-matrix style
    losses compare. Each photo's rightmost `crop` columns are held out (upper half valid, lower half test), so
    evaluation is on pixels never trained on."""
    check_crop("photo patches", crop, 16)
    splits = prepared(data, seed, 3, max_side, crop)
    window = crop + crop // 2
    train, valid, test, names = [], [], [], []
    for name, img in splits["train"]:
        h, w = img.shape[-2:]
        if w < crop + window or h < 2 * crop:
            continue  # too small to hold a strip out: not a class
        label = len(names)
        names.append(name)
        train.append(img[..., : w - crop])
        strip = img[..., w - crop:]
        valid += [(strip[:, y:y + crop], label) for y in range(0, h // 2 - crop + 1, crop)]
        test += [(strip[:, y:y + crop], label) for y in range(h // 2, h - crop + 1, crop)]
    if len(names) < 2:
        raise ZooError(f"{data or 'the built-in photos'}: photo patches need at least 2 training images of at least "
                       f"{crop + window}x{2 * crop} pixels")
    windows = Windows(train, window, window // 2)
    labels = torch.tensor([i for i, _, _ in windows.index])
    return DataBundle(train=_Labelled(windows, labels), valid=_Patches(valid), test=_Patches(test),
                      augment=PatchAugment(crop), model_args={"num_classes": len(names)},
                      info={"photos": {"train": names}, "classes": names, "num_classes": len(names),
                            "kind": "photo-patches", "class_counts": torch.bincount(labels, minlength=len(names)).tolist()})


class PatchAugment:
    """Random crop and symmetry of the window; its label (the photo) stays."""

    def __init__(self, crop: int):
        self.crop = crop

    def __call__(self, x, y):
        return random_symmetry(random_crops(x, self.crop)), y


class _Labelled(Dataset):
    def __init__(self, windows: Windows, labels: torch.Tensor):
        self.windows, self.labels = windows, labels

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i):
        return self.windows[i][0], self.labels[i]


class _Patches(Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i][0], torch.tensor(self.items[i][1])
