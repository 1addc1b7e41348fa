"""Rendering road signs as a camera on a road sees them: the josm drawings (public domain SVGs, rasterized by
cairosvg) pasted onto crops of real photos, then what the road does to them.

One rendering: the sign is drawn 16-64 px wide (its size in the camera's picture), seen in perspective and
turned by up to 12 degrees, pasted about the centre of a crop of a photo (at a random zoom) with a margin of
7-25% a side (as GTSRB's crops), then lit (brightness, contrast, saturation, hue, a colour cast), partly hidden
(a patch of the photo in front of it), blurred by motion or defocus, fogged or rained on, shrunk to the model's
size, given sensor noise and JPEG artefacts (Pillow). The geometry and colour steps are torchvision's functional
transforms; the motion-blur kernel, the rain streaks and the occluder are drawn here (torchvision has none).
A "no sign" image is a crop with no sign, with a sign mostly outside it, with a sign far too small for it, or
inside a sign far larger than it: what a sliding window sees around a sign (`--detect`).
Nothing is flipped: left and right turns (and roundabouts) are mirror images of each other. The seven bare
pictograms of the set (plain/bicycle, plain/moped...) are drawn on a white plate, as supplementary plates show them.
"""
from __future__ import annotations

import importlib.util
import io
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from PIL import Image, ImageDraw, ImageFilter

from zoo import DataMissing, ZooError

NO_SIGN = "no sign"
HI = 96  # the drawings are rasterized once at this size, then resized per rendering

# photos that ship in wheels (the generation plugin's photos; licences from scikit-image's, scikit-learn's and
# matplotlib's own notes); whole photos are held out for validation and test
PHOTOS: dict[str, tuple[str, str, str]] = {
    "astronaut": ("skimage", "data/astronaut.png", "public domain (NASA)"),
    "camera": ("skimage", "data/camera.png", "CC0 (Lav Varshney)"),
    "chelsea": ("skimage", "data/chelsea.png", "CC0 (Stefan van der Walt)"),
    "brick": ("skimage", "data/brick.png", "CC0 (CC0Textures)"),
    "grass": ("skimage", "data/grass.png", "CC0 (DeviantArt linolafett)"),
    "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "public domain (US Navy)"),
    "flower": ("sklearn", "datasets/images/flower.jpg", "CC BY 2.0 (vultilion)"),
    "gravel": ("skimage", "data/gravel.png", "CC0 (CC0Textures)"),
    "china": ("sklearn", "datasets/images/china.jpg", "CC BY 2.0 (danielbuechele)"),
    "rocket": ("skimage", "data/rocket.jpg", "public domain (SpaceX)"),
    "coffee": ("skimage", "data/coffee.png", "CC0 (Rachel Michetti)"),
}
SPLIT_PHOTOS = {"train": ("astronaut", "camera", "chelsea", "brick", "grass", "grace_hopper"),
                "valid": ("flower", "gravel"), "test": ("china", "rocket", "coffee")}
# classes that are each other's mirror image: never flipped, and told apart in the tests
MIRRORS = (("mini_roundabout_left", "mini_roundabout_right"), ("roundabout_left", "roundabout_right"),
           ("turn_restrictions/no_left_turn", "turn_restrictions/no_right_turn"),
           ("turn_restrictions/no_left_turn_red", "turn_restrictions/no_right_turn_red"),
           ("turn_restrictions/only_left_turn", "turn_restrictions/only_right_turn"))


def photo_arrays(split: str) -> list[np.ndarray]:
    """The split's background photos as H x W x 3 uint8 (grey ones repeated to RGB)."""
    out = []
    for name in SPLIT_PHOTOS[split]:
        where, file, _ = PHOTOS[name]
        spec = importlib.util.find_spec(where)
        path = Path(spec.submodule_search_locations[0]) / file if spec and spec.submodule_search_locations else None
        if path is None or not path.is_file():
            continue
        with Image.open(path) as img:
            out.append(np.asarray(img.convert("RGB")))
    if not out:
        raise DataMissing(f"the {split} background photos are missing (they ship in the scikit-image, scikit-learn "
                          "and matplotlib wheels): pip install scikit-image")
    return out


def drawings(folder: Path) -> dict[str, bytes]:
    """Class name -> SVG source, sorted by name ('turn_restrictions__no_left_turn.svg' is
    'turn_restrictions/no_left_turn')."""
    return {p.stem.replace("__", "/"): p.read_bytes() for p in sorted(folder.glob("*.svg"))}


def rasterize(svg: bytes, px: int = HI, name: str = "") -> Image.Image:
    """An SVG drawn px x px (RGBA) by cairosvg."""
    import cairosvg

    try:
        png = cairosvg.svg2png(bytestring=svg, output_width=px, output_height=px)
    except Exception as exc:  # cairosvg raises many kinds on a broken file
        raise ZooError(f"{name or 'SVG'}: cannot be drawn ({type(exc).__name__}: {exc})") from None
    return Image.open(io.BytesIO(png)).convert("RGBA")


