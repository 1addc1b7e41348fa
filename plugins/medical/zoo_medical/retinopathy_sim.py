"""Simulated diabetic retinopathy on a real fundus photograph (medical/retinopathy's default).

The background is the one real colour fundus photograph that ships with scikit-image (`skimage.data.retina()`,
CC0), varied per image: field of view (zoom, rotation, shift), left or right eye (a mirror image moves the optic
disc to the other side), colour (per-channel gain, gamma), uneven illumination and vignetting, vessel contrast, and
camera blur. Lesions are then drawn by the international clinical scale's definitions:

- 0 no retinopathy: none;
- 1 mild NPDR: microaneurysms only (1-6);
- 2 moderate NPDR: more than microaneurysms: dot-blot haemorrhages (2-8), hard exudates, sometimes cotton-wool spots;
- 3 severe NPDR: many haemorrhages (20-40, dot-blot and flame) in all four quadrants, cotton-wool spots, exudates;
- 4 proliferative DR: new vessels (tortuous networks at the disc or elsewhere), sometimes a pre-retinal haemorrhage,
  with the lesions of grade 2 or 3.

Every image shows the same eye: a model trained here has not seen the variation between people's retinas.
"""
from __future__ import annotations

import math

import numpy as np

from zoo.paths import cache_dir, cached_arrays

GENERATOR_VERSION = 1
GRADES = ["no DR", "mild NPDR", "moderate NPDR", "severe NPDR", "proliferative DR"]
GRADE_SHARES = (0.4, 0.15, 0.2, 0.1, 0.15)  # about APTOS 2019's: half of the photos without retinopathy
WORK = 320  # the background is varied at this size, then resized to the output size

_BACKGROUND: dict[str, np.ndarray] = {}


def background() -> dict[str, np.ndarray]:
    """skimage's fundus photo at WORK px (RGB in [0, 1]), its field-of-view mask and its vessel map (the green
    channel's black top-hat: dark thin structures)."""
    if not _BACKGROUND:
        from skimage import data
        from skimage.morphology import black_tophat, disk
        from skimage.transform import resize

        photo = resize(data.retina(), (WORK, WORK), anti_aliasing=True).astype(np.float32)
        field = photo.sum(-1) > 0.12
        vessels = black_tophat(photo[..., 1], disk(5)) * field
        _BACKGROUND.update(photo=photo, field=field.astype(np.float32), vessels=(vessels / vessels.max()).astype(np.float32))
    return _BACKGROUND


