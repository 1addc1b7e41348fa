"""Pictures and whole-slide images for `zoo predict` on medical/pathology-nuclei: where the tissue is, the tiles to
read (with overlap), and the outputs a pathologist opens (GeoJSON polygons for QuPath, an overlay PNG).

A slide (.svs, .ndpi, .scn, a pyramidal TIFF) is read through tiffslide, window by window, never whole. Its tissue
is found on a thumbnail: pixels darker than the Otsu threshold of its grey levels (glass is bright), closed, holes
filled, specks removed (as histolab's TissueMask does). A slide scanned finer than 0.35 um per pixel is read
downsampled to about 0.5 um per pixel (nuclei 8-22 px across, the sizes the network learnt). A picture (PNG, JPEG,
a plain TIFF) is held in memory; a grey one is fluorescence, where all of it is searched.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from zoo import ZooError

from .nuclei import is_grey, normalize, nuclear_channel, otsu_area, percentiles, read_picture

SLIDES = {".svs", ".ndpi", ".scn", ".bif", ".svslide", ".vms", ".vmu"}
MAX_PICTURE = 8192 * 8192  # pixels of a picture read whole; bigger ones should come as a pyramidal slide
THUMBNAIL = 1024  # longest side of the picture the tissue is found on and the overlay drawn over
TISSUE_SHARE = 0.05  # a tile with less tissue than this is skipped


class Source:
    """A picture or slide: its size in working pixels, `scale` (file pixels per working pixel), `mpp` (microns per
    working pixel, when known), a thumbnail (RGB) with its tissue mask, and `read(x, y, w, h)`: the normalised
    nuclear channel of a window in working pixels, padded by reflection where it passes the edge."""

    kind = "picture"
    path: Path
    width: int
    height: int
    scale: int = 1
    mpp: float | None = None
    full_width: int  # in the file's pixels (level 0)
    full_height: int
    thumbnail: np.ndarray
    tissue: np.ndarray
    tiles: list[tuple[int, int, int, int, float]]  # x, y, w, h in working pixels, tissue share

    def read(self, x: int, y: int, w: int, h: int) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "width_px": self.full_width, "height_px": self.full_height,
                "read_downsampled": self.scale, "microns_per_pixel": self.mpp, "tiles": len(self.tiles)}


def _padded(channel: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    H, W = channel.shape
    window = channel[max(y, 0):min(y + h, H), max(x, 0):min(x + w, W)]
    pads = ((max(-y, 0), h - window.shape[0] - max(-y, 0)), (max(-x, 0), w - window.shape[1] - max(-x, 0)))
    if any(p for pair in pads for p in pair):
        mode = "reflect" if min(window.shape) > max(max(pair) for pair in pads) else "edge"
        window = np.pad(window, pads, mode=mode)
    return window


def nucleus_scale(channel: np.ndarray, trained: float | None) -> int:
    """How many times larger across a picture's nuclei are than the training nuclei, rounded; 1 when less than 1.5
    times or unknown. Both sizes are `otsu_area` (label-free); a run trained before it was recorded reads at 1."""
    area = otsu_area(channel) if trained else None
    if area is None:
        return 1
    ratio = area / trained
    return max(1, min(4, round(ratio ** 0.5))) if ratio >= 2.25 else 1


class PictureSource(Source):
    def __init__(self, path: Path, array: np.ndarray, trained_area: float | None = None):
        from skimage.transform import downscale_local_mean

        self.path = path
        self.full_height, self.full_width = array.shape[:2]
        self.fluorescence = is_grey(array)
        raw = nuclear_channel(array)
        self.scale = nucleus_scale(raw, trained_area)
        if self.scale > 1:  # nuclei far bigger than the training ones: read at a coarser pixel
            raw = downscale_local_mean(raw, (self.scale, self.scale)).astype(np.float32)
        self.height, self.width = raw.shape
        self.norm = percentiles(raw)
        self.channel = normalize(raw, self.norm)
        rgb = array if array.ndim == 3 else np.repeat(array[..., None], 3, -1)
        self.thumbnail = to_uint8(rgb[..., :3])

    def read(self, x, y, w, h):
        return _padded(self.channel, x, y, w, h)


class SlideSource(Source):
    kind = "slide"

    def __init__(self, path: Path):
        import tiffslide

        self.path = path
        try:
            self.slide = tiffslide.TiffSlide(str(path))
            width, height = self.slide.dimensions
            mpp = self.slide.properties.get("tiffslide.mpp-x")
            thumb = np.asarray(self.slide.get_thumbnail((THUMBNAIL, THUMBNAIL)).convert("RGB"))
        except Exception as exc:  # tiffslide and tifffile raise many types on a broken or unknown file
            raise ZooError(f"{path}: not a readable slide ({type(exc).__name__}: {str(exc)[:120]})") from None
        self.mpp = float(mpp) if mpp else None
        self.scale = max(1, round(0.5 / self.mpp)) if self.mpp and self.mpp < 0.35 else 1
        if self.mpp:
            self.mpp *= self.scale
        self.width, self.height = width // self.scale, height // self.scale
        self.full_width, self.full_height = width, height
        self.thumbnail = thumb
        self.fluorescence = is_grey(thumb)
        self.norm = (0.0, 1.0)

    def raw(self, x, y, w, h) -> np.ndarray:
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, self.width), min(y + h, self.height)
        s = self.scale
        region = self.slide.read_region((x0 * s, y0 * s), 0, ((x1 - x0) * s, (y1 - y0) * s)).convert("RGB")
        if s > 1:
            from PIL import Image

            region = region.resize((x1 - x0, y1 - y0), Image.Resampling.BOX)
        channel = nuclear_channel(np.asarray(region))
        return _padded(channel, x - x0, y - y0, w, h) if (x0, y0, x1, y1) != (x, y, x + w, y + h) else channel

    def read(self, x, y, w, h):
        return normalize(self.raw(x, y, w, h), self.norm)


def to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    array = array.astype(np.float32)
    low, high = np.percentile(array, [0.5, 99.8])
    return ((array - low) / max(high - low, 1e-6) * 255).clip(0, 255).astype(np.uint8)


def tissue_mask(thumbnail: np.ndarray, fluorescence: bool) -> np.ndarray:
    """Where the tissue is on a thumbnail: everything in fluorescence; else darker than glass (Otsu on grey)."""
    from scipy import ndimage
    from skimage.filters import threshold_otsu
    from skimage.morphology import remove_small_objects

    if fluorescence:
        return np.ones(thumbnail.shape[:2], bool)
    grey = thumbnail[..., :3].astype(np.float32).mean(-1)
    step = max(1, -(-max(grey.shape) // THUMBNAIL))  # a big picture's tissue is found on every step-th pixel
    grey = grey[::step, ::step]
    glass = 0.86 * (255.0 if thumbnail.dtype == np.uint8 else float(grey.max()))  # nothing this bright is tissue
    if grey.max() - grey.min() < 1:
        return grey < glass
    mask = grey < min(threshold_otsu(grey), glass)
    mask = ndimage.binary_closing(mask, iterations=2)
    mask = ndimage.binary_fill_holes(mask)
    return remove_small_objects(mask, max_size=max(4, mask.size // 5000))


def layout(length: int, tile: int, overlap: int) -> list[int]:
    """Tile starts covering 0..length with at least `overlap` pixels shared by neighbours."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile + 1, tile - overlap))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def read_input(text: str, info: dict[str, Any]) -> Source:
    """`zoo predict` input: a picture (PNG, JPEG, TIFF) or a whole-slide image (.svs, pyramidal .tif, .ndpi...),
    opened, its tissue found and its tiles laid out; the pixels are read tile by tile when the model runs."""
    path = Path(text)
    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    return open_source(path, info)


