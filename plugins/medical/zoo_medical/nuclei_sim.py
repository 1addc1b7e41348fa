"""Simulated microscopy tiles of cell nuclei with their instance masks (medical/pathology-nuclei's default).

Per tile (`simulate`), from a generator seeded by (seed, index): a nucleus size (mean equivalent radius 4-11 px),
a density and a layout (scattered, or clustered in a few groups, so that nuclei touch and overlap); each nucleus an
ellipse of aspect 1-1.9 with a wobbly outline (low Fourier modes of the radius), its chromatin a smooth texture
with dark clumps and a rim, its stain strength its own. A nucleus drawn over another hides the part it covers (the
instance map has one label per pixel, as DSB2018's and MoNuSeg's masks do); a new one may cover at most 35% of
itself with those drawn before.

Two renderings of that nuclear stain map, per tile:
- H&E (brightfield): haematoxylin (nuclei, a faint background) and eosin (cytoplasm and stroma: smooth fibrous
  fields, white gaps), mixed by Beer-Lambert with stain vectors jittered around Ruifrok & Johnston's, the stain
  strength and the white point varied (stain variation), blur and noise;
- fluorescence (a DNA stain, as DSB2018 and the StarDist sample): dark background with a smooth glow, nuclei
  of very different brightness, a few small bright condensed (mitotic) nuclei, blur, shot noise.
Tiles are stored as RGB uint8 (a fluorescence tile grey). Everything here is simulated; no real tissue is used.
"""
from __future__ import annotations

import math

import numpy as np

from zoo.paths import cache_dir, cached_arrays

GENERATOR_VERSION = 1  # bump when `simulate` changes what it draws
# optical density per unit stain (R, G, B), after Ruifrok & Johnston 2001 (as skimage.color.rgb2hed uses)
HAEMATOXYLIN = np.array([0.65, 0.70, 0.29])
EOSIN = np.array([0.07, 0.99, 0.11])


def simulate(start: int, stop: int, size: int, seed: int, fluorescence: float = 0.5) -> dict[str, np.ndarray]:
    """Tiles start..stop-1: `images` uint8 N x S x S x 3, `labels` int32 N x S x S (0 background, 1..k nuclei),
    `fluorescent` bool N (which rendering)."""
    images, labels, kinds = [], [], []
    for i in range(start, stop):
        rng = np.random.default_rng([seed, i, GENERATOR_VERSION])
        stain, label = nuclei(rng, size)
        fluo = bool(rng.random() < fluorescence)
        images.append(render_fluorescence(rng, stain, label) if fluo else render_he(rng, stain, label))
        labels.append(label)
        kinds.append(fluo)
    return {"images": np.stack(images), "labels": np.stack(labels), "fluorescent": np.array(kinds)}


def _smooth(rng, shape, sigma) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    field = gaussian_filter(rng.standard_normal(shape), sigma)
    return field / (field.std() + 1e-9)


