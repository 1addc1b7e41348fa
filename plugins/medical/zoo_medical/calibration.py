"""Calibrated anomaly probabilities: Platt scaling fitted on the validation films, judged on the test films.

A network trained with a class-weighted loss, early-stopped on AUROC, ranks films well but its sigmoid is
not a frequency: 0.8 need not mean that eight films in ten are abnormal. Platt scaling fits
p = sigmoid(a * evidence + b) on the validation films (evidence: the film's logit, or the log of an
unsupervised score), a temperature 1/a with a shift b for the class weighting; it keeps the ranking, so
AUROC and the operating point are unchanged. Expected calibration error from torchmetrics.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

BINS = 10
METHOD = "Platt scaling (a temperature and a shift) fitted on the validation films"


def fit(evidence: np.ndarray, labels: np.ndarray) -> dict[str, Any] | None:
    """{'a', 'b', 'method'}, or None when the validation films are all of one class."""
    from sklearn.linear_model import LogisticRegression

    if not 0 < labels.sum() < len(labels):
        return None
    model = LogisticRegression(C=10.0).fit(evidence.reshape(-1, 1), labels)
    return {"a": round(float(model.coef_[0, 0]), 6), "b": round(float(model.intercept_[0]), 6), "method": METHOD}


def apply(evidence, calibration: dict[str, Any]):
    """Calibrated probabilities of a numpy array or a torch tensor of evidence."""
    z = calibration["a"] * evidence + calibration["b"]
    return 1 / (1 + np.exp(-z)) if isinstance(z, np.ndarray) else z.sigmoid()


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray) -> float:
    import torch
    from torchmetrics.functional.classification import binary_calibration_error

    return float(binary_calibration_error(torch.as_tensor(probabilities, dtype=torch.float32),
                                          torch.as_tensor(labels), n_bins=BINS))


def plot_reliability(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> None:
    """Observed share of abnormal films against the mean predicted probability, by equal-width bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.linspace(0, 1, BINS + 1)
    fig, ax = plt.subplots(figsize=(4.8, 4.8))
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1, label="perfect")
    for name, (probabilities, labels) in curves.items():
        which = np.clip(np.digitize(probabilities, edges[1:-1]), 0, BINS - 1)
        filled = [b for b in range(BINS) if (which == b).any()]
        mean_p = [probabilities[which == b].mean() for b in filled]
        observed = [labels[which == b].mean() for b in filled]
        ece = expected_calibration_error(probabilities, labels)
        ax.plot(mean_p, observed, marker="o", label=f"{name} (ECE {ece:.3f})")
    ax.set(xlabel="predicted anomaly probability", ylabel="share abnormal", xlim=(0, 1), ylim=(0, 1),
           title="Reliability on the test films")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
