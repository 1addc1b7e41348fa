"""How "beats its baseline" is decided: a paired bootstrap of the per-example difference on the test split."""
from __future__ import annotations

from collections.abc import Sequence


def paired_bootstrap(ours: Sequence[float], theirs: Sequence[float], resamples: int = 2000,
                     seed: int = 0) -> tuple[float, float, float]:
    """Mean per-example difference (ours - theirs) and its 95% percentile interval over `resamples` resamples
    of the examples (the same resample for both, so the pairing is kept)."""
    import numpy as np

    diff = np.asarray(ours, dtype=float) - np.asarray(theirs, dtype=float)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)


def verdict(low: float, high: float) -> str:
    """'win' when the interval lies above zero, 'loss' below, else 'tie'."""
    return "win" if low > 0 else "loss" if high < 0 else "tie"
