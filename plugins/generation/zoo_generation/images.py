"""Reading images of every kind into float arrays, writing them back, and running a network over tiles.

Every image becomes a float32 array H x W x C in [0, 1]: 16-bit images are scaled by 65535, palette images
are expanded, transparency is composited over white, and colour is converted to what the recipe needs
(grey is the luma Y of ITU-R BT.601, as super-resolution papers measure; grey given where colour is needed
is repeated over the three channels). Errors name the file.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from zoo import ZooError

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def read_array(path: str | Path, draft: int = 0) -> np.ndarray:
    """One image file -> H x W x C (C = 1 or 3) float32 in [0, 1], whatever its mode and depth. A file that is not
    an image, is cut short, or would decompress to more pixels than PIL allows (a decompression bomb) is one line
    naming it; one past PIL's warning limit gets a one-line warning naming it. `draft` > 0 lets a JPEG decode at
    1/2, 1/4 or 1/8 of its size (PIL's draft mode) while both sides stay at least `draft` pixels: far faster for
    a photo of many megapixels that is shrunk afterwards anyway."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if draft and img.format == "JPEG":
                    img.draft(img.mode, (draft, draft))
                img.load()
                array = _to_float(img)
        for warning in caught:
            if issubclass(warning.category, Image.DecompressionBombWarning):
                print(f"warning: {path}: {array.shape[1]}x{array.shape[0]} pixels, past PIL's limit for a "
                      "decompression bomb; read anyway", file=sys.stderr, flush=True)
        return array
    except FileNotFoundError:
        raise ZooError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ZooError(f"{path}: is a folder, not an image") from None
    except Image.DecompressionBombError as exc:
        raise ZooError(f"{path}: refused as a decompression bomb ({str(exc).split('.')[0]})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ZooError(f"{path}: not a readable image ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def read_image(item, info=None) -> np.ndarray:
    """The reader of the image recipes' datasets (`zoo predict`): an image file, or a PIL image, as
    H x W x C float32 in [0, 1]."""
    if hasattr(item, "mode") and hasattr(item, "size"):  # a PIL image
        return _to_float(item)
    return read_array(item)


def _to_float(img) -> np.ndarray:
    mode = img.mode
    if mode == "P":  # palette: expand, keeping transparency when the palette has it
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(img).astype(np.float32)
        scale = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
        return np.clip(array / scale, 0, 1)[..., None]
    if mode == "F":
        array = np.asarray(img).astype(np.float32)
        return np.clip(array / (array.max() if array.max() > 1 else 1.0), 0, 1)[..., None]
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):  # transparency: composite over white
        rgba = np.asarray(img.convert("RGBA")).astype(np.float32) / 255.0
        alpha = rgba[..., 3:]
        out = rgba[..., :3] * alpha + (1 - alpha)
        return out[..., :1] if mode in ("LA", "La") else out
    if mode in ("1", "L"):
        return (np.asarray(img.convert("L")).astype(np.float32) / 255.0)[..., None]
    return np.asarray(img.convert("RGB")).astype(np.float32) / 255.0


def to_channels(array: np.ndarray, channels: int) -> np.ndarray:
    """H x W x C to the channels a recipe needs: 1 (luma) or 3 (grey repeated)."""
    if array.shape[-1] == channels:
        return array
    if channels == 1:
        return (array @ LUMA)[..., None].astype(np.float32)
    return np.repeat(array, 3, axis=-1)


def is_grey(array: np.ndarray, tolerance: float = 2 / 255) -> bool:
    """One channel, or three that are equal: no colour to learn from."""
    return array.shape[-1] == 1 or float(np.abs(array - array.mean(-1, keepdims=True)).max()) <= tolerance


def limit_side(array: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink (antialiased) so that the longer side is at most max_side; 0 keeps the size."""
    h, w = array.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return array
    from PIL import Image

    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    channels = [np.asarray(Image.fromarray(array[..., c]).resize(size, Image.LANCZOS)) for c in range(array.shape[-1])]
    return np.clip(np.stack(channels, -1), 0, 1).astype(np.float32)


def to_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def save_png(image: torch.Tensor | np.ndarray, path: Path) -> Path:
    """C x H x W tensor (or H x W x C array) in [0, 1] -> 8-bit PNG."""
    from PIL import Image

    if isinstance(image, torch.Tensor):
        image = image.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()
    array = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(path)
    return path


def find_images(root: Path) -> list[Path]:
    """Image files under a folder, any depth, sorted; a single file is itself."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ZooError(f"{root}: no such file or folder")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def read_many(paths: list[Path], warn: Callable[[str], None] | None = None) -> list[tuple[Path, np.ndarray]]:
    """Read each file; a corrupt one is named in a warning and left out, the rest are read."""
    warn = warn or (lambda msg: print(f"warning: {msg}", file=sys.stderr, flush=True))
    out = []
    for path in paths:
        try:
            out.append((path, read_array(path)))
        except ZooError as exc:
            warn(f"{exc}; skipped")
    return out


def feather(size: int, overlap: int) -> torch.Tensor:
    """1-D blending weights of a tile: ramps of `overlap` pixels at both ends, 1 inside, never 0."""
    i = torch.arange(size, dtype=torch.float32)
    ramp = torch.minimum(i + 1, size - i) / max(overlap, 1)
    return ramp.clamp(max=1.0)


def starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    step = tile - overlap
    out = list(range(0, length - tile, step))
    return out + [length - tile]


@torch.no_grad()
def tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int = 256, overlap: int = 32,
          scale: int = 1) -> torch.Tensor:
    """Run `fn` (N x C x h x w -> N x C' x h*scale x w*scale) over overlapping tiles of x and blend them.

    Images of any size fit in memory this way; the overlaps are blended with linear ramps, so no seam shows.
    """
    n, _, h, w = x.shape
    if h <= tile and w <= tile:
        return fn(x)
    out = weight = None
    for y0 in starts(h, tile, overlap):
        for x0 in starts(w, tile, overlap):
            part = fn(x[..., y0:y0 + tile, x0:x0 + tile])
            th, tw = part.shape[-2:]
            wts = (feather(th, overlap * scale)[:, None] * feather(tw, overlap * scale)[None, :]).to(part)
            if out is None:
                out = part.new_zeros(n, part.shape[1], h * scale, w * scale)
                weight = part.new_zeros(1, 1, h * scale, w * scale)
            out[..., y0 * scale:y0 * scale + th, x0 * scale:x0 * scale + tw] += part * wts
            weight[..., y0 * scale:y0 * scale + th, x0 * scale:x0 * scale + tw] += wts
    return out / weight


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad H and W up to a multiple (replicate where the image is too small to reflect)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)
