"""The face-verification baseline: eigenfaces (Turk and Pentland 1991), i.e. PCA of the training pictures
(scikit-learn), and the cosine of two pictures' projections, scored on the very same pairs as the recipe.

Pictures are taken as they are (colour, the model's size), centred on the training mean; the number of components
and whether they are whitened (the "Mahalanobis cosine" that works best for eigenfaces) are chosen on the
validation split's TAR at FAR 1e-3.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import faces


def flatten(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def fit_eigenfaces(train: np.ndarray, valid: tuple[np.ndarray, np.ndarray],
                   grid: tuple[int, ...] = (25, 50, 100, 200), seed: int = 0) -> tuple[Any, dict[str, float]]:
    """PCA fitted on train (uint8 N x C x H x W), its size and whitening chosen on valid (images, labels);
    the fitted PCA and each choice's valid TAR at FAR 1e-3."""
    from sklearn.decomposition import PCA

    x = flatten(train)
    xv, yv = flatten(valid[0]), valid[1]
    best, best_score, scores = None, -1.0, {}
    for n in grid:
        if n >= min(x.shape):
            continue
        for whiten in (False, True):
            pca = PCA(n_components=n, whiten=whiten, svd_solver="randomized", random_state=seed).fit(x)
            score = faces.verification(pca.transform(xv), yv)["tar_far_1e-3"]
            scores[f"{n}{' whitened' if whiten else ''}"] = score
            if score > best_score:
                best, best_score = pca, score
    return best, scores


def embed(pca, images: np.ndarray) -> np.ndarray:
    return pca.transform(flatten(images))
