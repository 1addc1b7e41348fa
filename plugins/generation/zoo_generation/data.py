"""Photos that install offline, users' image folders, Fashion-MNIST; the datasets of each recipe.

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
from zoo.data import DataBundle, idx_file, read_idx, stratified_split
from zoo.paths import package_dir

from .images import find_images, is_grey, limit_side, read_array, read_many, to_channels, to_tensor

# -- the default photos ----------------------------------------------------------------------------
MATE = Path("/usr/share/backgrounds/mate")
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
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
STYLE_DEFAULT = ("mate", "abstract/Elephants.jpg", "GPL-2+ (Wyng Stancikaite, MATE backgrounds)")
TEST = ["astronaut", "coffee", "china", "camera", "ladybird", "storm"]
VALID = ["chelsea", "flower", "garden"]
def photo_path(where: str, file: str) -> Path:
    """A built-in photo's file (a missing package: a path that does not exist, and the photo is left out)."""
    if where == "mate":
        return MATE / file
    try:
        return package_dir(where, "generation's built-in photos") / file
    except DataMissing:
        return Path("/nonexistent") / file


@dataclass
class Photo:
    name: str
    path: Path
    array: np.ndarray  # H x W x C in [0, 1], C = 1 or 3, as read


def default_photos() -> dict[str, list[Photo]]:
    """The built-in photos by split; those whose package is not installed are left out."""
    splits: dict[str, list[Photo]] = {"train": [], "valid": [], "test": []}
    for name, (where, file, _) in PHOTOS.items():
        path = photo_path(where, file)
        if not path.is_file():
            continue
        split = "test" if name in TEST else "valid" if name in VALID else "train"
        splits[split].append(Photo(name, path, read_array(path)))
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
             colour_only: bool = False) -> dict[str, list[tuple[str, torch.Tensor]]]:
    """Photos by split as C x H x W tensors in the recipe's channels; too-small images are an error naming them."""
    colour = (lambda a: not is_grey(a)) if colour_only else None
    splits = user_photos(data, seed, colour, "colour " if colour_only else "") if data else default_photos()
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


def gaussian_noise(shape, sigma: float, key: str) -> torch.Tensor:
    """Noise of std sigma/255 from a generator seeded by `key`: the same for the model and for the baselines."""
    g = torch.Generator().manual_seed(key_seed(key, sigma))
    return torch.randn(shape, generator=g) * (sigma / 255.0)


def noisy_photo(name: str, clean: torch.Tensor, sigma: float) -> torch.Tensor:
    """A held-out photo with its own fixed noise of level sigma (0-255 scale): what the network and the
    classical baselines are all scored on."""
    return clean + gaussian_noise(clean.shape, sigma, f"photo:{name}")


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


def _bundle_info(splits, **extra) -> dict[str, Any]:
    return {"photos": {s: [n for n, _ in p] for s, p in splits.items()}, **extra}