def simulate(start: int, stop: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """Images start..stop-1 (each depends only on (seed, index)): uint8 RGB N x S x S x 3 and grades."""
    images, grades = [], []
    for i in range(start, stop):
        rng = np.random.default_rng([seed, i, GENERATOR_VERSION, 7])
        grade = int(rng.choice(5, p=GRADE_SHARES))
        images.append(_one(rng, size, grade))
        grades.append(grade)
    return {"images": np.stack(images), "grades": np.array(grades, np.int64)}


def _varied(rng, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]:
    """The background under a random camera: RGB S x S x 3, field mask, vessel map, and the optic disc's centre."""
    from scipy.ndimage import gaussian_filter
    from skimage.transform import AffineTransform, warp

    bg = background()
    stack = np.concatenate([bg["photo"], bg["field"][..., None], bg["vessels"][..., None]], -1)
    if rng.random() < 0.5:  # the other eye
        stack = stack[:, ::-1]
    zoom = rng.uniform(0.9, 1.15)
    angle = rng.uniform(-0.25, 0.25)
    shift = rng.uniform(-0.05, 0.05, 2) * WORK
    centre = WORK / 2
    # output pixel -> source pixel
    tf = (AffineTransform(translation=(-size / 2, -size / 2))
          + AffineTransform(scale=(WORK / size / zoom,) * 2, rotation=angle)
          + AffineTransform(translation=(centre + shift[0], centre + shift[1])))
    out = warp(stack, tf, output_shape=(size, size), order=1, mode="constant", cval=0.0)
    photo, field, vessels = out[..., :3], out[..., 3] > 0.5, out[..., 4]
    # the optic disc: the brightest smooth spot of the photo
    bright = gaussian_filter(photo.mean(-1) * field, size / 40)
    dy, dx = np.unravel_index(np.argmax(bright), bright.shape)
    # vessel contrast, colour, illumination, blur
    photo = photo * (1 - rng.uniform(-0.4, 0.6) * vessels[..., None] * 0.6)
    photo = np.clip(photo, 0, 1) ** rng.uniform(0.75, 1.35)
    photo = photo * rng.uniform([0.8, 0.7, 0.6], [1.2, 1.2, 1.3])
    yy, xx = (np.mgrid[0:size, 0:size] - size / 2) / (size / 2)
    light = 1 + rng.uniform(-0.25, 0.25) * xx + rng.uniform(-0.25, 0.25) * yy - rng.uniform(0.05, 0.35) * (xx ** 2 + yy ** 2)
    photo = photo * light[..., None]
    blur = rng.uniform(0, 1.0) * size / 128
    if blur > 0.2:
        photo = gaussian_filter(photo, (blur, blur, 0))
    return photo, field, vessels, (float(dx), float(dy))


def _blob(photo, cx, cy, rx, ry, angle, colour, strength, soft=0.6):
    """Multiply (colour < 1) or brighten (colour > 1) an elliptical spot with soft edges, in place."""
    size = photo.shape[0]
    r = int(math.ceil(max(rx, ry) * 2 + 2))
    x0, x1, y0, y1 = max(0, int(cx) - r), min(size, int(cx) + r + 1), max(0, int(cy) - r), min(size, int(cy) + r + 1)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    u = (xx - cx) * math.cos(angle) + (yy - cy) * math.sin(angle)
    v = -(xx - cx) * math.sin(angle) + (yy - cy) * math.cos(angle)
    rho = np.sqrt((u / rx) ** 2 + (v / ry) ** 2)
    weight = strength * np.clip((1 + soft - rho) / soft, 0, 1)[..., None]
    patch = photo[y0:y1, x0:x1]
    photo[y0:y1, x0:x1] = patch * (1 - weight) + patch * np.asarray(colour) * weight


def _spots(rng, field, count, disc, quadrants=False):
    """`count` lesion centres inside the field, away from the optic disc; spread over the four quadrants."""
    size = field.shape[0]
    ys, xs = np.nonzero(field)
    out = []
    attempts = 0
    while len(out) < count and attempts < 50 * count + 100:
        attempts += 1
        k = rng.integers(len(xs))
        x, y = xs[k] + rng.uniform(-0.5, 0.5), ys[k] + rng.uniform(-0.5, 0.5)
        if math.hypot(x - disc[0], y - disc[1]) < size * 0.09:
            continue
        if quadrants:  # round-robin over the quadrants around the field's centre
            q = len(out) % 4
            if (x > size / 2) != bool(q & 1) or (y > size / 2) != bool(q & 2):
                continue
        out.append((x, y))
    return out


def _one(rng, size: int, grade: int) -> np.ndarray:
    photo, field, vessels, disc = _varied(rng, size)
    s = size / 128  # lesion sizes are given at 128 px
    red = (0.55, 0.25, 0.3)
    if grade >= 1:  # microaneurysms: small round dark-red dots
        for x, y in _spots(rng, field, int(rng.integers(1, 7)) if grade == 1 else int(rng.integers(3, 12)), disc):
            r = rng.uniform(0.7, 1.1) * s
            _blob(photo, x, y, r, r, 0, red, rng.uniform(0.6, 0.9), soft=0.5)
    if grade >= 2:
        severe = grade == 3 or (grade == 4 and rng.random() < 0.5)
        count = int(rng.integers(20, 41)) if severe else int(rng.integers(2, 9))
        for k, (x, y) in enumerate(_spots(rng, field, count, disc, quadrants=severe)):
            if severe and k % 3 == 2:  # flame haemorrhages: streaks along the nerve fibres
                angle = math.atan2(y - disc[1], x - disc[0]) + rng.normal(0, 0.3)
                _blob(photo, x, y, rng.uniform(2.0, 3.5) * s, rng.uniform(0.6, 1.0) * s, angle, red, 0.8)
            else:  # dot-blot haemorrhages
                r = rng.uniform(1.2, 2.6) * s
                _blob(photo, x, y, r, r * rng.uniform(0.7, 1.0), rng.uniform(0, math.pi), red, rng.uniform(0.6, 0.9))
        if rng.random() < (0.9 if severe else 0.6):  # hard exudates: yellow clusters
            for cx, cy in _spots(rng, field, int(rng.integers(1, 4)), disc):
                for _ in range(int(rng.integers(3, 10))):
                    r = rng.uniform(0.5, 1.1) * s
                    _blob(photo, cx + rng.normal(0, 3 * s), cy + rng.normal(0, 3 * s), r, r, 0, (1.5, 1.4, 0.7),
                          rng.uniform(0.6, 0.9), soft=0.4)
        if rng.random() < (0.9 if severe else 0.3):  # cotton-wool spots: pale, fluffy
            for x, y in _spots(rng, field, int(rng.integers(1, 5 if severe else 3)), disc):
                r = rng.uniform(1.8, 3.2) * s
                _blob(photo, x, y, r, r * rng.uniform(0.6, 1.0), rng.uniform(0, math.pi), (1.35, 1.35, 1.3), 0.6, soft=1.0)
    if grade == 4:  # new vessels: fine tortuous loops at the disc or elsewhere
        sites = [disc] if rng.random() < 0.6 else []
        sites += _spots(rng, field, int(rng.integers(0 if sites else 1, 3)), disc)
        for sx, sy in sites:
            for _ in range(int(rng.integers(2, 5))):
                x, y, heading = sx + rng.normal(0, 3 * s), sy + rng.normal(0, 3 * s), rng.uniform(0, 2 * math.pi)
                for _ in range(int(rng.integers(12, 30))):
                    heading += rng.normal(0, 0.6)
                    x, y = x + 0.8 * s * math.cos(heading), y + 0.8 * s * math.sin(heading)
                    _blob(photo, x, y, 0.55 * s, 0.55 * s, 0, (0.6, 0.3, 0.35), 0.7, soft=0.5)
        if rng.random() < 0.3:  # a pre-retinal haemorrhage: a large boat-shaped dark area
            [(x, y)] = _spots(rng, field, 1, disc) or [(size / 2, size / 2)]
            r = rng.uniform(5, 9) * s
            _blob(photo, x, y, r, r * 0.6, rng.uniform(0, math.pi), (0.35, 0.12, 0.12), 0.9, soft=0.3)
    photo = np.clip(photo, 0, 1) * field[..., None]
    noise = rng.normal(0, rng.uniform(0.005, 0.02), photo.shape)
    return (np.clip(photo + noise * field[..., None], 0, 1) * 255).round().astype(np.uint8)


def generated(count: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """The first `count` simulated photos at `size` px for `seed`, rendered once and cached (npz, no pickle)."""
    path = cache_dir("medical", "fundus-dr") / f"v{GENERATOR_VERSION}-s{seed}-{size}px-{count}.npz"
    return cached_arrays(path, lambda: simulate(0, count, size, seed))
