"""Training augmentations for radiographs, by name, built from MONAI's array transforms."""
from __future__ import annotations

from zoo import ZooError


def build(spec: str, seed: int, paired: bool = False, size: int = 96, crop: int = 0):
    """'affine,contrast,noise' -> a MONAI Compose acting on a 1 x H x W tensor in [0, 1]; '' or 'none' -> None.

    No flips: left and right are not interchangeable on a chest film (the heart sits on the left). With
    `crop`, training sees a crop x crop window of each (augmented) film: full-resolution patches, a quarter
    of the pixels of a film twice as wide, while evaluation sees the whole film. With lesion masks (paired),
    half the windows of an abnormal film are centred on its lesion (MONAI's positive/negative sampling):
    a window drawn anywhere would miss a small nodule most of the time.
    """
    from monai import transforms as mt

    shift = round(6 * size / 96)  # the same share of the film at every resolution
    known = {
        "affine": lambda: mt.RandAffine(prob=0.7, rotate_range=0.08, scale_range=(0.08, 0.08),
                                        translate_range=(shift, shift), padding_mode="zeros"),
        "contrast": lambda: mt.RandAdjustContrast(prob=0.5, gamma=(0.75, 1.3)),
        "noise": lambda: mt.RandGaussianNoise(prob=0.3, std=0.02),
        "blur": lambda: mt.RandGaussianSmooth(prob=0.2, sigma_x=(0.3, 0.8), sigma_y=(0.3, 0.8)),
    }
    names = [s.strip() for s in spec.split(",") if s.strip() and s.strip() != "none"]
    for name in names:
        if name not in known:
            raise ZooError(f"--set data.augment: unknown augmentation {name!r}; known: {', '.join(known)}")
    cropping = [mt.RandSpatialCrop((crop, crop), random_size=False)] if crop else []
    if not names and not cropping:
        return None
    if paired:
        return Paired([known[n]() for n in names if n in GEOMETRIC], [known[n]() for n in names if n not in GEOMETRIC],
                      seed, LesionWindow(crop) if crop else None)
    compose = mt.Compose([known[n]() for n in names] + cropping)
    compose.set_random_state(seed=seed)
    return compose


GEOMETRIC = {"affine"}


class Paired:
    """Geometric transforms applied alike to a film and its lesion mask (stacked as channels); intensity ones to the film."""

    def __init__(self, geometric, intensity, seed: int, window=None):
        from monai import transforms as mt

        self.geometric, self.intensity, self.window = mt.Compose(geometric), mt.Compose(intensity), window
        self.geometric.set_random_state(seed=seed)
        self.intensity.set_random_state(seed=seed + 1)
        if window is not None:
            window.set_random_state(seed + 2)

    def __call__(self, x, mask):
        import torch

        both = torch.as_tensor(self.geometric(torch.cat([x, mask]))).float()
        if self.window is not None:
            both = self.window(both)
        x, mask = both[:1], both[1:]
        return torch.as_tensor(self.intensity(x)).float(), mask


class LesionWindow:
    """A size x size window of a film stacked with its mask (2 x H x W): centred on a lesion pixel or on
    another pixel with equal odds when the film has a lesion, anywhere when it has none."""

    def __init__(self, size: int):
        from monai import transforms as mt

        self.balanced = mt.RandCropByPosNegLabel((size, size), pos=1, neg=1, num_samples=1)
        self.anywhere = mt.RandSpatialCrop((size, size), random_size=False)

    def set_random_state(self, seed: int) -> None:
        self.balanced.set_random_state(seed=seed)
        self.anywhere.set_random_state(seed=seed + 1)

    def __call__(self, both):
        mask = both[1:] > 0.5
        return self.balanced(both, label=mask)[0] if mask.any() else self.anywhere(both)


def opacities(n: int, h: int, w: int, shares=(1.0,), device=None):
    """Soft elliptical opacities on n films of h x w: (added film brightness N x H x W, masks N x H x W).

    One round per entry of `shares`, each adding an opacity to that share of the films: random centre,
    radius (uniform, 1 pixel to h/7: 7 to 50 mm across at 96 px), elongation, angle, margin from hazy to
    sharp, and contrast 0.03 to 0.28 of the film's range (our lesions measure 0.04 to 0.17).
    Drawn from torch's global RNG, so a seeded run draws the same ones.
    """
    import math

    import torch

    rows = torch.arange(h, dtype=torch.float32, device=device).view(1, h, 1)
    cols = torch.arange(w, dtype=torch.float32, device=device).view(1, 1, w)
    added = torch.zeros(n, h, w, device=device)
    for share in shares:
        u = torch.rand(n, 8, device=device)
        cy, cx = (0.1 + 0.8 * u[:, 0]) * h, (0.1 + 0.8 * u[:, 1]) * w  # anywhere but the film's edge
        ry = 1.0 + u[:, 2] * h / 7
        rx = ry * (0.6 + 0.8 * u[:, 3])
        angle = u[:, 4] * math.pi
        dy, dx = rows - cy.view(n, 1, 1), cols - cx.view(n, 1, 1)
        c, s = angle.cos().view(n, 1, 1), angle.sin().view(n, 1, 1)
        d = torch.sqrt(((c * dy + s * dx) / ry.view(n, 1, 1)) ** 2 + ((c * dx - s * dy) / rx.view(n, 1, 1)) ** 2)
        sharpness = 2.0 + 10.0 * u[:, 5]
        blob = torch.sigmoid((1 - d) * sharpness.view(n, 1, 1))
        contrast = (0.03 + 0.25 * u[:, 6]) * (u[:, 7] < share).float()
        added = added + contrast.view(n, 1, 1) * blob
    return added, added > 0.015