def _parse_levels(text: str | int | float) -> list[float]:
    try:
        levels = [float(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        levels = []
    if not levels or min(levels) <= 0:
        raise ZooError(f"--set data.sigmas: expected noise levels on 0-255 like '15,25,50', got {text!r}")
    return levels


def _check_crop(name: str, crop: int, minimum: int, multiple: int = 1) -> None:
    if crop < minimum or crop % multiple:
        raise ZooError(f"--set data.crop: {name} needs a crop of at least {minimum} pixels"
                       + (f" and a multiple of {multiple}" if multiple > 1 else "") + f", got {crop}")


# -- denoising ---------------------------------------------------------------------------------------
class NoiseAugment:
    """Random crop and symmetry of the clean window, then Gaussian noise of a level drawn per sample from
    [0, sigma_max] (on 0-255): one network for every level, blind to it."""

    def __init__(self, crop: int, sigma_max: float):
        self.crop, self.sigma_max = crop, sigma_max

    def __call__(self, x, y):
        clean = random_symmetry(random_crops(y, self.crop))
        sigma = torch.rand(clean.shape[0], 1, 1, 1, device=clean.device) * (self.sigma_max / 255.0)
        return clean + sigma * torch.randn_like(clean), clean


def denoise_photos(data: str | None = None, seed: int = 0, crop: int = 48, channels: int = 1, max_side: int = 512,
                   sigmas: str = "15,25,50", sigma_max: float = 55.0, tile: int = 96) -> DataBundle:
    _check_crop("denoising", crop, 8)
    levels = _parse_levels(sigmas)
    splits = prepared(data, seed, channels, max_side, crop)

    def noisy(level_of):
        def make(tile_img, key, i):
            sigma = level_of(i)
            return tile_img + gaussian_noise(tile_img.shape, sigma, key), tile_img
        return make

    held = {s: HeldOut(splits[s], tile, noisy(lambda i: levels[i % len(levels)])) for s in ("valid", "test")}
    window = crop + crop // 2
    return DataBundle(train=Windows([im for _, im in splits["train"]], window, window // 2), valid=held["valid"],
                      test=held["test"], augment=NoiseAugment(crop, sigma_max),
                      model_args={"channels": channels},
                      info=_bundle_info(splits, channels=channels, sigmas=levels, sigma_max=sigma_max, kind="denoise"))


# -- super-resolution --------------------------------------------------------------------------------
def downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The low-resolution image: antialiased bicubic shrinking by `scale` (N x C x H x W, H and W its multiples)."""
    return F.interpolate(hr, scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def crop_to_multiple(img: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = img.shape[-2:]
    return img[..., : h - h % multiple, : w - w % multiple]


class DownscaleAugment:
    def __init__(self, crop: int, scale: int):
        self.crop, self.scale = crop, scale

    def __call__(self, x, y):
        hr = random_symmetry(random_crops(y, self.crop))
        return downscale(hr, self.scale), hr


def sr_photos(data: str | None = None, seed: int = 0, scale: int = 2, crop: int = 64, channels: int = 1,
              max_side: int = 512, tile: int = 96) -> DataBundle:
    if scale not in (2, 3, 4, 8):
        raise ZooError(f"--set data.scale: expected 2, 3, 4 or 8, got {scale}")
    _check_crop(f"x{scale} super-resolution", crop, 4 * scale, scale)
    splits = prepared(data, seed, channels, max_side, max(crop, scale))
    tile = tile - tile % scale

    def make(tile_img, key, i):
        hr = crop_to_multiple(tile_img, scale)
        return downscale(hr[None], scale)[0], hr

    held = {s: HeldOut(splits[s], tile, make) for s in ("valid", "test")}
    window = (crop + crop // 2) // scale * scale
    train = Windows([im for _, im in splits["train"]], window, window // 2, lambda w: make(w, "", 0))
    return DataBundle(train=train, valid=held["valid"], test=held["test"], augment=DownscaleAugment(crop, scale),
                      model_args={"channels": channels, "scale": scale},
                      info=_bundle_info(splits, channels=channels, scale=scale, kind="super-resolution"))


# -- colorization ------------------------------------------------------------------------------------
AB_RANGE = 110.0


def rgb_to_lab(img: torch.Tensor) -> torch.Tensor:
    """3 x H x W RGB in [0, 1] -> Lab (L in 0-100, a and b in about -110..110), by scikit-image."""
    from skimage.color import rgb2lab

    return torch.from_numpy(rgb2lab(img.permute(1, 2, 0).numpy()).astype(np.float32)).permute(2, 0, 1).contiguous()


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab -> 3 x H x W RGB in [0, 1], by scikit-image (colours outside sRGB are clipped, silently)."""
    import warnings

    from skimage.color import lab2rgb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        rgb = lab2rgb(lab.permute(1, 2, 0).double().numpy())
    return torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)


def l_input(L: torch.Tensor) -> torch.Tensor:
    """The network's input from the L channel (0-100): centred and scaled."""
    return L / 50.0 - 1.0


def ab_bins(train_lab: list[torch.Tensor], grid: float, rebalance: float) -> tuple[list[list[float]], list[float]]:
    """The quantized ab colours that occur in the training photos (a grid of `grid`), and class-rebalancing
    weights that give rare (saturated) colours more say, as in Zhang, Isola and Efros (2016)."""
    ab = torch.cat([lab[1:].reshape(2, -1) for lab in train_lab], 1)
    side = int(2 * AB_RANGE / grid)
    idx = ((ab.clamp(-AB_RANGE, AB_RANGE - 1e-3) + AB_RANGE) / grid).long()
    counts = torch.bincount(idx[0] * side + idx[1], minlength=side * side).float().view(side, side)
    # smooth the empirical distribution (Gaussian, sigma of half a bin) before weighting by its inverse
    kernel = torch.exp(-torch.arange(-2, 3).float() ** 2 / 2)
    kernel = (kernel[:, None] * kernel[None, :]) / (kernel.sum() ** 2)
    p = F.conv2d((counts / counts.sum())[None, None], kernel[None, None], padding=2)[0, 0]
    keep = counts > 0
    centres = (torch.stack(torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij"), -1).float()
               * grid - AB_RANGE + grid / 2)[keep]
    p = p[keep] / p[keep].sum()
    w = 1.0 / ((1 - rebalance) * p + rebalance / len(p))
    w = w / (p * w).sum()
    return centres.tolist(), w.tolist()


class LabAugment:
    """The same random crop and mirror of the input (L) and the target (ab)."""

    def __init__(self, crop: int):
        self.crop = crop

    def __call__(self, x, y):
        both = random_symmetry(random_crops(torch.cat([x, y], 1), self.crop), rotate=False)
        return both[:, :1], both[:, 1:]


def colorize_photos(data: str | None = None, seed: int = 0, crop: int = 64, max_side: int = 256, tile: int = 96,
                    grid: float = 10.0, rebalance: float = 0.5) -> DataBundle:
    _check_crop("colorization", crop, 8)
    splits = prepared(data, seed, 3, max_side, crop, colour_only=True)
    labs = {s: [(n, rgb_to_lab(im)) for n, im in p] for s, p in splits.items()}
    centres, weights = ab_bins([lab for _, lab in labs["train"]], grid, rebalance)

    def make(tile_lab, key, i):
        return l_input(tile_lab[:1]), tile_lab[1:]

    held = {}
    for s in ("valid", "test"):
        held[s] = HeldOut(labs[s], tile, make)
        held[s].rgb = dict(splits[s])  # the original colours, which evaluation scores against
    mean_ab = torch.cat([lab[1:].reshape(2, -1) for _, lab in labs["train"]], 1).mean(1).tolist()
    window = crop + crop // 2
    train = Windows([lab for _, lab in labs["train"]], window, window // 2, lambda w: make(w, "", 0))
    return DataBundle(train=train, valid=held["valid"], test=held["test"], augment=LabAugment(crop),
                      model_args={"num_bins": len(centres)},
                      info=_bundle_info(splits, ab_bins=centres, bin_weights=weights, mean_ab=mean_ab,
                                        kind="colorize"))


# -- style ---------------------------------------------------------------------------------------------
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
    _check_crop("style transfer", crop, 32)
    styles = style_images(style)
    splits = prepared(data, seed, 3, max_side, crop)
    held = {s: HeldOut(splits[s], tile, lambda t, key, i: (t, t)) for s in ("valid", "test")}
    window = crop + crop // 2
    return DataBundle(train=Windows([im for _, im in splits["train"]], window, window // 2), valid=held["valid"],
                      test=held["test"], augment=CropAugment(crop),
                      info=_bundle_info(splits, style_images=styles, style_side=style_side, crop=crop, kind="style",
                                        style_weight=style_weight, content_weight=content_weight, tv_weight=tv_weight))


def patch_photos(data: str | None = None, seed: int = 0, crop: int = 64, max_side: int = 384) -> DataBundle:
    """Crops of the training photos labelled by the photo they come from: a pretext task that needs no labels
    and teaches an encoder what tells photos apart (colour, texture, edges), which is what Gram-matrix style
    losses compare. Each photo's rightmost `crop` columns are held out (upper half valid, lower half test), so
    evaluation is on pixels never trained on."""
    _check_crop("photo patches", crop, 16)
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


# -- Fashion-MNIST ---------------------------------------------------------------------------------
class Labelled(Dataset):
    """Images in [-1, 1] with their class: x = {'image', 'label'} (the model is conditioned on the class), y = class."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return {"image": self.images[i], "label": self.labels[i]}, self.labels[i]


def fashion_arrays(data: str | None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    folder = Path(data) if data else FASHION_DIR
    if not folder.is_dir():
        raise (ZooError if data else DataMissing)(
            f"{folder}: no Fashion-MNIST folder; install the Debian package dataset-fashion-mnist or pass --data DIR "
            "with the four IDX gz files")
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(idx_file(folder, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(idx_file(folder, f"{prefix}-labels-idx1-ubyte"))
        if len(x) != len(y) or x.ndim != 3:
            raise ZooError(f"{folder}: {prefix} images {x.shape} and labels {y.shape} do not match")
        if y.max() >= len(FASHION_CLASSES):
            raise ZooError(f"{folder}: {prefix} labels go up to {y.max()}; Fashion-MNIST has 10 classes")
        out[split] = (torch.from_numpy(x.copy()).unsqueeze(1).float() / 127.5 - 1, torch.from_numpy(y.astype(np.int64)))
    return out


def fashion_mnist(data: str | None = None, seed: int = 0, classifier: str = "", limit: int = 0,
                  valid_size: int = 5000, steps: int = 30, guidance: float = 2.0, grid_every: int = 2) -> DataBundle:
    """Fashion-MNIST in [-1, 1] with labels; 5,000 training images held out (stratified, as vision/fashion-mnist
    does); `classifier` is a run directory of vision/fashion-mnist-resnet whose features judge the samples;
    `steps` and `guidance` are the sampler's (Euler steps, classifier-free guidance scale), `grid_every` how
    often (epochs) a grid of samples is written to the run directory."""
    if steps < 1 or guidance < 0:
        raise ZooError(f"--set data.steps/data.guidance: need steps >= 1 and guidance >= 0, got {steps}, {guidance}")
    arrays = fashion_arrays(data)
    images, labels = arrays["train"]
    share = min(valid_size / len(labels), 0.5)
    valid, train = stratified_split(labels.tolist(), [share, 1 - share], seed=0)
    if limit:
        train = train[:limit]
    if classifier:
        from zoo.training.checkpoint import of_run
        of_run(classifier)  # a one-line error now if it is not a run directory
        classifier = str(Path(classifier).resolve())
    info = {"classes": FASHION_CLASSES, "num_classes": 10, "classifier": classifier, "kind": "diffusion",
            "image_size": int(images.shape[-1]), "channels": 1, "steps": steps, "guidance": guidance,
            "grid_every": grid_every}
    return DataBundle(train=Labelled(images[train], labels[train]), valid=Labelled(images[valid], labels[valid]),
                      test=Labelled(*arrays["test"]), model_args={"num_classes": 10, "channels": 1}, info=info)
