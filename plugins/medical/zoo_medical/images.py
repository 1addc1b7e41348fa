"""Reading radiographs from files: DICOM (with its display pipeline), PNG and JPEG, 8 or 16 bit, grey or RGB.

Every reader returns a float32 H x W array in [0, 1] where bright means dense (bone white), and raises a
ZooError naming the file when it cannot.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from zoo import ZooError

DICOM_SUFFIXES = {".dcm", ".dicom"}
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
NIFTI_SUFFIXES = {".nii", ".nii.gz"}
IMAGE_SUFFIXES = DICOM_SUFFIXES | PICTURE_SUFFIXES | NIFTI_SUFFIXES
# DICOM modalities that are not projection radiographs: a slice or an echo is no film to judge
NOT_RADIOGRAPHS = {"CT": "a CT slice", "MR": "an MR image", "US": "an ultrasound image", "NM": "a nuclear medicine image",
                   "PT": "a PET image", "ECG": "an ECG", "SR": "a structured report", "DOC": "a document"}
COLOUR_LIMIT = 0.04  # mean distance of a pixel from grey, in [0, 1]: above it the picture is in colour, not a film


def suffix_of(path: Path) -> str:
    """The file's type suffix, lower case; `.nii.gz` counts as one."""
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def _rescale(array: np.ndarray) -> np.ndarray:
    """Stretch to [0, 1] using the image's own range (the values of 16-bit and float images have no fixed scale)."""
    array = array.astype(np.float32)
    lo, hi = float(array.min()), float(array.max())
    return (array - lo) / (hi - lo) if hi > lo else np.zeros_like(array)


