"""How "beats its baseline" is decided: a paired bootstrap of the per-example difference on the test split."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def paired_bootstrap(ours: Sequence[float], theirs: Sequence[float], resamples: int = 2000,
                     seed: int = 0, groups: Sequence | None = None) -> tuple[float, float, float]:
    """Mean per-example difference (ours - theirs) and its 95% percentile interval over `resamples` resamples
    of the examples (the same resample for both, so the pairing is kept). With `groups` (e.g. the report each
    question is about), whole groups are resampled, since examples of one group are not independent."""
    diff = np.asarray(ours, dtype=float) - np.asarray(theirs, dtype=float)
    rng = np.random.default_rng(seed)
    if groups is None:
        means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(1)
    else:
        codes = np.unique(np.asarray(groups), return_inverse=True)[1]
        sums, counts = np.bincount(codes, weights=diff), np.bincount(codes)
        pick = rng.integers(0, len(sums), size=(resamples, len(sums)))
        means = sums[pick].sum(1) / counts[pick].sum(1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)


def verdict(low: float, high: float) -> str:
    """'win' when the interval lies above zero, 'loss' below, else 'tie'."""
    return "win" if low > 0 else "loss" if high < 0 else "tie"


def paired_bootstrap_metric(metric: Callable[[np.ndarray, np.ndarray], float], truth: Sequence, ours: Sequence,
                            theirs: Sequence, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """The same for a metric that is not a mean over examples (macro-F1): both systems are scored on each
    resample of the test examples, and the interval is that of the difference of their scores."""
    truth, ours, theirs = np.asarray(truth), np.asarray(ours), np.asarray(theirs)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        pick = rng.integers(0, len(truth), size=len(truth))
        diffs.append(metric(ours[pick], truth[pick]) - metric(theirs[pick], truth[pick]))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return metric(ours, truth) - metric(theirs, truth), float(low), float(high)


def macro_f1(predicted, truth) -> float:
    """Macro-averaged F1 over the classes present in truth or predictions (as scikit-learn's f1_score)."""
    classes, codes = np.unique(np.concatenate([truth, predicted]), return_inverse=True)
    k = len(classes)
    confusion = np.bincount(codes[:len(truth)] * k + codes[len(truth):], minlength=k * k).reshape(k, k)
    tp = np.diag(confusion).astype(float)
    denominator = confusion.sum(0) + confusion.sum(1)  # 2 tp + fp + fn
    return float(np.mean(np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)))
