"""Fetal head ultrasound data: the simulated default, users' images in the HC18 challenge's layout, DICOM ultrasound
with its region calibration, and the `zoo predict` reader.

Every image goes with its pixel spacing in millimetres, so that a circumference measured in pixels becomes one in
millimetres. A training item is (image 1 x S x S normalised, {"mask": head region S x S, "hc_mm": the circumference,
"spacing": mm per model pixel}); the head region is the filled ellipse along the outer border of the skull, where
HC is measured. Images are padded to a square (evenly, black) and resized to S, so a model pixel is
`max(height, width) / S` pixels of the file.
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
from zoo.data import DataBundle, grouped_split, split_indices

from .ultrasound_sim import generated

CSV_SPACING = ("pixel size(mm)", "pixel size (mm)", "pixel_size_mm", "pixel_size", "pixel size", "spacing_mm")
CSV_HC = ("head circumference (mm)", "head circumference(mm)", "hc_mm", "head circumference", "hc")
CSV_NAME = ("filename", "file", "image", "path")
PICTURES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
DICOM = {".dcm", ".dicom"}
CM_UNITS = 3  # DICOM Physical Units X/Y Direction: 3 = cm
SPATIAL_2D = 1  # DICOM Region Spatial Format: 1 = 2D tissue or flow


# -- reading one file -------------------------------------------------------------------------------------
def read_picture(path: Path) -> np.ndarray:
    """A PNG/JPEG/TIFF as grey H x W float32 in [0, 1] (colour is turned to luminance)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I;16", "I;16B", "I", "F"):
                array = np.asarray(img, dtype=np.float32)
                return (array - array.min()) / max(float(array.max() - array.min()), 1e-6)
            return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ZooError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from None


def region_calibration(ds, path: Path) -> tuple[float, float, tuple[int, int, int, int]] | None:
    """(mm per pixel across, mm per pixel down, (x0, y0, x1, y1)) of the largest 2D region of the DICOM Sequence of
    Ultrasound Regions calibrated in cm; None when there is no such region."""
    best = None
    for region in ds.get("SequenceOfUltrasoundRegions", []) or []:
        try:
            if int(region.get("RegionSpatialFormat", 0)) != SPATIAL_2D:
                continue
            if int(region.PhysicalUnitsXDirection) != CM_UNITS or int(region.PhysicalUnitsYDirection) != CM_UNITS:
                continue
            dx, dy = float(region.PhysicalDeltaX) * 10, float(region.PhysicalDeltaY) * 10
            box = (int(region.RegionLocationMinX0), int(region.RegionLocationMinY0),
                   int(region.RegionLocationMaxX1), int(region.RegionLocationMaxY1))
        except (AttributeError, TypeError, ValueError) as exc:
            raise ZooError(f"{path}: a malformed Sequence of Ultrasound Regions item ({exc})") from None
        if dx <= 0 or dy <= 0 or box[2] <= box[0] or box[3] <= box[1]:
            raise ZooError(f"{path}: an ultrasound region with physical delta {dx / 10:g} x {dy / 10:g} cm and "
                           f"bounds {box} cannot calibrate it")
        area = (box[2] - box[0]) * (box[3] - box[1])
        if best is None or area > best[0]:
            best = (area, dx, dy, box)
    return None if best is None else best[1:]


