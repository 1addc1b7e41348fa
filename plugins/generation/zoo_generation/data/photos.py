"""The photos every image recipe trains on: photos that install offline (in the scikit-image, scikit-learn and
matplotlib wheels and Debian's mate-backgrounds; with `more=True` also Debian's lomiri-wallpapers-16.04/-20.04 and
plasma-workspace-wallpapers), users' image folders, and the datasets made of them.

Training items are windows of the training photos (a fixed grid); the recipe's `augment` then cuts a random
crop out of each window on the device, turns it by one of the 8 symmetries of the square, and makes the
input from the target there (noise, downscaling, the L channel), so the target always moves with its input.
Whole photos are held out for validation and test: their evaluation runs the network on each whole photo
(`Task.evaluate_model`), and tiles of them give the per-batch loss.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from zoo import DataMissing, ZooError
from zoo.paths import package_dir

from ..images import find_images, is_grey, limit_side, read_array, read_many, to_channels, to_tensor
from ..opencv_photos import photos_dir as opencv_photos_dir


# -- the default photos ----------------------------------------------------------------------------
MATE = Path("/usr/share/backgrounds/mate")
LOMIRI = Path("/usr/share/backgrounds")  # lomiri-wallpapers-16.04 and -20.04
PLASMA = Path("/usr/share/wallpapers")  # plasma-workspace-wallpapers: NAME/contents/images/WxH.jpg
# name -> (where: a Python package's folder or a Debian path, file, licence)
PHOTOS: dict[str, tuple[str, str, str]] = {
    "astronaut": ("skimage", "data/astronaut.png", "public domain (NASA)"),
    "camera": ("skimage", "data/camera.png", "CC0 (Lav Varshney)"),
    "chelsea": ("skimage", "data/chelsea.png", "CC0 (Stefan van der Walt)"),
    "coffee": ("skimage", "data/coffee.png", "CC0 (Rachel Michetti)"),
    "rocket": ("skimage", "data/rocket.jpg", "public domain (SpaceX)"),
    "brick": ("skimage", "data/brick.png", "CC0 (CC0Textures)"),
    "grass": ("skimage", "data/grass.png", "CC0 (DeviantArt linolafett)"),
    "gravel": ("skimage", "data/gravel.png", "CC0 (CC0Textures)"),
    "china": ("sklearn", "datasets/images/china.jpg", "CC BY 2.0 (danielbuechele)"),
    "flower": ("sklearn", "datasets/images/flower.jpg", "CC BY 2.0 (vultilion)"),
    "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "public domain (US Navy)"),
    **{name.lower(): ("mate", f"nature/{name}.jpg", "GPL-2+ (MATE backgrounds)")
       for name in ("Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops",
                    "Storm", "TwoWings", "Wood", "YellowFlower")},
}
# The photographs (not renders or drawings) of three more Debian wallpaper packages, for `more=True`.
LOMIRI_PHOTOS: dict[str, tuple[str, str]] = {  # name -> (file, licence per debian/copyright)
    "bridge": ("Bridge_by_Sander_Klootwijk.jpg", "CC BY-SA 4.0 (Sander Klootwijk)"),
    "dragonfly": ("Dragonfly_by_Bolly.jpg", "CC BY-SA 4.0 (Bolly)"),
    "free": ("free_by_Peter_Nerlich.jpg", "CC BY-SA 4.0 (Peter Nerlich)"),
    "picture_0b": ("Picture_0B_by_freespace.jpg", "CC BY 4.0 (Trevor Freespace)"),
    "picture_1a": ("Picture_1A_by_freespace.jpg", "CC BY 4.0 (Trevor Freespace)"),
    "wine": ("Wine_by_Jakkub_Mede.jpg", "CC BY 4.0 (Jakub Mede)"),
    "aitzgorri": ("aitzgorri_by_Aitzol_Berasategi.jpg", "CC BY 4.0 (Aitzol Berasategi)"),
    "friends": ("friends_by_Aitzol_Berasategi.jpg", "CC BY 4.0 (Aitzol Berasategi)"),
    "life": ("life_by_Aitzol_Berasategi.jpg", "CC BY 4.0 (Aitzol Berasategi)"),
    "picosdeeuropa": ("picosdeeuropa_by_Aitzol_Berasategi.jpg", "CC BY 4.0 (Aitzol Berasategi)"),
    "sunset": ("sunset_by_Aitzol_Berasategi.jpg", "CC BY 4.0 (Aitzol Berasategi)"),
    "seeding": ("seeding_by_Clements_Engelhardt.jpg", "CC0 (Clemens Engelhardt)"),
    "kleiber": ("Kleiber_by_Lukas_Baubkus.jpg", "CC BY-SA 3.0 (Lukas Baubkus)"),
}
PLASMA_PHOTOS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
                 "OneStandsOut", "Path", "summer_1am")
MORE_PHOTOS: dict[str, tuple[str, str, str]] = {
    **{name: ("lomiri", file, licence) for name, (file, licence) in LOMIRI_PHOTOS.items()},
    **{name.lower(): ("plasma", f"{name}/contents/images/2560x1600.jpg",
                      "LGPL-3 (KDE Plasma wallpapers; GPL-2+ in Debian's copyright file)") for name in PLASMA_PHOTOS},
}
# held out with `more=True`, besides TEST and VALID: 14 more test photos, one more validation photo
MORE_TEST = ["bridge", "dragonfly", "kleiber", "picture_0b", "wine", "aitzgorri", "life", "seeding", "bythewater",
             "coldripple", "eveningglow", "fallenleaf", "grey", "path"]
MORE_VALID = ["kite"]
STYLE_DEFAULT = ("mate", "abstract/Elephants.jpg", "GPL-2+ (Wyng Stancikaite, MATE backgrounds)")
TEST = ["astronaut", "coffee", "china", "camera", "ladybird", "storm"]
VALID = ["chelsea", "flower", "garden"]


def photo_path(where: str, file: str) -> Path:
    """A built-in photo's file (a missing package: a path that does not exist, and the photo is left out)."""
    if where in ("mate", "lomiri", "plasma"):
        return {"mate": MATE, "lomiri": LOMIRI, "plasma": PLASMA}[where] / file
    if where == "opencv":  # unpacked from Debian's opencv-doc by `python -m zoo_generation.opencv_photos`
        return opencv_photos_dir() / file
    try:
        return package_dir(where, "generation's built-in photos") / file
    except DataMissing:
        return Path("/nonexistent") / file


