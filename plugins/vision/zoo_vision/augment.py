"""Training augmentations by name, built from torchvision transforms v2 (they act on tensors)."""
from __future__ import annotations

from torchvision.transforms import v2

from zoo import ZooError


def build(spec: str, image_size: int):
    """'crop,flip,erase' -> one v2.Compose acting on a normalized C x H x W tensor; '' or 'none' -> None."""
    pad = max(1, image_size // 8)
    known = {
        "crop": lambda: v2.RandomCrop(image_size, padding=pad, padding_mode="edge"),
        "flip": lambda: v2.RandomHorizontalFlip(),
        "affine": lambda: v2.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5),
        "erase": lambda: v2.RandomErasing(p=0.25, scale=(0.02, 0.15), value=0),
    }
    names = [s.strip() for s in spec.split(",") if s.strip() and s.strip() != "none"]
    for name in names:
        if name not in known:
            raise ZooError(f"--set data.augment: unknown augmentation {name!r}; known: {', '.join(known)}")
    return v2.Compose([known[n]() for n in names]) if names else None
