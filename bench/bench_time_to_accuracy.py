"""Time to accuracy on Fashion-MNIST: the shared trainer with the recipe's defaults against a hand-written loop.

One run of each, one after the other, every thread: `vision/fashion-mnist-resnet` through the trainer (its
augmentation, label smoothing, one-cycle, clipping, channels-last), and a plain PyTorch loop a user would write
for the same network and data (AdamW at the recipe's learning rate, constant, no augmentation). Validation
accuracy after each epoch against wall seconds since the start; the curve is bench/time_to_accuracy.png.
Set TTA_EPOCHS to change the number of epochs (the recipe's default schedule is shortened to it).
"""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from zoo.config import parse_sets, split
from zoo.build import build
from zoo.training.callbacks import Callback
from zoo.training.trainer import Trainer

EPOCHS = int(os.environ.get("TTA_EPOCHS", 5))  # 5 of the recipe's 25: about 10 min for the pair
RECIPE = "vision/fashion-mnist-resnet"
PLOT = Path(__file__).with_name("time_to_accuracy.png")


def built():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = build(RECIPE, None, parse_sets(["grad_stats_every=0", "device=cpu", f"epochs={EPOCHS}"]))
    return b, split(b.config)[0]


def by_trainer() -> list[tuple[float, float]]:
    b, cfg = built()
    points, started = [], time.perf_counter()

    class Clock(Callback):
        def on_epoch_end(self, trainer, row):
            points.append((time.perf_counter() - started, row["valid_accuracy"]))

    Trainer(b.model, b.task, b.bundle, cfg, callbacks=[Clock()]).fit()
    return points


@torch.no_grad()
def accuracy(model, data, batch_size: int = 512) -> float:
    model.eval()
    right = total = 0
    for x, y in torch.utils.data.DataLoader(data, batch_size=batch_size):
        right += int((model(x).argmax(-1) == y).sum())
        total += len(y)
    model.train()
    return right / total


def by_hand() -> list[tuple[float, float]]:
    b, cfg = built()
    model, data = b.model, b.bundle
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    loader = torch.utils.data.DataLoader(data.train, batch_size=cfg.batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    points, started = [], time.perf_counter()
    for _ in range(EPOCHS):
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        points.append((time.perf_counter() - started, accuracy(model, data.valid)))
    return points


def plot(curves: dict[str, list[tuple[float, float]]]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in curves.items():
        ax.plot([t / 60 for t, _ in points], [a for _, a in points], marker="o", ms=3, label=name)
    ax.set_xlabel("wall minutes")
    ax.set_ylabel("valid accuracy")
    ax.set_title(f"Fashion-MNIST, {EPOCHS} epochs")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(PLOT, dpi=90)
    plt.close(fig)


def main() -> None:
    curves = {"zoo Trainer, recipe defaults": by_trainer(), "hand loop (AdamW, no augmentation)": by_hand()}
    plot(curves)
    print(f"## Time to accuracy: {RECIPE}, trainer against a hand loop\n")
    print(f"{EPOCHS} epochs each, one run each, one after the other on every thread; valid accuracy after each epoch "
          f"against wall minutes since the start. Curve: [time_to_accuracy.png](time_to_accuracy.png).\n")
    names = list(curves)
    print(f"| epoch | {names[0]}: minutes | accuracy | {names[1]}: minutes | accuracy |\n|---|---|---|---|---|")
    for epoch, ((t1, a1), (t2, a2)) in enumerate(zip(*curves.values()), 1):
        print(f"| {epoch} | {t1 / 60:.1f} | {a1:.4f} | {t2 / 60:.1f} | {a2:.4f} |")
    for threshold in (0.90, 0.92, 0.93):
        reached = [next((t / 60 for t, a in points if a >= threshold), None) for points in curves.values()]
        shown = ["not reached" if r is None else f"{r:.1f} min" for r in reached]
        print(f"\nFirst at valid accuracy >= {threshold}: trainer {shown[0]}, hand loop {shown[1]}.", end="")
    print()


if __name__ == "__main__":
    main()