def read_dicom(path: Path) -> tuple[np.ndarray, float | None, str, tuple[int, int]]:
    """A DICOM ultrasound image: grey H x W in [0, 1] (palette and RGB turned to luminance, the middle frame of a
    cine loop), its spacing in mm (the region calibration, else Pixel Spacing, else None), where the spacing came
    from, and the (x, y) of the crop in the file (the calibrated region only, without the annotations around it)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError:
        raise ZooError(f"{path}: not a DICOM file (no DICM preamble)") from None
    except (OSError, EOFError, ValueError) as exc:
        raise ZooError(f"{path}: unreadable DICOM ({exc})") from None
    if "PixelData" not in ds:
        raise ZooError(f"{path}: a DICOM object without pixel data ({ds.get('Modality', '?')})")
    try:
        array = ds.pixel_array
    except Exception as exc:  # missing decoders and corrupt data raise many different types
        raise ZooError(f"{path}: cannot decode its pixel data ({type(exc).__name__}: {exc})") from None
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        array = array[frames // 2]
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        array = apply_color_lut(array, ds)
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 3:  # RGB (pydicom converts YBR to RGB): luminance
        peak = 65535.0 if array.max() > 255 else 255.0
        array = (array[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)) / peak
    else:
        lo, hi = float(array.min()), float(array.max())
        array = (array - lo) / (hi - lo) if hi > lo else np.zeros_like(array)
        if photometric == "MONOCHROME1":
            array = 1 - array
    offset = (0, 0)
    calibrated = region_calibration(ds, path)
    if calibrated is not None:
        dx, dy, (x0, y0, x1, y1) = calibrated
        array = array[y0:y1 + 1, x0:x1 + 1]
        offset = (x0, y0)
        if abs(dx - dy) > 0.01 * dx:  # non-square pixels: resample rows so a pixel is dx mm both ways
            rows = max(1, round(array.shape[0] * dy / dx))
            array = F.interpolate(torch.from_numpy(array)[None, None], size=(rows, array.shape[1]),
                                  mode="bilinear", align_corners=False)[0, 0].numpy()
        return array, dx, f"DICOM ultrasound region calibration ({dx / 10:.5g} cm per pixel)", offset
    spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    if spacing:
        return array, float(spacing[1]), f"DICOM Pixel Spacing ({float(spacing[1]):.4g} mm)", offset
    return array, None, "none", offset


def square(array: np.ndarray, size: int) -> tuple[torch.Tensor, float, tuple[float, float]]:
    """Pad evenly to a square, resize to size x size: the 1 x S x S picture, the file's pixels per model pixel,
    and the padding (x, y) in file pixels."""
    h, w = array.shape
    side = max(h, w)
    pad_x, pad_y = (side - w) // 2, (side - h) // 2
    canvas = np.zeros((side, side), np.float32)
    canvas[pad_y:pad_y + h, pad_x:pad_x + w] = array
    picture = torch.from_numpy(canvas)[None, None]
    if side != size:
        picture = F.interpolate(picture, size=(size, size), mode="bilinear", align_corners=False,
                                antialias=side > size)
    return picture[0].clamp(0, 1), side / size, (pad_x, pad_y)


def square_mask(mask: np.ndarray, size: int) -> torch.Tensor:
    h, w = mask.shape
    side = max(h, w)
    canvas = np.zeros((side, side), np.float32)
    canvas[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = mask
    resized = F.interpolate(torch.from_numpy(canvas)[None, None], size=(size, size), mode="area")
    return (resized[0, 0] >= 0.5).float()


def listed_spacing(path: Path) -> tuple[float, str] | None:
    """The pixel size an HC18-style CSV in the image's folder (or the one above) gives for it, if any."""
    for folder in (path.parent, path.parent.parent):
        for table in sorted(folder.glob("*.csv")):
            try:
                rows = list(csv.DictReader(table.open(newline="", encoding="utf-8-sig")))
            except (OSError, UnicodeDecodeError, csv.Error):
                continue
            for row in rows:
                row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
                name = next((row[k] for k in CSV_NAME if k in row), None)
                value = next((row[k] for k in CSV_SPACING if k in row), "")
                if name and Path(name).name == path.name and value:
                    try:
                        return float(value), f"{table.name} ({float(value):.4g} mm)"
                    except ValueError:
                        raise ZooError(f"{table}: pixel size {value!r} of {name} is not a number") from None
    return None


def read_input(text: str, info: dict[str, Any]) -> torch.Tensor:
    """`zoo predict` input: an ultrasound image file (DICOM, PNG, JPEG, TIFF), padded, resized and normalised as in
    training. The tensor carries `meta`: the file, its pixel spacing (mm, or None) and where it came from, and how
    model pixels map back onto the file's pixels."""
    path = Path(text)
    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    suffix = path.suffix.lower()
    offset = (0, 0)
    if suffix in DICOM:
        array, spacing, source, offset = read_dicom(path)
    elif suffix in PICTURES:
        array, spacing, source = read_picture(path), None, "none"
        listed = listed_spacing(path)
        if listed is not None:
            spacing, source = listed
    else:
        raise ZooError(f"{path}: expected an ultrasound image (.dcm, .png, .jpg, .tif), got {suffix or 'no suffix'}")
    picture, scale, pad = square(array, info["image_size"])
    x = normalize(picture, info)
    x.meta = {"file": str(path), "spacing_mm": spacing, "spacing_source": source, "scale": scale,
              "origin": (offset[0] - pad[0], offset[1] - pad[1])}
    return x


