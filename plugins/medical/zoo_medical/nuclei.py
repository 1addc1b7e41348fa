"""Nuclei data: the simulated default and users' labelled images (StarDist/DSB2018 image + mask pairs, DSB2018 sample
folders, MoNuSeg XML polygons); the `zoo predict` reader (a picture, or a whole slide read tile by tile) is
nuclei_slide.read_input.

The network sees one channel, the nuclear stain: the haematoxylin of a colour (H&E) image by colour deconvolution
(skimage.color.rgb2hed), the intensity of a grey (fluorescence) image as it is, then each tile scaled by its 1st and
99.8th percentiles (as StarDist normalises). So one model reads brightfield and fluorescence pictures alike.
A training item is (1 x S x S, {"labels": instance ids S x S, "dist": each nucleus's distance to its border,
scaled to 1 at its centre}).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.data import DataBundle, grouped_split, split_indices

from .nuclei_sim import generated

PICTURES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
LOW, HIGH = 1.0, 99.8  # the percentiles a picture is scaled by


# -- one picture ----------------------------------------------------------------------------------------------
def read_picture(path: Path) -> np.ndarray:
    """An image file as an array (H x W grey or H x W x C colour), TIFF through tifffile, the rest through PIL."""
    if path.suffix.lower() not in PICTURES:
        raise ZooError(f"{path}: expected an image (.tif, .png, .jpg), got {path.suffix or 'no suffix'}")
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            array = tifffile.imread(path)
        else:
            from PIL import Image

            with Image.open(path) as img:
                img.load()
                array = np.asarray(img.convert("RGB") if img.mode in ("P", "RGBA", "LA", "CMYK") else img)
    except Exception as exc:  # tifffile and PIL raise many types on a broken file
        raise ZooError(f"{path}: not a readable image ({type(exc).__name__}: {str(exc)[:120]})") from None
    array = np.squeeze(array)
    if array.size == 0:
        raise ZooError(f"{path}: not a readable image (no pixels in it)")
    if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[-1] not in (3, 4):
        array = np.moveaxis(array, 0, -1)  # channels first (some TIFFs)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)) or min(array.shape[:2]) < 8:
        raise ZooError(f"{path}: expected one 2D picture (grey or RGB), got an array of shape {array.shape}")
    return array


def is_grey(array: np.ndarray) -> bool:
    if array.ndim == 2:
        return True
    rgb = array[..., :3].astype(np.float32)
    return float(np.abs(rgb - rgb.mean(-1, keepdims=True)).mean()) < 0.01 * max(float(rgb.max()), 1.0)


def nuclear_channel(array: np.ndarray) -> np.ndarray:
    """The nuclear stain as float32 H x W: haematoxylin (rgb2hed) of a colour picture, the intensity of a grey one."""
    if is_grey(array):
        grey = array if array.ndim == 2 else array[..., :3].mean(-1)
        return grey.astype(np.float32)
    from skimage.color import rgb2hed

    rgb = array[..., :3].astype(np.float32)
    rgb = rgb / (65535.0 if rgb.max() > 255 else 255.0)
    return rgb2hed(rgb)[..., 0].astype(np.float32)


def percentiles(channel: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(channel, [LOW, HIGH])
    return float(low), float(max(high, low + 1e-6))


def normalize(channel: np.ndarray, scale: tuple[float, float] | None = None) -> np.ndarray:
    low, high = scale or percentiles(channel)
    return ((channel - low) / (high - low)).clip(-1, 3).astype(np.float32)


def otsu_area(channel: np.ndarray) -> float | None:
    """The median area of the objects above the Otsu threshold of the smoothed channel (touching nuclei merged):
    a label-free measure of nucleus size, compared between a picture and the training tiles."""
    from scipy import ndimage
    from skimage.filters import gaussian, threshold_otsu

    if channel.max() - channel.min() < 1e-6:
        return None
    smooth = gaussian(channel.astype(np.float32), 1.0)
    objects, _ = ndimage.label(smooth > threshold_otsu(smooth))
    areas = np.bincount(objects.ravel())[1:]
    areas = areas[areas >= 8]
    return float(np.median(areas)) if len(areas) >= 3 else None


def distance_map(labels: np.ndarray) -> np.ndarray:
    """Each nucleus's Euclidean distance to its border (touching nuclei part at their shared border), divided by
    its largest value: 1 at the nucleus's centre, falling to 0 at its edge; 0 on the background."""
    from scipy import ndimage
    from skimage.segmentation import find_boundaries

    inner = (labels > 0) & ~find_boundaries(labels, mode="inner")
    dist = ndimage.distance_transform_edt(inner) + (labels > 0)  # border pixels 1, not 0
    peak = ndimage.maximum(dist, labels, index=np.arange(labels.max() + 1))
    peak[0] = 1.0
    return (dist / np.asarray(peak)[labels]).astype(np.float32)


