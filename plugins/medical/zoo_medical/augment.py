"""Training augmentations for radiographs, by name, built from MONAI's array transforms."""
from __future__ import annotations

from zoo import ZooError


def build(spec: str, seed: int):
    """'affine,contrast,noise' -> a MONAI Compose acting on a 1 x H x W tensor in [0, 1]; '' or 'none' -> None.

    No flips: left and right are not interchangeable on a chest film (the heart sits on the left).
    """
    from monai import transforms as mt

    known = {
        "affine": lambda: mt.RandAffine(prob=0.7, rotate_range=0.08, scale_range=(0.08, 0.08),
                                        translate_range=(6, 6), padding_mode="zeros"),
        "contrast": lambda: mt.RandAdjustContrast(prob=0.5, gamma=(0.75, 1.3)),
        "noise": lambda: mt.RandGaussianNoise(prob=0.3, std=0.02),
        "blur": lambda: mt.RandGaussianSmooth(prob=0.2, sigma_x=(0.3, 0.8), sigma_y=(0.3, 0.8)),
    }
    names = [s.strip() for s in spec.split(",") if s.strip() and s.strip() != "none"]
    for name in names:
        if name not in known:
            raise ZooError(f"--set data.augment: unknown augmentation {name!r}; known: {', '.join(known)}")
    if not names:
        return None
    compose = mt.Compose([known[n]() for n in names])
    compose.set_random_state(seed=seed)
    return compose
