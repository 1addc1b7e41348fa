"""The shared trainer against a hand-written PyTorch loop: same model, data, order and seed.

Figures: per-epoch training time ratio (trainer / hand loop) with every extra off and with the
default extras on, and the per-epoch losses of both to 5 decimals. Runs are interleaved.
"""
import statistics
import time

import torch
import torch.nn.functional as F

from zoo.config import parse_sets, split
from zoo.runs import build
from zoo.train.device import seed_everything
from zoo.train.trainer import Trainer

EPOCHS, REPEATS = 3, 3
BASE = ["model.width=16", "data.image_size=8", "data.augment=none", "model.drop_rate=0", "batch_size=64",
        "epochs=%d" % EPOCHS, "device=cpu", "eval_limit=1", "tta=", "threads=1"]
OFF = ["grad_clip=0", "grad_stats_every=0", "label_smoothing=0", "schedule=constant", "weight_decay=0"]
DEFAULTS = ["grad_clip=1.0", "grad_stats_every=50", "label_smoothing=0.1", "schedule=onecycle", "weight_decay=0.05"]


def built(extra):
    b = build("vision/digits-resnet", None, parse_sets(BASE + extra))
    return b, split(b.config)[0]


def run_trainer(extra):
    b, cfg = built(extra)
    t = Trainer(b.model, b.task, b.bundle, cfg, callbacks=[])
    times, losses = [], []

    class Clock:
        def on_fit_start(self, tr): ...
        def on_epoch_start(self, tr): self.start = time.perf_counter()
        def on_step_end(self, tr, loss): self.end = time.perf_counter()
        def on_epoch_end(self, tr, row): times.append(self.end - self.start); losses.append(row["train_loss"])
        def on_fit_end(self, tr): ...

    t.callbacks = [Clock()]
    t.fit()
    return times, losses


def run_by_hand():
    """What a user would write: AdamW, a constant lr, the same batches in the same order."""
    b, cfg = built(OFF)
    seed_everything(cfg.seed)
    torch.set_num_threads(1)  # as the trainer does with threads=1: one thread avoids OpenMP stalls on shared cores
    model, data = b.model, b.bundle.train
    opt = torch.optim.AdamW([{"params": [p for p in model.parameters() if p.dim() > 1], "weight_decay": 0.0},
                             {"params": [p for p in model.parameters() if p.dim() <= 1], "weight_decay": 0.0}],
                            lr=cfg.lr)
    times, losses = [], []
    for epoch in range(EPOCHS):
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(cfg.seed + epoch)).tolist()
        loader = torch.utils.data.DataLoader(torch.utils.data.Subset(data, order), batch_size=cfg.batch_size)
        model.train()
        total, count = 0.0, 0
        start = time.perf_counter()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, count = total + loss.item(), count + 1
        times.append(time.perf_counter() - start)
        losses.append(total / count)
        model.eval()
        with torch.no_grad():  # the trainer evaluates one batch per epoch (eval_limit=1): do the same
            x, y = next(iter(torch.utils.data.DataLoader(b.bundle.valid, batch_size=cfg.eval_batch_size)))
            model(x)
    return times, losses


results = {"hand": [], "off": [], "defaults": []}
losses = {}
for _ in range(REPEATS):
    for name, fn in (("hand", run_by_hand), ("off", lambda: run_trainer(OFF)), ("defaults", lambda: run_trainer(DEFAULTS))):
        times, losses[name] = fn()
        results[name] += times[1:]  # the first epoch warms up allocators and caches
med = {k: statistics.median(v) for k, v in results.items()}
print("## Trainer overhead against a hand-written loop\n")
print(f"vision/digits-resnet (width 16, 8x8, no augmentation), {EPOCHS} epochs x {REPEATS} interleaved repeats, CPU, 1 thread; "
      "median seconds per training epoch (first epoch of each run left out).\n")
print("| loop | median s/epoch | ratio to hand loop | target |\n|---|---|---|---|")
print(f"| hand-written PyTorch | {med['hand']:.3f} | 1.000 | |")
print(f"| zoo Trainer, every extra off | {med['off']:.3f} | {med['off'] / med['hand']:.3f} | <= 1.03 |")
print(f"| zoo Trainer, default extras (clip, grad health, smoothing, one-cycle, wd) | {med['defaults']:.3f} | "
      f"{med['defaults'] / med['hand']:.3f} | <= 1.15 |")
same = [f"{a:.5f}" for a in losses["hand"]] == [f"{b:.5f}" for b in losses["off"]]
print(f"\nPer-epoch train loss, hand loop: {', '.join(f'{v:.5f}' for v in losses['hand'])}; "
      f"trainer with extras off: {', '.join(f'{v:.5f}' for v in losses['off'])}; identical to 5 decimals: {same}.")