@dataclass
class Photo:
    name: str
    path: Path
    array: np.ndarray  # H x W x C in [0, 1], C = 1 or 3, as read


def split_of(name: str, more: bool = False) -> str:
    """Which split a built-in photo belongs to: whole photos are held out, by name."""
    test, valid = (TEST + MORE_TEST, VALID + MORE_VALID) if more else (TEST, VALID)
    return "test" if name in test else "valid" if name in valid else "train"


def default_photos(more: bool = False, extra: dict[str, tuple[str, str, str]] | None = None,
                   split=None) -> dict[str, list[Photo]]:
    """The built-in photos by split (with `more`, also the photos of the Debian wallpaper packages in
    MORE_PHOTOS; `extra` adds a recipe's own); those whose package is not installed are left out. `split(name)`
    gives a recipe's own split of them (by default `split_of`)."""
    splits: dict[str, list[Photo]] = {"train": [], "valid": [], "test": []}
    extra = extra or {}
    for name, (where, file, _) in {**PHOTOS, **(MORE_PHOTOS if more else {}), **extra}.items():
        path = photo_path(where, file)
        if not path.is_file():
            continue
        split_name = split(name) if split is not None else split_of(name, more)
        big = name in MORE_PHOTOS or name in extra
        array = read_array(path, draft=1024 if big else 0)  # many megapixels: decode at 1/2..1/8
        splits[split_name].append(Photo(name, path, array))
    if not splits["train"] or not splits["test"] or not splits["valid"]:
        raise DataMissing("the built-in photos are missing (they ship in the scikit-image, scikit-learn and matplotlib "
                          "wheels, and Debian's mate-backgrounds): pip install scikit-image, or pass --data DIR")
    return splits