def open_source(path: Path, info: dict[str, Any], tile: int | None = None, overlap: int = 48) -> Source:
    """A picture or a slide, its tissue found and its tiles laid out (tile = twice the training size by default)."""
    suffix = path.suffix.lower()
    if suffix in SLIDES or (suffix in (".tif", ".tiff") and pyramidal(path)):
        source: Source = SlideSource(path)
    else:
        array = read_picture(path)
        if array.shape[0] * array.shape[1] > MAX_PICTURE:
            raise ZooError(f"{path}: {array.shape[1]}x{array.shape[0]} px is too big to read whole; save it as a "
                           "pyramidal TIFF (or .svs) to read it tile by tile")
        source = PictureSource(path, array, info.get("otsu_area_px"))
    source.tissue = tissue_mask(source.thumbnail, source.fluorescence)
    tile = tile or 2 * int(info.get("image_size", 128))
    tile_w, tile_h = min(tile, source.width), min(tile, source.height)
    th, tw = source.tissue.shape
    fy, fx = th / source.height, tw / source.width
    source.tiles = []
    for y in layout(source.height, tile, overlap):
        for x in layout(source.width, tile, overlap):
            part = source.tissue[int(y * fy):max(int(math.ceil((y + tile_h) * fy)), int(y * fy) + 1),
                                 int(x * fx):max(int(math.ceil((x + tile_w) * fx)), int(x * fx) + 1)]
            share = float(part.mean()) if part.size else 0.0
            if share >= TISSUE_SHARE:
                source.tiles.append((x, y, tile_w, tile_h, share))
    if not source.tiles:
        raise ZooError(f"{path}: no tissue found (the whole picture is as bright as glass)")
    if isinstance(source, SlideSource):  # the slide's scale: percentiles over up to 12 of its tissue tiles
        pick = np.linspace(0, len(source.tiles) - 1, min(12, len(source.tiles))).round().astype(int)
        values = np.concatenate([source.raw(*source.tiles[i][:4]).ravel() for i in pick])
        source.norm = percentiles(values)
    return source


