"""Simulated B-mode ultrasound of fetal heads with an exact head circumference (medical/ultrasound-hc's default).

The simulator (`simulate`) draws, per image: the probe's sector (apex, opening angle, depth), the head (size,
aspect, position, orientation; HC 100-340 mm), the skull echo (thickness 2-6 mm, brightness, stronger where the
beam meets it square and broken where it grazes it), the brain (midline echo, thalami, choroid plexus), amniotic
fluid, maternal tissue layers, speckle (Rayleigh, correlated along the beam's lateral direction), attenuation with
depth, acoustic shadows behind bone and behind a limb or the placenta, gain and time-gain compensation, and
log compression. The circumference is that of the ellipse: 4 a E(e) (complete elliptic integral, scipy).
"""
from __future__ import annotations

import math

import numpy as np

from zoo.paths import cache_dir, cached_arrays

GENERATOR_VERSION = 1  # bump when `simulate` changes what it draws, so that old caches are not reused
HC_RANGE_MM = (100.0, 340.0)  # 14 to 40 weeks of gestation, about


# -- geometry -----------------------------------------------------------------------------------------------
def circumference(a: float, b: float) -> float:
    """The exact perimeter of an ellipse of semi-axes a and b: 4 a E(1 - b^2/a^2)."""
    from scipy.special import ellipe

    a, b = max(a, b), min(a, b)
    return float(4 * a * ellipe(1 - (b / a) ** 2)) if a > 0 else 0.0


def ellipse_radius(xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, a: float, b: float, theta: float):
    """The normalised radius of each point (1 on the ellipse), for an ellipse rotated by theta."""
    dx, dy = xx - cx, yy - cy
    u = dx * math.cos(theta) + dy * math.sin(theta)
    v = -dx * math.sin(theta) + dy * math.cos(theta)
    return np.sqrt((u / a) ** 2 + (v / b) ** 2), u, v


