"""`python -m zoo_vision.faces_render`: installs npm `facesjs` (Apache-2.0) under $ZOO_CACHE/vision/facesjs, the
renderer of vision/faces' default identities; the dataset factory does it on first use when npm is here.

Rendering one picture: facesjs draws the SVG (resources/faces_render.mjs: one identity is one parameter draw,
its pictures vary expression, haircut now and then, glasses, hats, beard now and then, clothes); cairosvg
rasterizes it; then what a camera does to a face (written here with Pillow and numpy): the head turned (a
horizontal squeeze about an off-centre axis, for yaw), tilted (roll up to 12 degrees), scaled and shifted,
mirrored half the time; the background a crop of a real photo (the traffic signs' photos, whole photos held out
per split) or a plain colour; light (brightness, contrast, a side light across the face, a colour cast);
defocus blur, sensor noise and JPEG artefacts.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from zoo import DataMissing, ZooError
from zoo.paths import cache_dir

FACESJS = "facesjs@5.0.3"
SCRIPT = Path(__file__).with_name("resources") / "faces_render.mjs"
VIEW = (0, 20, 400, 420)  # the square of facesjs' 400 x 600 drawing that holds the head (x1, y1, x2, y2)


# -- installing and running facesjs --------------------------------------------------------------------------
def facesjs_main() -> Path:
    """facesjs' entry script: $ZOO_FACESJS (a folder holding node_modules/facesjs), the cached install, else
    installed now with npm; DataMissing when neither node nor npm can have it."""
    if not shutil.which("node"):
        raise DataMissing("vision/faces renders its default faces with node and npm's facesjs: apt-get install "
                          "nodejs npm, then `python -m zoo_vision.faces_render` (or bring your own faces: --data DIR)")
    root = Path(os.environ["ZOO_FACESJS"]) if os.environ.get("ZOO_FACESJS") else cache_dir("vision", "facesjs")
    main = root / "node_modules" / "facesjs" / "build" / "index.js"
    if main.is_file():
        return main
    if os.environ.get("ZOO_FACESJS"):
        raise DataMissing(f"ZOO_FACESJS={root}: holds no node_modules/facesjs (npm install {FACESJS} there)")
    try:
        return install()
    except RuntimeError as exc:
        raise DataMissing(f"npm's facesjs is missing ({exc}): run `python -m zoo_vision.faces_render`") from None


def install() -> Path:
    root = cache_dir("vision", "facesjs")
    if not shutil.which("npm"):
        raise RuntimeError("npm is not here: apt-get install nodejs npm")
    got = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(root), FACESJS],
                         capture_output=True, text=True)
    main = root / "node_modules" / "facesjs" / "build" / "index.js"
    if got.returncode or not main.is_file():
        raise RuntimeError(f"npm install {FACESJS} failed: {(got.stderr.strip().splitlines() or [''])[-1]}")
    return main


def draw_svgs(seed: int, identities: int, per_identity: int, first: int = 0) -> list[tuple[int, str]]:
    """(identity, SVG source) for `per_identity` pictures of identities first..first+identities-1; identity k's
    parameters depend on (seed, k) only, so one identity is the same person in every set drawn with its seed."""
    job = json.dumps({"seed": seed, "identities": identities, "per_identity": per_identity, "first": first})
    got = subprocess.run(["node", str(SCRIPT), str(facesjs_main()), job], capture_output=True, text=True)
    if got.returncode:
        raise ZooError(f"facesjs failed: {(got.stderr.strip().splitlines() or ['no message'])[-1]}")
    rows = [json.loads(line) for line in got.stdout.splitlines() if line.strip()]
    return [(row["identity"], row["svg"]) for row in rows]


def rasterize(svg: str, px: int) -> Image.Image:
    """The head square (VIEW) of one facesjs drawing as a px x px RGBA image."""
    return rasterize_many([svg], px)[0]


ATLAS = 64  # drawings rasterized together in one sheet (one call of the rasterizer)
INNER = re.compile(r"^\s*<svg[^>]*>(.*)</svg>\s*$", re.S)


def rasterize_many(svgs: list[str], px: int) -> list[Image.Image]:
    """The head squares of many drawings, px x px RGBA each: laid out as one sheet of nested <svg> viewports
    and drawn in one call, by librsvg's rsvg-convert when it is installed (Debian librsvg2-bin, several times
    faster), else by cairosvg."""
    out = []
    x1, y1, x2, y2 = VIEW
    for start in range(0, len(svgs), ATLAS):
        chunk = svgs[start:start + ATLAS]
        columns = min(len(chunk), 16)
        rows = -(-len(chunk) // columns)
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{columns * px}" height="{rows * px}">']
        for k, svg in enumerate(chunk):
            inner = INNER.match(svg)
            if inner is None:
                raise ZooError("facesjs returned a drawing that is not one <svg> element")
            parts.append(f'<svg x="{(k % columns) * px}" y="{(k // columns) * px}" width="{px}" height="{px}" '
                         f'viewBox="{x1} {y1} {x2 - x1} {y2 - y1}" preserveAspectRatio="xMidYMid meet" '
                         f'overflow="hidden">{inner.group(1)}</svg>')
        parts.append("</svg>")
        sheet = _draw("".join(parts).encode())
        out += [sheet.crop(((k % columns) * px, (k // columns) * px, (k % columns + 1) * px, (k // columns + 1) * px))
                for k in range(len(chunk))]
    return out


def _draw(svg: bytes) -> Image.Image:
    if shutil.which("rsvg-convert"):
        got = subprocess.run(["rsvg-convert", "--format", "png"], input=svg, capture_output=True)
        if got.returncode == 0:
            with Image.open(io.BytesIO(got.stdout)) as img:
                return img.convert("RGBA")
    import cairosvg

    with Image.open(io.BytesIO(cairosvg.svg2png(bytestring=svg))) as img:
        return img.convert("RGBA")


# -- what a camera does ----------------------------------------------------------------------------------------
def _background(photos: list[np.ndarray], rng: np.random.Generator, px: int) -> Image.Image:
    if rng.random() < 0.3 or not photos:  # a plain wall
        colour = tuple(int(c) for c in rng.integers(40, 235, 3))
        return Image.new("RGB", (px, px), colour)
    photo = photos[int(rng.integers(len(photos)))]
    h, w = photo.shape[:2]
    side = int(rng.integers(min(h, w) // 4, min(h, w) + 1))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    return Image.fromarray(photo[y:y + side, x:x + side]).resize((px, px), Image.BILINEAR)


def photograph(face: Image.Image, photos: list[np.ndarray], rng: np.random.Generator, size: int) -> np.ndarray:
    """One picture (size x size x 3 uint8) of a rasterized face (RGBA, larger than size)."""
    px = face.width
    if rng.random() < 0.5:
        face = face.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    # yaw: squeeze horizontally about an off-centre axis; roll, scale and shift: one affine map
    squeeze = rng.uniform(0.78, 1.0)
    axis = px * rng.uniform(0.35, 0.65)
    angle = np.deg2rad(rng.uniform(-12, 12))
    scale = rng.uniform(0.88, 1.12)
    shift = rng.uniform(-0.06, 0.06, 2) * px
    c = px / 2
    # forward (drawing -> picture): the squeeze about the axis, then roll and scale about the centre, then the
    # shift; Pillow wants the inverse (picture pixel -> drawing pixel)
    squeezing = np.array([[squeeze, 0, axis * (1 - squeeze)], [0, 1, 0], [0, 0, 1]])
    turning = np.array([[scale * np.cos(angle), -scale * np.sin(angle), 0],
                        [scale * np.sin(angle), scale * np.cos(angle), 0], [0, 0, 1]])
    centre, back = np.eye(3), np.eye(3)
    centre[:2, 2], back[:2, 2] = -c, [c + shift[0], c + shift[1]]
    inverse = np.linalg.inv(back @ turning @ centre @ squeezing)
    face = face.transform((px, px), Image.Transform.AFFINE, tuple(inverse[:2].ravel()), resample=Image.BILINEAR)
    picture = _background(photos, rng, px)
    picture.paste(face, (0, 0), face)
    # light: brightness, contrast, a side light, a colour cast
    picture = ImageEnhance.Brightness(picture).enhance(rng.uniform(0.6, 1.3))
    picture = ImageEnhance.Contrast(picture).enhance(rng.uniform(0.65, 1.2))
    array = np.asarray(picture, np.float32)
    ramp = np.linspace(0, 1, px, dtype=np.float32)
    light = 1 - rng.uniform(0, 0.45) * (ramp if rng.random() < 0.5 else ramp[::-1])
    array = array * light[None, :, None] * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    picture = Image.fromarray(array.clip(0, 255).astype(np.uint8)).resize((size, size), Image.BILINEAR,
                                                                         reducing_gap=2.0)
    if rng.random() < 0.4:  # defocus
        picture = picture.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2) * size / 48))
    array = np.asarray(picture, np.float32) + rng.normal(0, rng.uniform(0, 6), (size, size, 3))
    picture = Image.fromarray(array.clip(0, 255).astype(np.uint8))
    if rng.random() < 0.3:
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=int(rng.integers(35, 90)))
        picture = Image.open(buffer).convert("RGB")
    return np.asarray(picture, np.uint8)


SHOTS = 2  # pictures taken of each drawing (pose, light, background and blur differ)


def render_set(seed: int, first: int, identities: int, per_identity: int, size: int,
               photos: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pictures N x 3 x size x size uint8 and their identity (first..first+identities-1) for one split: each
    identity drawn ceil(per_identity / SHOTS) times by facesjs, each drawing photographed up to SHOTS times."""
    rng = np.random.default_rng([seed, first, identities, per_identity, size])
    px = 2 * size  # rasterized at twice the final size, then shrunk with the camera's effects
    drawings = -(-per_identity // SHOTS)
    drawn = draw_svgs(seed, identities, drawings, first)
    faces = rasterize_many([svg for _, svg in drawn], px)
    images, labels, taken = [], [], {}
    for (identity, _), face in zip(drawn, faces):
        for _ in range(min(SHOTS, per_identity - taken.get(identity, 0))):
            images.append(photograph(face, photos, rng, size).transpose(2, 0, 1))
            labels.append(identity)
            taken[identity] = taken.get(identity, 0) + 1
    return np.stack(images), np.asarray(labels, np.int64)


if __name__ == "__main__":
    try:
        where = install()
    except RuntimeError as exc:
        sys.exit(f"error: {exc}")
    print(f"facesjs installed: {where.parent.parent}")
