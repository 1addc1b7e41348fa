"""Time to accuracy on Fashion-MNIST: the shared trainer with the recipe's defaults against a hand-written loop.

One run of each, one after the other, every thread: `vision/fashion-mnist-resnet` through the trainer (its
augmentation, label smoothing, one-cycle, clipping, channels-last, bf16 where the CPU has it), and a plain PyTorch
loop a user would write for the same network, batch and data (AdamW at the recipe's learning rate, constant, fp32,
no augmentation). Validation accuracy after each epoch against wall seconds and CPU seconds (time.process_time, all
threads) since the start; the trainer's test accuracy at the end, without and with its test-time views. The curve
is bench/time_to_accuracy.png. On a shared machine wall time is inflated by others' load; the ratio of the two
loops' epoch times and CPU seconds are what carries over.
TTA_EPOCHS: the trainer's epochs (default: the recipe's; fewer shortens its schedule). TTA_HAND_EPOCHS: the hand
loop's (default: as many), run first.
"""
from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from zoo.config import parse_sets, split
from zoo.build import build
from zoo.training.callbacks import Callback
from zoo.training.trainer import Trainer

EPOCHS = int(os.environ.get("TTA_EPOCHS", 0))  # 0: the recipe's own number
HAND_EPOCHS = int(os.environ.get("TTA_HAND_EPOCHS", 0))  # 0: as many as the trainer's
RECIPE = "vision/fashion-mnist-resnet"
PLOT = Path(__file__).with_name("time_to_accuracy.png")


def built():
    sets = ["grad_stats_every=0", "device=cpu"] + ([f"epochs={EPOCHS}"] if EPOCHS else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = build(RECIPE, None, parse_sets(sets))
    return b, split(b.config)[0]


def by_trainer() -> tuple[list[tuple[float, float, float]], dict[str, float], dict]:
    b, cfg = built()
    points, started, cpu = [], time.perf_counter(), time.process_time()

    class Clock(Callback):
        def on_epoch_end(self, trainer, row):
            points.append((time.perf_counter() - started, time.process_time() - cpu, row["valid_accuracy"]))
            progress("trainer", points)

    trainer = Trainer(b.model, b.task, b.bundle, cfg, callbacks=[Clock()])
    trainer.fit()
    test = {"test accuracy": trainer.evaluate("test")["accuracy"],
            "test accuracy with TTA": trainer.evaluate("test", tta=True)["accuracy"]}
    return points, test, {"batch_size": cfg.batch_size, "lr": cfg.lr, "epochs": cfg.epochs,
                          "precision": trainer.precision}


@torch.no_grad()
def accuracy(model, data, batch_size: int = 512) -> float:
    model.eval()
    right = total = 0
    for x, y in torch.utils.data.DataLoader(data, batch_size=batch_size):
        right += int((model(x).argmax(-1) == y).sum())
        total += len(y)
    model.train()
    return right / total


def by_hand(epochs: int) -> tuple[list[tuple[float, float, float]], dict[str, float]]:
    b, cfg = built()
    model, data = b.model, b.bundle
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    loader = torch.utils.data.DataLoader(data.train, batch_size=cfg.batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    points, started, cpu = [], time.perf_counter(), time.process_time()
    for _ in range(epochs):
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        points.append((time.perf_counter() - started, time.process_time() - cpu, accuracy(model, data.valid)))
        progress("hand loop", points)
    return points, {"test accuracy": accuracy(model, data.test)}


def progress(name: str, points: list[tuple[float, float, float]]) -> None:
    wall, cpu, acc = points[-1]
    print(f"{name} epoch {len(points)}: {wall / 60:.2f} wall min, {cpu / 60:.2f} CPU min, valid accuracy {acc:.4f}",
          file=sys.stderr, flush=True)


def plot(curves: dict[str, list[tuple[float, float]]]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in curves.items():
        ax.plot([t / 60 for t, _, _ in points], [a for *_, a in points], marker="o", ms=3, label=name)
    ax.set_xlabel("wall minutes")
    ax.set_ylabel("valid accuracy")
    ax.set_title("Fashion-MNIST")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(PLOT, dpi=90)
    plt.close(fig)


def main() -> None:
    started = time.perf_counter()
    b, recipe_cfg = built()
    hand, hand_test = by_hand(HAND_EPOCHS or recipe_cfg.epochs)  # first: its few epochs are the yardstick
    del b
    trained, test, cfg = by_trainer()
    curves = {"zoo Trainer, recipe defaults": trained, "hand loop (AdamW, fp32, no augmentation)": hand}
    plot({name: points for name, points in curves.items()})
    print(f"## Time to accuracy: {RECIPE}, trainer against a hand loop\n")
    print(f"A hand loop for {len(hand)} epochs, then the recipe's defaults (batch {cfg['batch_size']}, lr {cfg['lr']}, "
          f"{cfg['precision']}) for {len(trained)} epochs through the trainer, on the same network, batch and data; "
          "one after the other on every thread. Valid accuracy after each epoch against wall and CPU minutes "
          "(time.process_time, all threads) since the start. Curve: [time_to_accuracy.png](time_to_accuracy.png).\n")
    names = list(curves)
    print(f"| epoch | {names[0]}: wall min | CPU min | accuracy | {names[1]}: wall min | CPU min | accuracy |\n"
          "|---|---|---|---|---|---|---|")
    for epoch in range(max(len(trained), len(hand))):
        cells = []
        for points in (trained, hand):
            cells += ([f"{points[epoch][0] / 60:.1f}", f"{points[epoch][1] / 60:.1f}", f"{points[epoch][2]:.4f}"]
                      if epoch < len(points) else ["", "", ""])
        print(f"| {epoch + 1} | " + " | ".join(cells) + " |")
    for threshold in (0.90, 0.92, 0.93, 0.94):
        reached = [next((f"{t / 60:.1f} wall min ({c / 60:.1f} CPU min)" for t, c, a in points if a >= threshold),
                        "not reached") for points in curves.values()]
        print(f"\nFirst at valid accuracy >= {threshold}: trainer {reached[0]}, hand loop {reached[1]}.", end="")
    print("\n")
    per_epoch = [(points[-1][0] / len(points), points[-1][1] / len(points)) for points in (trained, hand)]
    print(f"Per epoch: trainer {per_epoch[0][0] / 60:.2f} wall min, {per_epoch[0][1] / 60:.2f} CPU min; hand loop "
          f"{per_epoch[1][0] / 60:.2f} wall min, {per_epoch[1][1] / 60:.2f} CPU min; trainer / hand loop: "
          f"{per_epoch[0][0] / per_epoch[1][0]:.2f} in wall time, {per_epoch[0][1] / per_epoch[1][1]:.2f} in CPU time.\n")
    print(f"Trainer, after {len(trained)} epochs: test accuracy {test['test accuracy']:.4f} without test-time views, "
          f"{test['test accuracy with TTA']:.4f} with them (task.tta); {trained[-1][0] / 60:.1f} wall min, "
          f"{trained[-1][1] / 60:.1f} CPU min of training. Hand loop after {len(hand)} epochs: test accuracy "
          f"{hand_test['test accuracy']:.4f}.\n")
    print(f"Whole run: {(time.perf_counter() - started) / 60:.1f} wall min.")


if __name__ == "__main__":
    main()
