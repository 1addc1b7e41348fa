"""Figures written into run directories. matplotlib is imported here only, with a file backend."""
from __future__ import annotations

import math
from pathlib import Path


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def curves(history: list[dict], path: Path) -> None:
    """Loss and every metric per epoch, one panel each."""
    if not history:
        return
    plt = _pyplot()
    keys = [k for k in history[-1] if k not in ("epoch", "lr", "seconds") and not k.endswith("_loss")]
    metric_names = sorted({k.split("_", 1)[1] for k in keys if "_" in k and k.split("_", 1)[0] in ("valid", "train")})
    panels = ["loss"] + metric_names
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    epochs = [row["epoch"] for row in history]
    for ax, name in zip(axes[0], panels):
        for split in ("train", "valid"):
            key = f"{split}_{name}"
            values = [row.get(key) for row in history]
            if any(v is not None for v in values):
                ax.plot(epochs, [math.nan if v is None else v for v in values], marker="o", ms=3, label=split)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def gradient_heatmap(rows: list[dict], path: Path) -> None:
    """log10 of each layer's gradient norm (rows: layers, first at the top; columns: steps)."""
    plt = _pyplot()
    layers = list(rows[-1]["layers"])
    grid = [[math.log10(max(r["layers"].get(n, {}).get("grad_norm", math.nan), 1e-30)) for r in rows] for n in layers]
    fig, ax = plt.subplots(figsize=(8, max(3, min(12, 0.12 * len(layers) + 2))))
    im = ax.imshow(grid, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_xlabel("training step")
    ax.set_ylabel("layer (input at top)")
    step_labels = [r["step"] for r in rows]
    ticks = list(range(0, len(rows), max(1, len(rows) // 8)))
    ax.set_xticks(ticks, [str(step_labels[i]) for i in ticks])
    if len(layers) <= 30:
        ax.set_yticks(range(len(layers)), layers, fontsize=6)
    fig.colorbar(im, ax=ax, label="log10 gradient norm")
    ax.set_title("gradient norm per layer")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def lr_sweep(lrs: list[float], losses: list[float], suggestion: float, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(lrs, losses)
    ax.axvline(suggestion, color="red", ls="--", label=f"suggested {suggestion:.2e}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("smoothed loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def confusion(matrix, classes: list[str], path: Path, title: str) -> None:
    """A confusion matrix: rows are true classes, columns predicted, each row as shares of its class."""
    import numpy as np

    plt = _pyplot()
    counts = np.asarray(matrix, dtype=float)
    shares = counts / np.clip(counts.sum(1, keepdims=True), 1, None)
    n = len(classes)
    size = min(4 + 0.35 * n, 16)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    if n <= 20:  # the counts stay readable
        for i in range(n):
            for j in range(n):
                ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if shares[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), classes, rotation=90, fontsize=7 if n > 20 else 9)
    ax.set_yticks(range(n), classes, fontsize=7 if n > 20 else 9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def roc(fpr, tpr, auroc: float, path: Path, title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"AUROC {auroc:.3f}")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.set_xlabel("false positive rate (1 - specificity)")
    ax.set_ylabel("true positive rate (sensitivity)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
