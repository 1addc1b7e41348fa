"""Cost of one training step of vision/fashion-mnist-resnet's network: the former defaults (batch 128, fp32) against
today's (batch 512, bf16 autocast where the CPU has native bf16) and batch 512 in fp32, interleaved in one process
so that the machine's load falls on each alike. Forward, smoothed cross-entropy, backward and an AdamW step on
channels-last batches of the real training images; per 512 images, the fastest of FASHION_STEP_REPS rounds.
"""
from __future__ import annotations

import os
import time
import warnings

import torch
import torch.nn.functional as F

from zoo.build import build
from zoo.config import parse_sets
from zoo.training.device import cpu_has_bf16

REPS = int(os.environ.get("FASHION_STEP_REPS", 6))
CASES = [("former defaults: batch 128, fp32", 128, False), ("batch 512, fp32", 512, False),
         ("today's defaults: batch 512, bf16", 512, True)]


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = build("vision/fashion-mnist-resnet", None, parse_sets(["device=cpu", "grad_stats_every=0"]))
    model = b.model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = b.bundle.train
    x_all = torch.stack([data[i][0] for i in range(512)]).contiguous(memory_format=torch.channels_last)
    y_all = torch.stack([data[i][1] for i in range(512)])

    def step(batch: int, bf16: bool) -> None:
        for start in range(0, 512, batch):
            x, y = x_all[start:start + batch], y_all[start:start + batch]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    for _, batch, bf16 in CASES:  # warm-up: oneDNN builds its kernels on first use
        step(batch, bf16)
    best = {name: [float("inf"), float("inf")] for name, *_ in CASES}
    for _ in range(REPS):
        for name, batch, bf16 in CASES:
            wall, cpu = time.perf_counter(), time.process_time()
            step(batch, bf16)
            best[name][0] = min(best[name][0], time.perf_counter() - wall)
            best[name][1] = min(best[name][1], time.process_time() - cpu)
    base_wall, base_cpu = best[CASES[0][0]]
    print("## Fashion-MNIST: cost of a training step, former and today's defaults\n")
    print(f"{torch.get_num_threads()} threads; native bf16 on this CPU: {cpu_has_bf16()}. Per 512 training images "
          f"(forward, loss, backward, AdamW), the fastest of {REPS} interleaved rounds.\n")
    print("| step | wall s | CPU s | wall, ratio to former | CPU, ratio to former |\n|---|---|---|---|---|")
    for name, (wall, cpu) in best.items():
        print(f"| {name} | {wall:.3f} | {cpu:.3f} | {wall / base_wall:.2f} | {cpu / base_cpu:.2f} |")


if __name__ == "__main__":
    main()