def glyph(name: str, svg: bytes) -> Image.Image:
    """The drawing as the road shows it. josm's plain/* drawings are bare pictograms (a bicycle, a moped...): they
    are put on a white plate with a black rim, as a supplementary plate (German Zusatzzeichen) shows them."""
    drawn = rasterize(svg, name=name)
    if not name.startswith("plain/"):
        return drawn
    plate = Image.new("RGBA", (HI, HI), (0, 0, 0, 0))
    top, bottom = round(HI * 0.1), round(HI * 0.9)
    ImageDraw.Draw(plate).rounded_rectangle([1, top, HI - 2, bottom], radius=HI // 16, fill=(245, 245, 240, 255),
                                            outline=(20, 20, 20, 255), width=max(2, HI // 40))
    inner = drawn.resize((round(HI * 0.8),) * 2, Image.BILINEAR)
    plate.alpha_composite(inner, ((HI - inner.width) // 2, (HI - inner.height) // 2))
    return plate


def _perspective(glyph: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    """The glyph seen at an angle: each corner moved inward by up to `strength` of half the side."""
    w, h = glyph.size
    start = [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]
    dx, dy = rng.uniform(0, strength * w / 2, 4), rng.uniform(0, strength * h / 2, 4)
    sign = [(1, 1), (-1, 1), (-1, -1), (1, -1)]
    end = [[round(x + sx * a), round(y + sy * b)] for (x, y), (sx, sy), a, b in zip(start, sign, dx, dy)]
    return TF.perspective(glyph, start, end, interpolation=TF.InterpolationMode.BILINEAR, fill=[0, 0, 0, 0])


def _motion_kernel(length: int, angle: float) -> torch.Tensor:
    """A line `length` px long at `angle` degrees, normalized: the blur of a camera moving during exposure."""
    k = length if length % 2 else length + 1
    img = Image.new("L", (k, k), 0)
    c, r = (k - 1) / 2, (length - 1) / 2
    dx, dy = r * math.cos(math.radians(angle)), r * math.sin(math.radians(angle))
    ImageDraw.Draw(img).line([(c - dx, c - dy), (c + dx, c + dy)], fill=255, width=1)
    kernel = torch.from_numpy(np.asarray(img, dtype=np.float32))
    return kernel / kernel.sum().clamp_min(1e-6)


def _motion_blur(img: Image.Image, length: int, angle: float) -> Image.Image:
    kernel = _motion_kernel(length, angle)
    x = TF.pil_to_tensor(img).float().unsqueeze(1)  # 3 x 1 x H x W: one channel at a time
    pad = kernel.shape[-1] // 2
    x = F.conv2d(F.pad(x, (pad,) * 4, mode="replicate"), kernel[None, None])
    return TF.to_pil_image(x.squeeze(1).clamp(0, 255).round().to(torch.uint8))


def _rain(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Bright slanted streaks over the picture, softened."""
    w, h = img.size
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    slant = rng.uniform(-0.4, 0.4)
    for _ in range(int(rng.integers(w // 3, w + 2))):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        length = rng.uniform(0.05, 0.2) * h
        draw.line([(x, y), (x + slant * length, y + length)], fill=(220, 220, 230, int(rng.integers(60, 150))), width=1)
    out = img.convert("RGBA")
    out.alpha_composite(layer.filter(ImageFilter.GaussianBlur(0.6)))
    return out.convert("RGB")


def render(glyph_hi: Image.Image | None, photo: np.ndarray, rng: np.random.Generator, size: int,
           negative: bool = False) -> np.ndarray:
    """One size x size x 3 uint8 picture: `glyph_hi` (an RGBA drawing) on a crop of `photo` as the road shows it;
    with `negative`, a "no sign" crop (no glyph, or it mostly outside the crop or far too small)."""
    s = rng.uniform(16, 64)  # the sign's width in the camera's picture
    margin = rng.uniform(1.15, 1.5)
    # drawn at the camera's resolution, but no finer than 1.5 x the output (finer detail is lost in the last resize)
    canvas = max(8, min(int(round(s * margin)), int(1.5 * size)))
    s = canvas / margin
    h, w = photo.shape[:2]
    side = int(min(h, w, max(8, canvas * rng.uniform(0.7, 5.0))))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    picture = Image.fromarray(photo[y:y + side, x:x + side]).resize((canvas, canvas), Image.BILINEAR)
    placement = "centre"
    if negative:
        placement = rng.choice(["none", "none", "outside", "small", "part"]) if glyph_hi is not None else "none"
    if placement != "none":
        side_px = {"small": canvas * rng.uniform(0.15, 0.35), "part": canvas * rng.uniform(2.2, 4.0)}.get(placement, s)
        glyph = glyph_hi.resize((max(4, round(side_px)),) * 2, Image.BILINEAR, reducing_gap=2.0)
        glyph = _perspective(glyph, rng, rng.uniform(0.0, 0.3))
        glyph = TF.rotate(glyph, float(rng.uniform(-12, 12)), interpolation=TF.InterpolationMode.BILINEAR,
                          expand=True, fill=[0, 0, 0, 0])
        if placement == "centre":
            cx, cy = canvas / 2 + rng.uniform(-0.07, 0.07, 2) * canvas
        elif placement == "outside":  # its centre beyond the crop's edge band: a window beside the sign
            angle = rng.uniform(0, 2 * math.pi)
            reach = rng.uniform(0.55, 0.9) * canvas
            cx, cy = canvas / 2 + reach * math.cos(angle), canvas / 2 + reach * math.sin(angle)
        elif placement == "small":
            cx, cy = rng.uniform(0.2, 0.8, 2) * canvas
        else:  # a window inside a much larger sign: a part of it fills the picture
            cx, cy = canvas / 2 + rng.uniform(-0.5, 0.5, 2) * side_px
        picture.paste(glyph, (int(round(cx - glyph.width / 2)), int(round(cy - glyph.height / 2))), glyph)
        if placement == "centre" and rng.random() < 0.2:  # something in front of part of the sign
            ow, oh = int(rng.uniform(0.2, 0.5) * s), int(rng.uniform(0.2, 0.6) * s)
            oy, ox = int(rng.integers(0, h - oh + 1)) if h > oh else 0, int(rng.integers(0, w - ow + 1)) if w > ow else 0
            patch = Image.fromarray(photo[oy:oy + max(oh, 1), ox:ox + max(ow, 1)])
            edge = rng.integers(4)
            px = [0, canvas - ow, int(rng.uniform(0, canvas - ow)), int(rng.uniform(0, canvas - ow))][edge]
            py = [int(rng.uniform(0, canvas - oh)), int(rng.uniform(0, canvas - oh)), 0, canvas - oh][edge]
            picture.paste(patch, (px, py))
    # light and colour
    picture = TF.adjust_brightness(picture, float(rng.uniform(0.45, 1.5)))
    picture = TF.adjust_contrast(picture, float(rng.uniform(0.5, 1.4)))
    picture = TF.adjust_saturation(picture, float(rng.uniform(0.5, 1.4)))
    picture = TF.adjust_hue(picture, float(rng.uniform(-0.03, 0.03)))
    cast = rng.uniform(0.85, 1.15, 3)
    picture = Image.fromarray(np.clip(np.asarray(picture, dtype=np.float32) * cast, 0, 255).astype(np.uint8))
    # blur, weather
    if rng.random() < 0.25:
        picture = _motion_blur(picture, int(rng.integers(3, max(4, canvas // 8) + 1)), float(rng.uniform(0, 180)))
    if rng.random() < 0.25:
        picture = TF.gaussian_blur(picture, kernel_size=2 * max(1, canvas // 10) + 1,
                                   sigma=float(rng.uniform(0.4, max(0.5, canvas / 40))))
    if rng.random() < 0.15:
        fog = float(rng.uniform(0.2, 0.55))
        grey = rng.uniform(170, 235)
        picture = Image.fromarray((np.asarray(picture, dtype=np.float32) * (1 - fog) + grey * fog).astype(np.uint8))
    if rng.random() < 0.1:
        picture = _rain(picture, rng)
    # the camera's resolution: the crop shrunk (or grown) to the model's size, noise, JPEG
    picture = picture.resize((size, size), Image.BILINEAR)
    array = np.asarray(picture, dtype=np.float32)
    array = np.clip(array + rng.normal(0, rng.uniform(0, 6), array.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:  # Pillow's encoder (torchvision's image codecs are deprecated since 0.29)
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="JPEG", quality=int(rng.integers(15, 85)))
        with Image.open(buffer) as decoded:
            array = np.asarray(decoded.convert("RGB"))
    return array


def render_set(glyphs: list[Image.Image | None], counts: list[int], photos: list[np.ndarray], size: int,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """counts[c] renderings of each class c (glyphs[c] None is the "no sign" class, drawn with the other glyphs
    as hard negatives): images N x 3 x size x size uint8 and labels N."""
    rng = np.random.default_rng(seed)
    signs = [g for g in glyphs if g is not None]
    images, labels = [], []
    for label, (glyph, n) in enumerate(zip(glyphs, counts)):
        for _ in range(n):
            photo = photos[int(rng.integers(len(photos)))]
            if glyph is None:
                other = signs[int(rng.integers(len(signs)))] if signs else None
                images.append(render(other, photo, rng, size, negative=True))
            else:
                images.append(render(glyph, photo, rng, size))
            labels.append(label)
    if not images:
        return np.zeros((0, 3, size, size), np.uint8), np.zeros(0, np.int64)
    return np.stack(images).transpose(0, 3, 1, 2).copy(), np.asarray(labels, dtype=np.int64)