def user_photos(data: str, seed: int, keep=None, what: str = "") -> dict[str, list[Photo]]:
    """A user's images by split; `keep(array)` filters them before any is held out (colour ones, say)."""
    root = Path(data)
    keep = keep or (lambda array: True)
    if not root.exists():
        raise ZooError(f"--data {data}: no such file or folder")
    if root.is_dir() and (root / "train").is_dir():
        splits = {}
        for split in ("train", "valid", "test"):
            folder = root / split
            found = read_many(find_images(folder)) if folder.is_dir() else []
            splits[split] = [Photo(p.stem, p, a) for p, a in found if keep(a)]
        if not splits["train"]:
            raise ZooError(f"{root / 'train'}: holds no readable image")
        spare = [s for s in ("valid", "test") if not splits[s]]
        if spare:  # hold whole images out of train for the missing splits
            photos = splits["train"]
            if len(photos) < 1 + len(spare):
                raise ZooError(f"{root / 'train'}: {len(photos)} image(s); need {1 + len(spare)} to hold out "
                               f"{' and '.join(spare)} (or give {root}/{spare[0]})")
            order = torch.randperm(len(photos), generator=torch.Generator().manual_seed(seed)).tolist()
            for s in spare:
                splits[s] = [photos[order.pop()]]
            splits["train"] = [photos[i] for i in sorted(order)]
        return splits
    found = [(p, a) for p, a in read_many(find_images(root)) if keep(a)]
    if len(found) < 3:
        raise ZooError(f"--data {data}: {len(found)} readable {what}image(s); need at least 3 (whole images are held out "
                       "for validation and test)")
    order = torch.randperm(len(found), generator=torch.Generator().manual_seed(seed)).tolist()
    held = max(1, round(0.15 * len(found)))
    parts = {"test": order[:held], "valid": order[held:2 * held], "train": order[2 * held:]}
    return {s: [Photo(found[i][0].stem, found[i][0], found[i][1]) for i in sorted(idx)] for s, idx in parts.items()}


def prepared(data: str | None, seed: int, channels: int, max_side: int, min_size: int,
             colour_only: bool = False, more: bool = False, extra=None,
             split=None) -> dict[str, list[tuple[str, torch.Tensor]]]:
    """Photos by split as C x H x W tensors in the recipe's channels; too-small images are an error naming them.
    `extra` and `split`: a recipe's own built-in photos and split of them (see default_photos)."""
    colour = (lambda a: not is_grey(a)) if colour_only else None
    splits = (user_photos(data, seed, colour, "colour " if colour_only else "") if data
              else default_photos(more, extra, split))
    out: dict[str, list[tuple[str, torch.Tensor]]] = {}
    for split, photos in splits.items():
        kept = []
        for photo in photos:
            if colour_only and is_grey(photo.array):
                continue  # a grey photo holds no colour to learn or to score
            array = limit_side(to_channels(photo.array, channels), max_side)
            h, w = array.shape[:2]
            if min(h, w) < min_size:
                raise ZooError(f"{photo.path}: {w}x{h} pixels is smaller than the {min_size}-pixel crop this recipe "
                               f"needs (lower data.crop, or leave the image out)")
            kept.append((photo.name, to_tensor(array)))
        if not kept:
            raise ZooError(f"{data or 'the built-in photos'}: no {'colour ' if colour_only else ''}image left for "
                           f"the {split} split")
        out[split] = kept
    return out