# -- training data -----------------------------------------------------------------------------------------------
class NucleiTiles(Dataset):
    """Normalised nuclear channel (float16 N x S x S), instance labels (int32) and distance maps (float16); training
    items get random flips, quarter turns, contrast and brightness (labels turned alike)."""

    def __init__(self, pictures: torch.Tensor, labels: torch.Tensor, dist: torch.Tensor, augment: bool = False):
        self.pictures, self.labels, self.dist, self.augment = pictures, labels, dist, augment

    def __len__(self) -> int:
        return len(self.pictures)

    def __getitem__(self, i: int):
        x, labels, dist = self.pictures[i][None].float(), self.labels[i].long(), self.dist[i].float()
        if self.augment:
            turns = int(torch.randint(4, ()))
            x, labels, dist = (t.rot90(turns, (-2, -1)) for t in (x, labels, dist))
            if torch.rand(()) < 0.5:
                x, labels, dist = x.flip(-1), labels.flip(-1), dist.flip(-1)
            x = x * torch.empty(()).uniform_(0.7, 1.3) + torch.empty(()).uniform_(-0.1, 0.1)
        return x, {"labels": labels, "dist": dist}


def training_otsu_area(channels) -> float | None:
    """`otsu_area` of training tiles, their median: what a picture's nuclei are compared with at prediction."""
    found = [a for a in (otsu_area(np.asarray(c, np.float32)) for c in channels) if a is not None]
    return round(float(np.median(found)), 1) if found else None