def normalize(x: torch.Tensor, info: dict[str, Any]) -> torch.Tensor:
    return (x - info["mean"]) / info["std"]


# -- datasets -------------------------------------------------------------------------------------------------
class HeadImages(Dataset):
    """Pictures (uint8 N x S x S), head masks (bool N x S x S), circumference (mm) and spacing (mm per model pixel);
    training items are flipped left-right at random and their contrast varied (`augment`)."""

    def __init__(self, pictures: torch.Tensor, masks: torch.Tensor, hc_mm, spacing, info: dict[str, Any],
                 augment: bool = False, names: list[str] | None = None):
        self.pictures, self.masks, self.info, self.augment = pictures, masks, info, augment
        self.hc_mm = torch.as_tensor(np.asarray(hc_mm), dtype=torch.float32)
        self.spacing = torch.as_tensor(np.asarray(spacing), dtype=torch.float32)
        self.names = names

    def __len__(self) -> int:
        return len(self.pictures)

    def __getitem__(self, i: int):
        x, mask = self.pictures[i][None].float() / 255.0, self.masks[i].float()
        if self.augment:
            if torch.rand(()) < 0.5:
                x, mask = x.flip(-1), mask.flip(-1)
            x = x.clamp(0, 1) ** torch.empty(()).uniform_(0.7, 1.4) * torch.empty(()).uniform_(0.8, 1.2)
        return normalize(x, self.info), {"mask": mask, "hc_mm": self.hc_mm[i], "spacing": self.spacing[i]}


def head_ultrasound(data: str | None = None, seed: int = 0, count: int = 2000, image_size: int = 96,
                    data_seed: int = 0, augment: bool = True) -> DataBundle:
    """medical/ultrasound-hc: simulated B-mode fetal heads (default) or a folder in the HC18 layout (`data`)."""
    if image_size % 16 or image_size < 32:
        raise ZooError(f"--set data.image_size={image_size}: must be a multiple of 16, at least 32")
    if data is None:
        if count < 10:
            raise ZooError(f"--set data.count={count}: at least 10 images (train, valid and test splits)")
        arrays = generated(count, image_size, data_seed)
        pictures, masks = torch.from_numpy(arrays["images"]), torch.from_numpy(arrays["masks"])
        hc, spacing, names = arrays["hc_mm"], arrays["spacing"], None
        parts = split_indices(count, (0.7, 0.1, 0.2), data_seed)
        source = "simulated"
    else:
        pictures, masks, hc, spacing, names = hc18_folder(Path(data), image_size)
        groups = [name.split("_")[0] for name in names]  # HC18: 010_HC.png and 010_2HC.png are one pregnancy
        parts = grouped_split(groups, (0.7, 0.1, 0.2), seed)
        source = "hc18"
    train_idx = parts[0]
    sample = pictures[train_idx[:500]].float() / 255.0
    info = {"dataset": source, "image_size": image_size, "mean": round(float(sample.mean()), 5),
            "std": round(float(sample.std().clamp_min(1e-3)), 5),
            "train_hc_mm": [round(float(np.min(hc[train_idx])), 1), round(float(np.max(hc[train_idx])), 1)]}

    def subset(idx, train=False):
        return HeadImages(pictures[idx], masks[idx], hc[idx], spacing[idx], info, augment=augment and train,
                          names=[names[i] for i in idx] if names else None)

    return DataBundle(train=subset(parts[0], True), valid=subset(parts[1]), test=subset(parts[2]),
                      model_args={"in_channels": 1, "out_channels": 1, "image_size": image_size}, info=info)