# -- the simulator ----------------------------------------------------------------------------------------------
def simulate(start: int, stop: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """Images start..stop-1 (each depends only on (seed, index)): uint8 images and bool head masks (N x S x S),
    pixel spacing (mm), exact circumference (mm) and the ellipse (cx, cy, a, b, theta in pixels)."""
    out = {"images": [], "masks": [], "spacing": [], "hc_mm": [], "ellipse": []}
    for i in range(start, stop):
        image, mask, spacing, hc, ellipse = _one(np.random.default_rng([seed, i, GENERATOR_VERSION]), size)
        for key, value in zip(out, (image, mask, spacing, hc, ellipse)):
            out[key].append(value)
    return {"images": np.stack(out["images"]), "masks": np.stack(out["masks"]),
            "spacing": np.array(out["spacing"], np.float64), "hc_mm": np.array(out["hc_mm"], np.float64),
            "ellipse": np.array(out["ellipse"], np.float64)}


def _smooth_noise(rng, shape, sigma) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    field = gaussian_filter(rng.standard_normal(shape), sigma)
    return field / (field.std() + 1e-9)


def _one(rng: np.random.Generator, size: int):
    from scipy.ndimage import gaussian_filter, map_coordinates

    S = size
    fine = 2  # the echo map is drawn at twice the resolution, then averaged down (partial volume at edges)
    yy, xx = np.mgrid[0:S * fine, 0:S * fine].astype(np.float64)
    yy, xx = (yy + 0.5) / fine - 0.5, (xx + 0.5) / fine - 0.5  # in output pixels

    # the probe: a curved-array sector from an apex above the image
    apex = (S / 2 + rng.uniform(-0.08, 0.08) * S, -rng.uniform(0.05, 0.3) * S)
    half_angle = math.radians(rng.uniform(32, 45))
    depth = rng.uniform(1.0, 1.15) * (S - apex[1])
    r = np.hypot(xx - apex[0], yy - apex[1])
    phi = np.arctan2(xx - apex[0], yy - apex[1])  # 0 straight down
    near = -apex[1] + rng.uniform(0.0, 0.05) * S  # the probe's face, at the top of the image
    inside_fan = (np.abs(phi) < half_angle) & (r < depth) & (r > near)

    # the head: semi-axes in pixels, its circumference in mm fixes the pixel spacing
    a = rng.uniform(0.22, 0.37) * S
    b = a * rng.uniform(0.72, 0.92)
    theta = rng.uniform(-0.5, 0.5) + (0 if rng.random() < 0.75 else math.pi / 2)  # mostly lying across the image
    cx = S / 2 + rng.uniform(-0.1, 0.1) * S
    cy = S * rng.uniform(0.48, 0.6)
    hc_px = circumference(a, b)
    hc_mm = rng.uniform(*HC_RANGE_MM)
    spacing = hc_mm / hc_px
    thickness = max(rng.uniform(2.0, 6.0) / spacing, 1.2)  # skull thickness in pixels
    rho, u, v = ellipse_radius(xx, yy, cx, cy, a, b, theta)
    rho_in, _, _ = ellipse_radius(xx, yy, cx, cy, a - thickness, b - thickness, theta)
    skull = (rho <= 1) & (rho_in > 1)
    brain = rho_in <= 1

    # echogenicity (amplitude before speckle): maternal tissue, fluid around the head, brain structures, skull
    tissue = rng.uniform(0.2, 0.4) * np.exp(0.35 * _smooth_noise(rng, xx.shape, 6 * fine))
    bands = 0.25 * np.sin((r / S) * rng.uniform(12, 30) + rng.uniform(0, 6)) * (r < rng.uniform(0.3, 0.45) * S)
    echo = tissue * (1 + bands)
    fluid_rho, _, _ = ellipse_radius(xx, yy, cx + rng.normal(0, 0.05 * S), cy + rng.normal(0, 0.05 * S),
                                     a * rng.uniform(1.15, 1.5), b * rng.uniform(1.2, 1.6), theta + rng.normal(0, 0.3))
    fluid = fluid_rho + 0.12 * _smooth_noise(rng, xx.shape, 8 * fine) < 1
    echo = np.where(fluid, rng.uniform(0.03, 0.12), echo)
    parenchyma = rng.uniform(0.12, 0.3) * np.exp(0.25 * _smooth_noise(rng, xx.shape, 4 * fine))
    echo = np.where(brain, parenchyma, echo)
    # midline echo along the major axis, thalami either side, choroid plexus
    mid = brain & (np.abs(v) < rng.uniform(0.4, 1.0)) & (np.abs(u) < a * rng.uniform(0.55, 0.85))
    echo = np.where(mid, rng.uniform(0.5, 1.0), echo)
    for side in (-1, 1):
        tu, tv = rng.uniform(-0.15, 0.1) * a, side * rng.uniform(0.12, 0.22) * b
        thal = ((u - tu) / (0.18 * a)) ** 2 + ((v - tv) / (0.1 * b)) ** 2 < 1
        echo = np.where(thal & brain, echo * 0.45, echo)
        if rng.random() < 0.7:
            pu, pv = rng.uniform(0.25, 0.5) * a * rng.choice([-1, 1]), side * rng.uniform(0.2, 0.45) * b
            plexus = ((u - pu) / (0.1 * a)) ** 2 + ((v - pv) / (0.06 * b)) ** 2 < 1
            echo = np.where(plexus & brain, rng.uniform(0.5, 0.9), echo)
    # the skull: brightest where the beam meets its surface square (specular), faint where it grazes it
    grad_y, grad_x = np.gradient(rho)
    norm = np.hypot(grad_x, grad_y) + 1e-9
    beam_x, beam_y = (xx - apex[0]) / (r + 1e-9), (yy - apex[1]) / (r + 1e-9)
    facing = np.abs(grad_x * beam_x + grad_y * beam_y) / norm
    along = np.arctan2(v / b, u / a)  # angle around the head, for gaps and varying brightness
    brightness = rng.uniform(1.2, 3.0) * (1 + 0.35 * np.sin(along * rng.integers(1, 4) + rng.uniform(0, 6)))
    bone = brightness * (rng.uniform(0.08, 0.3) + facing ** rng.uniform(1.5, 4))
    for _ in range(rng.integers(0, 3)):  # dropouts: arcs where the echo is lost
        centre, width = rng.uniform(-math.pi, math.pi), rng.uniform(0.1, 0.5)
        gap = np.abs((along - centre + math.pi) % (2 * math.pi) - math.pi) < width
        bone = np.where(gap, bone * rng.uniform(0.05, 0.3), bone)
    echo = np.where(skull, bone, echo)
    echo *= inside_fan

    # down to the output grid: partial volume at the skull's edges
    def down(x):
        return x.reshape(S, fine, S, fine).mean((1, 3))

    echo = down(echo)
    bone_map = down(np.where(skull, bone, 0.0) * inside_fan)
    r_out, phi_out = down(r), down(phi)
    fan = down(inside_fan.astype(np.float64)) > 0.5

    # along each beam: attenuation, shadows behind bone and behind a limb, the placenta or bowel gas
    nr, nphi = 2 * S, 2 * S
    radii = np.linspace(0, depth, nr)
    angles = np.linspace(-half_angle, half_angle, nphi)
    pr, pa = np.meshgrid(radii, angles, indexing="ij")
    px, py = apex[0] + pr * np.sin(pa), apex[1] + pr * np.cos(pa)
    polar_bone = map_coordinates(bone_map, [py, px], order=1, mode="constant")
    blocked = np.cumsum(polar_bone, 0) * (depth / nr) * rng.uniform(0.02, 0.12)
    for _ in range(rng.integers(0, 3)):
        centre, width = rng.uniform(-half_angle, half_angle), rng.uniform(0.03, 0.12)
        start = rng.uniform(0.2, 0.9) * depth
        blocked += (np.abs(pa - centre) < width) * (pr > start) * rng.uniform(0.5, 2.5)
    transmission = np.exp(-blocked)
    coords = [(r_out / depth) * (nr - 1), (phi_out + half_angle) / (2 * half_angle) * (nphi - 1)]
    transmission = map_coordinates(transmission, coords, order=1, mode="nearest")
    alpha = rng.uniform(1.0, 3.0) / S  # attenuation per pixel of depth
    tgc = rng.uniform(0.4, 0.9) * alpha  # time-gain compensation makes up part of it
    amplitude = echo * transmission * np.exp(-(alpha - tgc) * r_out)

    # speckle: a complex Gaussian field blurred by the point-spread function (wider laterally than axially)
    sigma_axial, sigma_lateral = rng.uniform(0.5, 0.9), rng.uniform(0.9, 1.8)
    field = (gaussian_filter(rng.standard_normal((S, S)), (sigma_axial, sigma_lateral))
             + 1j * gaussian_filter(rng.standard_normal((S, S)), (sigma_axial, sigma_lateral)))
    speckle = np.abs(field) / np.sqrt(np.mean(np.abs(field) ** 2))
    amplitude = amplitude * speckle * rng.uniform(0.7, 1.4)  # overall gain
    amplitude = gaussian_filter(amplitude, 0.5) + 0.01 * np.abs(rng.standard_normal((S, S)))  # electronic noise

    # log compression over a dynamic range of 40-60 dB, then the display
    dyn = rng.uniform(40, 60)
    db = 20 * np.log10(np.maximum(amplitude, 1e-6) / rng.uniform(1.0, 2.0))
    image = np.clip(1 + db / dyn, 0, 1) ** rng.uniform(0.9, 1.4)
    image = np.where(fan, image, 0.0)

    # the truth: pixels whose centre lies inside the outer border of the skull
    rho_pixel, _, _ = ellipse_radius(*np.mgrid[0:S, 0:S][::-1].astype(np.float64), cx, cy, a, b, theta)
    mask = rho_pixel <= 1
    return ((image * 255).round().astype(np.uint8), mask, spacing, hc_mm,
            (cx, cy, a, b, theta % math.pi))


def generated(count: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """The first `count` simulated images at `size` px for `seed`, rendered once and cached (npz, no pickle)."""
    path = cache_dir("medical", "ultrasound-hc") / f"v{GENERATOR_VERSION}-s{seed}-{size}px-{count}.npz"
    return cached_arrays(path, lambda: simulate(0, count, size, seed))