def tiles_of(channel: np.ndarray, labels: np.ndarray, size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A labelled picture cut into size x size tiles (the last row and column padded), labels renumbered per tile."""
    from skimage.segmentation import relabel_sequential

    h, w = channel.shape
    H, W = -(-h // size) * size, -(-w // size) * size
    channel = np.pad(channel, ((0, H - h), (0, W - w)), mode="reflect" if min(h, w) > 1 else "edge")
    labels = np.pad(labels, ((0, H - h), (0, W - w)))
    out = []
    for y in range(0, H, size):
        for x in range(0, W, size):
            out.append((channel[y:y + size, x:x + size], relabel_sequential(labels[y:y + size, x:x + size])[0]))
    return out


def nuclei_tiles(data: str | None = None, seed: int = 0, count: int = 1500, image_size: int = 96,
                 data_seed: int = 0, fluorescence: float = 0.5, augment: bool = True) -> DataBundle:
    """medical/nuclei-tiles: simulated H&E and fluorescence tiles (default) or labelled pictures under `data`."""
    if image_size % 16 or image_size < 32:
        raise ZooError(f"--set data.image_size={image_size}: must be a multiple of 16, at least 32")
    if not 0 <= fluorescence <= 1:
        raise ZooError(f"--set data.fluorescence={fluorescence}: a share between 0 and 1")
    if data is None:
        if count < 10:
            raise ZooError(f"--set data.count={count}: at least 10 tiles (train, valid and test splits)")
        arrays = generated(count, image_size, data_seed, fluorescence)
        pairs = [(normalize(nuclear_channel(img)), lab) for img, lab in zip(arrays["images"], arrays["labels"])]
        parts = split_indices(count, (0.7, 0.1, 0.2), data_seed)
        source = "simulated"
    else:
        pictures = labelled_pictures(Path(data))
        pairs, groups = [], []
        for name, channel, labels in pictures:
            for tile in tiles_of(normalize(channel), labels, image_size):
                pairs.append(tile)
                groups.append(name)  # tiles of one picture stay in one split
        parts = grouped_split(groups, (0.7, 0.1, 0.2), seed)
        source = "labelled pictures"
    channels = torch.from_numpy(np.stack([p for p, _ in pairs])).half()
    labels = torch.from_numpy(np.stack([lab for _, lab in pairs]).astype(np.int32))
    dist = torch.from_numpy(np.stack([distance_map(lab) for _, lab in pairs])).half()
    sizes = [np.bincount(lab.ravel())[1:] for _, lab in pairs]
    areas = np.concatenate([s[s > 0] for s in sizes]) if sizes else np.array([1.0])
    info = {"dataset": source, "image_size": image_size, "input": "nuclear channel (haematoxylin or fluorescence), "
            f"scaled by its {LOW:g}th and {HIGH:g}th percentiles",
            "median_nucleus_area_px": round(float(np.median(areas)), 1) if len(areas) else None,
            "otsu_area_px": training_otsu_area([pairs[i][0] for i in parts[0][:200]])}

    def subset(idx, train=False):
        idx = torch.as_tensor(idx, dtype=torch.long)
        return NucleiTiles(channels[idx], labels[idx], dist[idx], augment=augment and train)

    return DataBundle(train=subset(parts[0], True), valid=subset(parts[1]), test=subset(parts[2]),
                      model_args={"in_channels": 1, "out_channels": 2, "image_size": image_size}, info=info)


# -- users' labelled pictures ---------------------------------------------------------------------------------------
def labelled_pictures(folder: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, nuclear channel, instance labels) of every labelled picture below `folder`, in one of three layouts:
    MoNuSeg (an image and `NAME.xml` of polygons, any folders), StarDist/DSB2018 pairs (`images/NAME` and
    `masks/NAME`, the mask a label image), or DSB2018 sample folders (`ID/images/ID.png` and one binary PNG per
    nucleus in `ID/masks/`)."""
    if not folder.is_dir():
        raise ZooError(f"--data {folder}: not a folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    xmls = [p for p in files if p.suffix.lower() == ".xml"]
    out = []
    if xmls:
        pictures = {p.stem: p for p in files if p.suffix.lower() in PICTURES}
        for xml in xmls:
            if xml.stem not in pictures:
                raise ZooError(f"{xml}: no image {xml.stem}.tif (or .png) beside it below {folder}")
            array = read_picture(pictures[xml.stem])
            out.append((xml.stem, nuclear_channel(array), monuseg_labels(xml, array.shape[:2])))
    else:
        for mask_folder in sorted({p.parent for p in files if p.parent.name == "masks"}):
            image_folder = mask_folder.parent / "images"
            images = sorted(p for p in image_folder.glob("*") if p.suffix.lower() in PICTURES)
            masks = sorted(p for p in mask_folder.glob("*") if p.suffix.lower() in PICTURES)
            if not images:
                raise ZooError(f"{mask_folder}: no images/ folder with pictures beside it")
            by_name = {p.stem: p for p in masks}
            if len(images) == 1 and images[0].stem not in by_name:  # DSB2018: one binary mask per nucleus
                array = read_picture(images[0])
                out.append((images[0].stem, nuclear_channel(array), dsb_labels(masks, array.shape[:2])))
                continue
            for image in images:
                mask = by_name.get(image.stem)
                if mask is None:
                    raise ZooError(f"{image}: no mask {image.stem}.* in {mask_folder}")
                array = read_picture(image)
                labels = read_picture(mask)
                if labels.ndim != 2 or labels.shape != array.shape[:2]:
                    raise ZooError(f"{mask}: a {labels.shape} mask for a {array.shape[:2]} image; expected one "
                                   "label image (0 background, one integer per nucleus) of the image's size")
                if np.issubdtype(labels.dtype, np.floating) and not np.all(labels == np.round(labels)):
                    raise ZooError(f"{mask}: not a label image (its values are not whole numbers)")
                out.append((image.stem, nuclear_channel(array), labels.astype(np.int32)))
    if not out:
        raise ZooError(f"--data {folder}: no labelled pictures (MoNuSeg NAME.tif + NAME.xml, or images/ and masks/ "
                       "folders as StarDist and DSB2018 use)")
    return out


def dsb_labels(masks: list[Path], shape: tuple[int, int]) -> np.ndarray:
    labels = np.zeros(shape, np.int32)
    for k, mask in enumerate(masks, start=1):
        region = read_picture(mask)
        if region.shape[:2] != shape:
            raise ZooError(f"{mask}: {region.shape[:2]} px, but its image is {shape}")
        labels[(region if region.ndim == 2 else region[..., 0]) > 0] = k
    return labels


def monuseg_labels(xml: Path, shape: tuple[int, int]) -> np.ndarray:
    """MoNuSeg's annotation (Annotations/Annotation/Regions/Region/Vertices/Vertex X= Y=) drawn as instance labels
    (skimage.draw.polygon); a region drawn later covers an earlier one where they overlap."""
    from skimage.draw import polygon

    try:
        root = ET.parse(xml).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ZooError(f"{xml}: not readable XML ({exc})") from None
    regions = root.findall(".//Region")
    if not regions:
        raise ZooError(f"{xml}: no <Region> polygons (expected MoNuSeg's Annotations/Annotation/Regions/Region)")
    labels = np.zeros(shape, np.int32)
    for k, region in enumerate(regions, start=1):
        try:
            points = np.array([(float(v.get("X")), float(v.get("Y"))) for v in region.iter("Vertex")])
        except (TypeError, ValueError):
            raise ZooError(f"{xml}: region {region.get('Id', k)} has a vertex without numeric X and Y") from None
        if len(points) < 3:
            raise ZooError(f"{xml}: region {region.get('Id', k)} has {len(points)} vertices; a polygon needs 3")
        rr, cc = polygon(points[:, 1], points[:, 0], shape=shape)
        labels[rr, cc] = k
    return labels
