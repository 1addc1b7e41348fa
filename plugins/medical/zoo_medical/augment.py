"""Training augmentations for radiographs, by name, built from MONAI's array transforms."""
from __future__ import annotations

from zoo import ZooError


def build(spec: str, seed: int, paired: bool = False):
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
    if paired:
        return Paired([known[n]() for n in names if n in GEOMETRIC], [known[n]() for n in names if n not in GEOMETRIC],
                      seed)
    compose = mt.Compose([known[n]() for n in names])
    compose.set_random_state(seed=seed)
    return compose


GEOMETRIC = {"affine"}


class Paired:
    """Geometric transforms applied alike to a film and its lesion mask (stacked as channels); intensity ones to the film."""

    def __init__(self, geometric, intensity, seed: int):
        from monai import transforms as mt

        self.geometric, self.intensity = mt.Compose(geometric), mt.Compose(intensity)
        self.geometric.set_random_state(seed=seed)
        self.intensity.set_random_state(seed=seed + 1)

    def __call__(self, x, mask):
        import torch

        both = torch.as_tensor(self.geometric(torch.cat([x, mask]))).float()
        x, mask = both[:1], both[1:]
        return torch.as_tensor(self.intensity(x)).float(), mask