def read_dicom(path: Path) -> np.ndarray:
    """Pixel data through the DICOM display pipeline: modality LUT (rescale slope/intercept), then the
    VOI LUT or window centre/width, then MONOCHROME1 inversion (in MONOCHROME1, low values are white)."""
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError:
        raise ZooError(f"{path}: not a DICOM file (no DICM preamble); rename it or convert it to PNG") from None
    except (OSError, EOFError, ValueError) as exc:
        raise ZooError(f"{path}: unreadable DICOM ({exc})") from None
    check_dicom(ds, path)
    try:
        array = ds.pixel_array
    except Exception as exc:  # missing decoders and corrupt data raise many different types
        raise ZooError(f"{path}: cannot decode its pixel data ({type(exc).__name__}: {exc})") from None
    samples = int(ds.get("SamplesPerPixel", 1))
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:  # a multi-frame object: take its middle frame
        array = array[frames // 2]
    if samples > 1:  # colour DICOM (a secondary capture: a screenshot or a photo), grey only if its channels agree
        return _grey(_rescale(array[..., :3]), path)  # pydicom gives YBR data as RGB already
    array = apply_modality_lut(array, ds)
    if "VOILUTSequence" in ds or "WindowCenter" in ds:
        array = apply_voi_lut(array, ds, index=0)
    image = _rescale(np.asarray(array))
    if ds.get("PhotometricInterpretation", "MONOCHROME2") == "MONOCHROME1":
        image = 1.0 - image
    return image


def check_dicom(ds, path: Path) -> None:
    """Refuse what holds no film: no pixel data, or a modality that is not a projection radiograph."""
    if "PixelData" not in ds:
        kind = ds.get("SOPClassUID", None)
        raise ZooError(f"{path}: DICOM file holds no pixel data (SOP class {getattr(kind, 'name', kind)}); "
                       "it is not an image")
    modality = str(ds.get("Modality", "")).upper()
    if modality in NOT_RADIOGRAPHS:
        raise ZooError(f"{path}: modality {modality} is {NOT_RADIOGRAPHS[modality]}, not a projection radiograph "
                       "(CR, DX); a CT volume can be given as NIfTI, which is summed into a film")


def _grey(rgb: np.ndarray, path: Path) -> np.ndarray:
    """The luminance of an RGB array in [0, 1]; a picture in colour (a photo of a film, a screenshot with
    coloured marks) is refused: a radiograph is grey, and luminance would hide what the colour says."""
    colour = float(np.abs(rgb - rgb.mean(-1, keepdims=True)).mean())
    if colour > COLOUR_LIMIT:
        raise ZooError(f"{path}: a colour picture (mean distance from grey {colour:.2f} > {COLOUR_LIMIT}), not a "
                       "radiograph; export the film itself in greyscale (DICOM, PNG)")
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def read_picture(path: Path) -> np.ndarray:
    """PNG/JPEG/TIFF: 8-bit grey, 16-bit grey (rescaled by its own range), RGB/RGBA/palette whose channels agree
    (as luminance); a colour picture is refused."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                return _rescale(np.asarray(img))
            if img.mode in ("L", "1", "LA"):
                return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
            return _grey(np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0, path)
    except FileNotFoundError:
        raise ZooError(f"{path}: no such file") from None
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        raise ZooError(f"{path}: not a readable image ({exc})") from None


def read_nifti(path: Path) -> np.ndarray:
    """A NIfTI radiograph (2-D, or 3-D with one slice), or a CT volume in Hounsfield units made into a frontal
    radiograph: oriented to RAS, attenuation summed front to back, the head up and the patient's right on the
    viewer's left (the radiological convention), as the training films are rendered."""
    import nibabel as nib

    try:
        img = nib.as_closest_canonical(nib.load(path))
        array = np.asarray(img.dataobj, dtype=np.float32)
    except Exception as exc:  # nibabel raises many types for damaged files
        raise ZooError(f"{path}: unreadable NIfTI ({type(exc).__name__}: {exc})") from None
    array = np.squeeze(array)
    if array.ndim == 2:  # (x, y) in RAS: rows go up to superior, columns to the patient's right
        return _rescale(array.T[::-1, ::-1])
    if array.ndim != 3:
        raise ZooError(f"{path}: a NIfTI radiograph or volume must have 2 or 3 dimensions, got {array.ndim}")
    attenuation = np.clip((array + 1000.0) / 1000.0, 0.0, None)  # HU -> water-relative attenuation
    return _rescale(attenuation.sum(axis=1).T[::-1, ::-1])


MIN_SIDE = 16  # pixels: below this a film holds no anatomy a score could be about


def read_radiograph(path: str | Path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    suffix = suffix_of(path)
    if suffix in DICOM_SUFFIXES or (suffix not in PICTURE_SUFFIXES | NIFTI_SUFFIXES and _has_dicom_magic(path)):
        image = read_dicom(path)  # DICOM files often come without a suffix
    elif suffix in PICTURE_SUFFIXES:
        image = read_picture(path)
    elif suffix in NIFTI_SUFFIXES:
        image = read_nifti(path)
    else:
        image = None
    if image is not None:
        if min(image.shape[:2]) < MIN_SIDE:
            raise ZooError(f"{path}: {image.shape[1]} x {image.shape[0]} pixels is too small to be a radiograph "
                           f"(at least {MIN_SIDE} a side)")
        return image
    raise ZooError(f"{path}: unknown image type {suffix or '(no suffix)'}; expected "
                   f"{', '.join(sorted(IMAGE_SUFFIXES))}")


def _has_dicom_magic(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(132)
    return head[128:132] == b"DICM"


def square_resize(image: np.ndarray, size: int) -> torch.Tensor:
    """Pad the shorter side (black) so anatomy keeps its proportions, then resize: 1 x size x size."""
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    h, w = x.shape
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    x = F.pad(x, (left, side - w - left, top, side - h - top))
    if side != size:
        x = F.interpolate(x[None, None], size=(size, size), mode="bilinear", align_corners=False,
                          antialias=side > size)[0, 0]
    return x.clamp(0, 1)[None]


def load(path: str | Path, size: int) -> torch.Tensor:
    """One radiograph file -> 1 x size x size in [0, 1]."""
    return square_resize(read_radiograph(path), size)


def check_readable(path: Path) -> None:
    """Cheap check at scan time (header only), so a bad file fails before training, not in epoch 3."""
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    suffix = suffix_of(path)
    if suffix in NIFTI_SUFFIXES:
        import nibabel as nib
        try:
            nib.load(path)  # reads the header only
        except Exception as exc:  # noqa: BLE001
            raise ZooError(f"{path}: unreadable NIfTI ({type(exc).__name__}: {exc})") from None
        return
    if suffix in DICOM_SUFFIXES or suffix not in PICTURE_SUFFIXES:
        import pydicom
        from pydicom.errors import InvalidDicomError

        try:
            ds = pydicom.dcmread(path, defer_size="1 KB")  # large values (the pixels) stay on disk
        except InvalidDicomError:
            raise ZooError(f"{path}: not a DICOM file (no DICM preamble)") from None
        except (OSError, EOFError, ValueError) as exc:
            raise ZooError(f"{path}: unreadable DICOM ({exc})") from None
        check_dicom(ds, path)
        return
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise ZooError(f"{path}: not a readable image ({exc})") from None