def nuclei(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The nuclear stain density (float S x S, 0 outside nuclei) and the instance labels (int32 S x S)."""
    S = size
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float64)
    radius = rng.uniform(4.0, 11.0)
    fill = rng.uniform(0.12, 0.5)  # share of the tile covered by nuclei
    count = max(1, int(fill * S * S / (math.pi * radius ** 2)))
    clustered = rng.random() < 0.5
    centres = rng.uniform(0, S, size=(rng.integers(1, 4), 2))
    label = np.zeros((S, S), np.int32)
    stain = np.zeros((S, S))
    k = 0
    for _ in range(count * 3):  # tries: a nucleus that would be mostly hidden is not drawn
        if k >= count:
            break
        if clustered:
            cy, cx = centres[rng.integers(len(centres))] + rng.normal(0, S * 0.18, 2)
        else:
            cy, cx = rng.uniform(-radius, S + radius, 2)
        r = radius * rng.uniform(0.75, 1.3)
        aspect = rng.uniform(1.0, 1.9)
        a, b = r * math.sqrt(aspect), r / math.sqrt(aspect)
        theta = rng.uniform(0, math.pi)
        box = int(a * 1.4) + 2
        y0, y1, x0, x1 = max(0, int(cy) - box), min(S, int(cy) + box + 1), max(0, int(cx) - box), min(S, int(cx) + box + 1)
        if y1 <= y0 or x1 <= x0:
            continue
        dy, dx = yy[y0:y1, x0:x1] - cy, xx[y0:y1, x0:x1] - cx
        u = dx * math.cos(theta) + dy * math.sin(theta)
        v = -dx * math.sin(theta) + dy * math.cos(theta)
        phi = np.arctan2(v / b, u / a)
        wobble = 1 + sum(rng.normal(0, 0.06) * np.cos(m * phi + rng.uniform(0, 2 * math.pi)) for m in (2, 3, 5))
        rho = np.sqrt((u / a) ** 2 + (v / b) ** 2) / wobble
        inside = rho < 1
        if inside.sum() < 6:
            continue
        window = label[y0:y1, x0:x1]
        if (window[inside] > 0).mean() > 0.35:
            continue
        k += 1
        window[inside] = k
        # chromatin: a smooth texture, dark clumps, a rim (the nuclear envelope), nucleoli now and then
        h, w = inside.shape
        texture = 1 + rng.uniform(0.05, 0.3) * _smooth(rng, (h, w), rng.uniform(0.7, 1.5))
        clumps = (_smooth(rng, (h, w), 0.8) > rng.uniform(1.0, 2.0)) * rng.uniform(0.2, 0.6)
        rim = np.clip(rho - 0.75, 0, None) * rng.uniform(0, 2.0)
        density = rng.uniform(0.45, 1.0) * (texture + clumps + rim)
        if rng.random() < 0.3:  # a nucleolus
            nu, nv = rng.normal(0, 0.3 * a), rng.normal(0, 0.3 * b)
            density *= 1 - 0.5 * (((u - nu) ** 2 + (v - nv) ** 2) < (0.15 * r) ** 2)
        stain[y0:y1, x0:x1] = np.where(inside, density, stain[y0:y1, x0:x1])
    return stain.clip(0, None), relabel(label)


def relabel(label: np.ndarray) -> np.ndarray:
    """Labels 1..k in order, with parts of a nucleus cut off by another one dropped when under 4 pixels."""
    from scipy import ndimage

    out = np.zeros_like(label)
    k = 0
    for index, found in enumerate(ndimage.find_objects(label), start=1):
        if found is None:
            continue
        region = label[found] == index
        parts, n = ndimage.label(region)
        if n > 1:  # keep the largest piece of a nucleus split by one drawn over it
            sizes = ndimage.sum(region, parts, range(1, n + 1))
            region = parts == 1 + int(np.argmax(sizes))
        if region.sum() < 4:
            continue
        k += 1
        out[found][region] = k
    return out


def render_he(rng: np.random.Generator, stain: np.ndarray, label: np.ndarray) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    S = stain.shape[0]
    fibres = _smooth(rng, (S, S), rng.uniform(1.5, 4.0))
    eosin = np.clip(rng.uniform(0.25, 0.7) * (1 + 0.4 * np.abs(fibres) * rng.choice([-1, 1])), 0, None)
    gaps = _smooth(rng, (S, S), rng.uniform(4, 10)) > rng.uniform(0.8, 2.5)  # lumen, fat, tearing: white
    eosin = np.where(gaps & (label == 0), eosin * 0.05, eosin)
    haem = stain * rng.uniform(0.7, 1.6) + rng.uniform(0.01, 0.08) * (1 + 0.3 * _smooth(rng, (S, S), 6)) * (~gaps)
    eosin = eosin * (1 - 0.6 * (label > 0))  # the nucleus displaces cytoplasm
    h_vec = np.abs(HAEMATOXYLIN + rng.normal(0, 0.06, 3))
    e_vec = np.abs(EOSIN + rng.normal(0, 0.06, 3))
    h_vec, e_vec = h_vec / np.linalg.norm(h_vec), e_vec / np.linalg.norm(e_vec)
    density = (haem[..., None] * h_vec + eosin[..., None] * e_vec) * rng.uniform(0.6, 1.3)
    white = rng.uniform(0.9, 1.0, 3)
    rgb = white * np.exp(-density * math.log(10))
    rgb = gaussian_filter(rgb, (rng.uniform(0.3, 1.0),) * 2 + (0,))
    rgb = rgb + rng.normal(0, rng.uniform(0.005, 0.03), rgb.shape)
    return (rgb.clip(0, 1) * 255).round().astype(np.uint8)


def render_fluorescence(rng: np.random.Generator, stain: np.ndarray, label: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    S = stain.shape[0]
    count = int(label.max())
    brightness = np.concatenate([[0.0], rng.lognormal(0, rng.uniform(0.2, 0.6), count)])
    mitotic = rng.random(count + 1) < 0.05  # condensed chromatin: small and very bright
    brightness[mitotic] *= rng.uniform(2, 4)
    signal = stain * brightness[label] * (1 + 0.1 * _smooth(rng, (S, S), 1.0))
    signal = ndimage.gaussian_filter(signal, rng.uniform(0.5, 1.5))
    background = rng.uniform(0.0, 0.1) * (1 + 0.5 * _smooth(rng, (S, S), 12)).clip(0, None)
    photons = rng.uniform(30, 300)
    image = rng.poisson((signal + background).clip(0, None) * photons) / photons
    image = image / max(np.percentile(image, 99.9), 1e-6) * rng.uniform(0.5, 1.0)
    grey = (image.clip(0, 1) * 255).round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def generated(count: int, size: int, seed: int, fluorescence: float = 0.5) -> dict[str, np.ndarray]:
    """The first `count` simulated tiles at `size` px, rendered once per setting and cached (npz, no pickle)."""
    name = f"v{GENERATOR_VERSION}-s{seed}-{size}px-{count}-f{fluorescence:g}.npz"
    path = cache_dir("medical", "nuclei") / name
    return cached_arrays(path, lambda: simulate(0, count, size, seed, fluorescence))
