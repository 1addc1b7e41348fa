"""How close training runs to what the machine can do: model FLOP utilisation (MFU) per recipe.

For each recipe with a convolutional or transformer backbone: the training FLOPs of one sample (forward and
backward, counted by torch.utils.flop_counter on one real batch), the samples per second of the shared trainer
over a steady stretch of steps on real, augmented batches (all threads), and the machine's fp32 matmul peak
measured in the same run (large square matmuls, all threads). MFU = FLOPs per sample x samples/s / peak.
Set UTIL_RECIPES=a,b to measure some recipes only, UTIL_DEVICE=cuda for a GPU (bf16 autocast, whose matmul
peak is then measured in bf16), UTIL_STEPS=N for the timed steps, UTIL_SETS=k=v,... for extra settings (e.g.
sync_every=1 to read the loss on the host every step). bench/gpu.sh runs it on a GPU machine.
"""
from __future__ import annotations

import os
import time
import warnings

import torch
from torch.utils.flop_counter import FlopCounterMode

from zoo.config import parse_sets, split
from zoo.data import batch_size_of, to_device
from zoo.build import build
from zoo.training.trainer import Trainer

RECIPES = ["vision/digits-resnet", "vision/fashion-mnist-resnet", "medical/xray-anomaly", "nlp/report-classify",
           "nlp/gloss-topic"]
WARMUP, STEPS = 5, int(os.environ.get("UTIL_STEPS", 25))
DEVICE = os.environ.get("UTIL_DEVICE", "cpu")


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def matmul_peak(repeats: int = 10) -> float:
    """FLOP/s of large square matmuls (fp32 on every CPU thread; bf16 on a GPU): the best of `repeats`."""
    n, dtype = (8192, torch.bfloat16) if DEVICE == "cuda" else (2048, torch.float32)
    a, b = torch.randn(n, n, device=DEVICE, dtype=dtype), torch.randn(n, n, device=DEVICE, dtype=dtype)
    a @ b
    best = 0.0
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        a @ b
        sync()
        best = max(best, 2 * n ** 3 / (time.perf_counter() - start))
    return best


def measure(name: str) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extra = [item for item in os.environ.get("UTIL_SETS", "").split(",") if item]
        built = build(name, None, parse_sets(["grad_stats_every=0", f"device={DEVICE}", "eval_limit=1", *extra]))
    cfg = split(built.config)[0]
    trainer = Trainer(built.model, built.task, built.bundle, cfg, callbacks=[])
    batches = iter(trainer.loader)
    x, y = next(batches)
    n = batch_size_of(y) or batch_size_of(x)
    with FlopCounterMode(display=False) as counter:  # one training step's forward and backward
        xd = to_device(x, trainer.device)
        trainer.task.loss(trainer.task.forward(trainer.model, xd), to_device(y, trainer.device)).backward()
    trainer.optimizer.zero_grad(set_to_none=True)
    flops = counter.get_total_flops() / n
    seen = 0
    for i in range(WARMUP + STEPS):
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(trainer.loader)
            x, y = next(batches)
        if i == WARMUP:
            trainer.settle()  # the warm-up's pending reads are not the timed steps'
            sync()
            start = time.perf_counter()
        trainer._train_batch(x, y)
        if i >= WARMUP:
            seen += batch_size_of(y) or batch_size_of(x)
    trainer.settle()
    sync()
    elapsed = time.perf_counter() - start
    # the network's own forward and backward on one batch, again and again: the ceiling of its kernels, with no
    # data, augmentation, clipping or optimizer around them
    xd, yd = to_device(x, trainer.device), to_device(y, trainer.device)
    k = batch_size_of(y) or batch_size_of(x)
    for i in range(WARMUP + STEPS):
        if i == WARMUP:
            sync()
            bare = time.perf_counter()
        trainer.task.loss(trainer.task.forward(trainer.model, xd), yd).backward()
    sync()
    bare_rate = STEPS * k / (time.perf_counter() - bare)
    trainer.optimizer.zero_grad(set_to_none=True)
    return {"flops": flops, "rate": seen / elapsed, "batch": n, "bare_rate": bare_rate}


def main() -> None:
    chosen = os.environ.get("UTIL_RECIPES", ",".join(RECIPES)).split(",")
    where = torch.cuda.get_device_name() if DEVICE == "cuda" else f"{torch.get_num_threads()} CPU threads"
    kind = "bf16 8192 x 8192" if DEVICE == "cuda" else "fp32 2048 x 2048"
    peak = matmul_peak()  # the best of 10 even when checking the script: the best of 2 came out below a recipe's rate
    rows = [(name, measure(name)) for name in chosen]
    peak_after = matmul_peak()
    print(f"## Model FLOP utilisation ({DEVICE})\n")
    print(f"Matmul peak, {kind} on {where}, best of 10: {peak / 1e9:.1f} GFLOP/s before the recipes and "
          f"{peak_after / 1e9:.1f} after; MFU is against the higher.\n")
    peak = max(peak, peak_after)
    print("| recipe | batch | training GFLOP per sample | samples/s | achieved GFLOP/s | MFU | "
          "forward + backward alone: MFU | target |")
    print("|---|---|---|---|---|---|---|---|")
    for name, m in rows:
        achieved = m["flops"] * m["rate"]
        target = ">= 0.5" if name == "vision/fashion-mnist-resnet" else ""
        print(f"| {name} | {m['batch']} | {m['flops'] / 1e9:.4f} | {m['rate']:.1f} | {achieved / 1e9:.1f} | "
              f"{achieved / peak:.3f} | {m['flops'] * m['bare_rate'] / peak:.3f} | {target} |")
    precision = "bf16 autocast" if DEVICE == "cuda" else "fp32, every thread"
    extra = os.environ.get("UTIL_SETS", "")
    print(f"\nThe trainer's own steps (augmentation on the batch, forward, backward, clipping, AdamW, schedule), "
          f"{STEPS} steps after {WARMUP} of warm-up, on the recipe's own batches and defaults ({precision}"
          f"{'; --set ' + extra if extra else ''}). `forward + backward alone`: the network's forward, loss and "
          "backward on one batch repeated, nothing else: what its kernels reach on this machine, the ceiling of the "
          "trainer's MFU.")


if __name__ == "__main__":
    main()