# -- windows, crops, symmetries ----------------------------------------------------------------------
class Windows(Dataset):
    """Every `size` x `size` window of the images on a grid of `stride` (images narrower than a window are
    reflect-padded); each item is make(window) -> (input, target), by default (window, window). The augment
    cuts random crops out of them and remakes the input from the target."""

    def __init__(self, images: list[torch.Tensor], size: int, stride: int, make=None):
        self.images, self.size, self.make = images, size, make
        self.index = []
        for i, img in enumerate(images):
            h, w = img.shape[-2:]
            if h < size or w < size:
                pad = (0, max(0, size - w), 0, max(0, size - h))
                mode = "reflect" if size - w < w and size - h < h else "replicate"
                self.images[i] = img = F.pad(img[None], pad, mode=mode)[0]
                h, w = img.shape[-2:]
            ys = list(range(0, h - size + 1, stride)) or [0]
            xs = list(range(0, w - size + 1, stride)) or [0]
            self.index += [(i, y, x) for y in ys for x in xs]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int):
        i, y, x = self.index[k]
        window = self.images[i][:, y:y + self.size, x:x + self.size]
        return self.make(window) if self.make is not None else (window, window)


def random_crops(batch: torch.Tensor, size: int) -> torch.Tensor:
    """One random size x size crop per sample, drawn on its own."""
    n, _, h, w = batch.shape
    ys = torch.randint(0, h - size + 1, (n,)).tolist()
    xs = torch.randint(0, w - size + 1, (n,)).tolist()
    return torch.stack([batch[i, :, y:y + size, x:x + size] for i, (y, x) in enumerate(zip(ys, xs))])


def random_symmetry(batch: torch.Tensor, rotate: bool = True) -> torch.Tensor:
    """Each sample turned by one of the 8 symmetries of the square (or only mirrored, rotate=False)."""
    k = torch.randint(0, 8 if rotate else 2, (batch.shape[0],)).tolist()
    return torch.stack([(img.flip(-1) if j % 2 else img).rot90(j // 2, (-2, -1)) for img, j in zip(batch, k)])


def key_seed(*parts: Any) -> int:
    """A stable seed from names and numbers (the same in every process and run)."""
    return zlib.crc32(":".join(str(p) for p in parts).encode())




def tile_grid(h: int, w: int, tile: int) -> list[tuple[int, int]]:
    """Top-left corners of non-overlapping tiles covering an image (the last row and column flush with its edge)."""
    ys = list(range(0, h - tile + 1, tile)) + ([h - tile] if (h - tile) % tile else [])
    xs = list(range(0, w - tile + 1, tile)) + ([w - tile] if (w - tile) % tile else [])
    return [(y, x) for y in sorted(set(ys)) for x in sorted(set(xs))]


class HeldOut(Dataset):
    """Tiles of held-out photos for the per-batch loss, made into (input, target) by `make(tile, key)`;
    `photos` keeps the whole photos for the task's own evaluation."""

    def __init__(self, photos: list[tuple[str, torch.Tensor]], tile: int, make):
        self.photos, self.make = photos, make
        self.items = []
        for name, img in photos:
            h, w = img.shape[-2:]
            t = min(tile, h, w)
            self.items += [(name, img[:, y:y + t, x:x + t], f"{name}@{y},{x}") for y, x in tile_grid(h, w, t)]
        sizes = {tuple(it[1].shape) for it in self.items}
        if len(sizes) > 1:  # tiles of one size batch together: cut every photo's tiles to the smallest
            t = min(min(s[1], s[2]) for s in sizes)
            self.items = [(n, im[:, :t, :t], k) for n, im, k in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        _, tile, key = self.items[i]
        return self.make(tile, key, i)


def bundle_info(splits, **extra) -> dict[str, Any]:
    return {"photos": {s: [n for n, _ in p] for s, p in splits.items()}, **extra}


def check_crop(name: str, crop: int, minimum: int, multiple: int = 1) -> None:
    if crop < minimum or crop % multiple:
        raise ZooError(f"--set data.crop: {name} needs a crop of at least {minimum} pixels"
                       + (f" and a multiple of {multiple}" if multiple > 1 else "") + f", got {crop}")
