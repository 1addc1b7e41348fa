"""The shared trainer against a hand-written PyTorch loop: same model, data, order and seed.

Two figures:
- equality: per-epoch training losses of the hand loop and of the trainer with every extra off, to 5 decimals;
- overhead: the time of one training step of the trainer (extras off; default extras) against a hand-written
  step, on the same batches. The three are interleaved step by step (hand, off, defaults, hand, ...), so the
  drift of these shared machines, which moved whole-epoch timings of the same code by 10-20% between runs,
  falls on all three alike. The ratio is of mean step times: it includes the default extras' occasional work
  (a gradient-health sample every 50 steps).
"""
import statistics
import time

import torch
import torch.nn.functional as F

from zoo.config import parse_sets, split
from zoo.build import build
from zoo.training.callbacks import Callback
from zoo.training.device import seed_everything
from zoo.training.trainer import Trainer

EPOCHS, STEPS = 3, 600
BASE = ["model.width=16", "data.image_size=8", "data.augment=none", "model.drop_rate=0", "batch_size=64",
        "epochs=%d" % EPOCHS, "device=cpu", "eval_limit=1", "task.tta=", "threads=1"]
OFF = ["grad_clip=0", "grad_stats_every=0", "task.label_smoothing=0", "schedule=constant", "weight_decay=0"]
DEFAULTS = ["grad_clip=1.0", "grad_stats_every=50", "task.label_smoothing=0.1", "schedule=onecycle", "weight_decay=0.05"]


def built(extra, epochs=EPOCHS):
    b = build("vision/digits-resnet", None, parse_sets(BASE + extra + [f"epochs={epochs}"]))
    return b, split(b.config)[0]


def hand_optimizer(model, lr):
    """What a user would write: AdamW, a constant lr."""
    return torch.optim.AdamW([{"params": [p for p in model.parameters() if p.dim() > 1], "weight_decay": 0.0},
                              {"params": [p for p in model.parameters() if p.dim() <= 1], "weight_decay": 0.0}], lr=lr)


def hand_step(model, opt, x, y) -> float:
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def equality() -> tuple[list[float], list[float]]:
    """Per-epoch train losses of the trainer with extras off and of a hand loop over the same batches."""
    b, cfg = built(OFF)
    losses = []

    class Record(Callback):
        def on_epoch_end(self, tr, row): losses.append(row["train_loss"])

    Trainer(b.model, b.task, b.bundle, cfg, callbacks=[Record()]).fit()

    b, cfg = built(OFF)
    seed_everything(cfg.seed)
    model, data, opt = b.model, b.bundle.train, hand_optimizer(b.model, cfg.lr)
    hand = []
    for epoch in range(EPOCHS):
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(cfg.seed + epoch)).tolist()
        loader = torch.utils.data.DataLoader(torch.utils.data.Subset(data, order), batch_size=cfg.batch_size)
        model.train()
        values = [hand_step(model, opt, x, y) for x, y in loader]
        hand.append(sum(values) / len(values))
    return hand, losses


def overhead() -> dict[str, list[float]]:
    """Seconds of each of STEPS training steps, the three loops interleaved step by step."""
    torch.set_num_threads(1)
    runs = {}
    for name, extra in (("off", OFF), ("defaults", DEFAULTS)):
        b, cfg = built(extra, epochs=1000)  # a long schedule: one-cycle stays in its warm-up, as in real runs
        runs[name] = Trainer(b.model, b.task, b.bundle, cfg, callbacks=[])
        runs[name].net.train()
    b, cfg = built(OFF)
    hand_model, hand_opt = b.model, hand_optimizer(b.model, cfg.lr)
    hand_model.train()
    loader = torch.utils.data.DataLoader(b.bundle.train, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(0))
    batches = [batch for _, batch in zip(range(40), loader)]
    times = {"hand": [], "off": [], "defaults": []}
    for i in range(STEPS):
        x, y = batches[i % len(batches)]
        start = time.perf_counter()
        hand_step(hand_model, hand_opt, x, y)
        times["hand"].append(time.perf_counter() - start)
        for name, trainer in runs.items():
            start = time.perf_counter()
            trainer._train_batch(x, y)
            times[name].append(time.perf_counter() - start)
    return times


hand_losses, trainer_losses = equality()
times = overhead()
mean = {k: statistics.fmean(v[20:]) for k, v in times.items()}  # the first steps warm up allocators and caches
median = {k: statistics.median(v[20:]) for k, v in times.items()}
print("## Trainer overhead against a hand-written loop\n")
print(f"vision/digits-resnet (width 16, 8x8, no augmentation, batch 64), CPU, 1 thread. {STEPS} training steps of "
      "each loop on the same batches, interleaved step by step (the first 20 left out); the target is judged on the "
      "mean step time, which includes the default extras' occasional work.\n")
print("| loop | mean ms/step | ratio to hand loop | median ms/step | ratio of medians | target |\n"
      "|---|---|---|---|---|---|")
print(f"| hand-written PyTorch | {1000 * mean['hand']:.2f} | 1.000 | {1000 * median['hand']:.2f} | 1.000 | |")
for name, label, target in (("off", "zoo Trainer, every extra off", "<= 1.03"),
                            ("defaults", "zoo Trainer, default extras (clip, grad health, smoothing, one-cycle, wd)",
                             "<= 1.15")):
    print(f"| {label} | {1000 * mean[name]:.2f} | {mean[name] / mean['hand']:.3f} | {1000 * median[name]:.2f} | "
          f"{median[name] / median['hand']:.3f} | {target} |")
same = [f"{a:.5f}" for a in hand_losses] == [f"{b:.5f}" for b in trainer_losses]
print(f"\nPer-epoch train loss over {EPOCHS} epochs, hand loop: {', '.join(f'{v:.5f}' for v in hand_losses)}; trainer "
      f"with extras off: {', '.join(f'{v:.5f}' for v in trainer_losses)}; identical to 5 decimals: {same}.")