def pyramidal(path: Path) -> bool:
    """Whether a TIFF is a slide: several resolution levels, or tiled and bigger than a picture read whole."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            page = tif.pages[0]
            return len(series.levels) > 1 or (page.is_tiled and page.imagewidth * page.imagelength > MAX_PICTURE)
    except Exception as exc:  # a broken TIFF: say so once, naming the file
        raise ZooError(f"{path}: not a readable TIFF ({type(exc).__name__}: {str(exc)[:120]})") from None


# -- outputs ----------------------------------------------------------------------------------------------------------
def outline(mask: np.ndarray) -> np.ndarray | None:
    """The outer border of one nucleus's mask as a closed ring of (x, y) pixel corners' centres, simplified
    (skimage find_contours + approximate_polygon); None for a mask too small to outline."""
    from skimage.measure import approximate_polygon, find_contours

    contours = find_contours(np.pad(mask, 1).astype(np.float32), 0.5)
    if not contours:
        return None
    ring = approximate_polygon(max(contours, key=len), tolerance=0.5)[:, ::-1] - 1  # (x, y), pad undone
    if len(ring) < 4:
        return None
    if not np.array_equal(ring[0], ring[-1]):
        ring = np.vstack([ring, ring[:1]])
    return ring


def geojson(nuclei: list[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of detections as QuPath imports it (File > Import objects), in level-0 pixels."""
    features = []
    for n in nuclei:
        features.append({"type": "Feature", "id": f"nucleus-{n['id']}",
                         "geometry": {"type": "Polygon", "coordinates": [np.round(n["ring"], 2).tolist()]},
                         "properties": {"objectType": "detection",
                                        "classification": {"name": "Nucleus", "color": [40, 200, 255]},
                                        "measurements": {"area_px": n["area"], "score": n["score"]}}})
    return {"type": "FeatureCollection", "features": features}


def draw_overlay(source: Source, nuclei: list[dict[str, Any]], path: Path) -> Path:
    """The picture (or the slide's thumbnail) with each nucleus outlined and the skipped, tissue-free parts dimmed."""
    from PIL import Image, ImageDraw

    if isinstance(source, SlideSource):  # the slide read again at up to 2048 px, so that outlines can be seen
        picture = source.slide.get_thumbnail((2048, 2048)).convert("RGB")
    else:
        picture = Image.fromarray(source.thumbnail).convert("RGB")
    longest = max(picture.size)
    if longest > 2048:
        picture = picture.resize((round(picture.width * 2048 / longest), round(picture.height * 2048 / longest)))
    f = picture.width / source.full_width  # overlay pixels per level-0 pixel
    tissue = Image.fromarray(source.tissue.astype(np.uint8) * 255).resize(picture.size)
    picture = Image.composite(picture, Image.blend(picture, Image.new("RGB", picture.size, "black"), 0.5), tissue)
    draw = ImageDraw.Draw(picture)
    width = 1 if f < 1.5 else 2
    for n in nuclei:
        draw.line([(float(x) * f, float(y) * f) for x, y in n["ring"]], fill=(255, 230, 0), width=width)
    picture.save(path)
    return path