# -- users' data: the HC18 layout -------------------------------------------------------------------------------
def _column(header: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {h.strip().lower(): h for h in header if h}
    return next((lowered[n] for n in names if n in lowered), None)


def hc18_folder(folder: Path, size: int):
    """The HC18 layout: `NNN_HC.png` + `NNN_HC_Annotation.png` (the skull's outline, drawn as an ellipse) anywhere
    below `folder`, and the CSV `filename,pixel size(mm),head circumference (mm)`. An image may be DICOM
    (`NNN_HC.dcm`), its pixel size left blank in the CSV, to take the DICOM region calibration instead."""
    if folder.is_file():
        tables = [folder] if folder.suffix.lower() == ".csv" else []
        folder = folder.parent
    else:
        tables = sorted(folder.rglob("*.csv"))
    labelled = []
    for table in tables:
        with table.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
        if _column(header, CSV_NAME) and _column(header, CSV_HC):
            labelled.append(table)
    if not labelled:
        raise ZooError(f"--data {folder}: no CSV with filename and head circumference (mm) columns (the HC18 "
                       "training_set_pixel_size_and_HC.csv layout)")
    files = {p.name: p for p in folder.rglob("*") if p.is_file()}
    pictures, masks, hcs, spacings, names = [], [], [], [], []
    for table in labelled:
        with table.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            name_col, hc_col = _column(reader.fieldnames, CSV_NAME), _column(reader.fieldnames, CSV_HC)
            spacing_col = _column(reader.fieldnames, CSV_SPACING)
            for line, row in enumerate(reader, start=2):
                where = f"{table}, line {line}"
                name = (row.get(name_col) or "").strip()
                if not name:
                    raise ZooError(f"{where}: no filename")
                image_path = files.get(Path(name).name)
                if image_path is None:
                    raise ZooError(f"{where}: {name} is not below {folder}")
                try:
                    hc = float(row[hc_col])
                except (TypeError, ValueError):
                    raise ZooError(f"{where}: head circumference {row.get(hc_col)!r} is not a number") from None
                if not 10 < hc < 1000:
                    raise ZooError(f"{where}: head circumference {hc} mm is outside 10-1000 mm")
                annotation = files.get(Path(name).stem + "_Annotation.png")
                if annotation is None:
                    raise ZooError(f"{where}: no annotation {Path(name).stem}_Annotation.png for {name}")
                if image_path.suffix.lower() in DICOM:
                    array, spacing, source, offset = read_dicom(image_path)
                    if offset != (0, 0):
                        raise ZooError(f"{image_path}: its calibrated region is a crop of the image; annotate the "
                                       "whole image as a PNG instead")
                else:
                    array, spacing = read_picture(image_path), None
                text = (row.get(spacing_col) or "").strip() if spacing_col else ""
                if text:
                    try:
                        spacing = float(text)
                    except ValueError:
                        raise ZooError(f"{where}: pixel size {text!r} is not a number") from None
                if spacing is None or not spacing > 0:
                    raise ZooError(f"{where}: no pixel size for {name} (give it in the CSV's pixel size(mm) column, "
                                   "or use a DICOM with an ultrasound region calibration)")
                outline = read_picture(annotation) > 0.5
                if outline.shape != array.shape:
                    raise ZooError(f"{annotation}: {outline.shape[1]}x{outline.shape[0]} px, but its image "
                                   f"{name} is {array.shape[1]}x{array.shape[0]}")
                from scipy.ndimage import binary_fill_holes

                filled = binary_fill_holes(outline)
                if filled.sum() < 2 * outline.sum():
                    raise ZooError(f"{annotation}: not a closed outline of the head (filling it adds nothing)")
                picture, scale, _ = square(array, size)
                pictures.append((picture[0] * 255).round().to(torch.uint8))
                masks.append(square_mask(filled, size).bool())
                hcs.append(hc)
                spacings.append(spacing * scale)
                names.append(Path(name).name)
    if len(pictures) < 10:
        raise ZooError(f"--data {folder}: {len(pictures)} labelled images; at least 10 are needed to split them")
    return torch.stack(pictures), torch.stack(masks), np.array(hcs), np.array(spacings), names

