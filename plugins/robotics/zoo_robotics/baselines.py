"""The classical baseline for locating the object: depth segmentation.

Each pixel's depth reading is lifted to a world point with the calibrated camera; points more than 1.5 cm above
the tray's floor and inside its walls are the object; the largest 4-connected blob of them wins, and its grasp
point is the mean (x, y) of its points at the height of its highest one. No learning, no colour: it is blind to
camouflage and stripes, and suffers where the sensor gives no reading (dark and shiny objects).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .scenes import FLOOR_Z, pixels_to_world

ABOVE_FLOOR = 0.015  # metres: more than the depth noise and the floor's own relief
INSIDE = 0.19  # metres from the centre: the flat floor, short of the sloping walls


def floor_height(world: np.ndarray) -> float:
    """The tray floor's height in this scene: the median of the points near the nominal floor."""
    z = world[..., 2]
    near = z[np.isfinite(z) & (np.abs(z - FLOOR_Z) < 0.05)]
    return float(np.median(near)) if near.size else FLOOR_Z


def depth_segmentation(depth: np.ndarray, view: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """The grasp point (x, y, z) in metres of the largest blob standing above the floor; the tray's centre at
    floor height when nothing stands out."""
    world = pixels_to_world(depth, view, projection)
    floor = floor_height(world)
    with np.errstate(invalid="ignore"):
        mask = (world[..., 2] > floor + ABOVE_FLOOR) & (np.abs(world[..., :2]).max(-1) < INSIDE)
    labels, count = ndimage.label(mask)
    if count == 0:
        return np.array([0.0, 0.0, floor], dtype=np.float32)
    sizes = ndimage.sum(mask, labels, index=range(1, count + 1))
    blob = world[labels == 1 + int(np.argmax(sizes))]
    return np.array([blob[:, 0].mean(), blob[:, 1].mean(), blob[:, 2].max()], dtype=np.float32)
