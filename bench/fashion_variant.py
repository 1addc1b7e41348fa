"""One variant of vision/fashion-mnist-resnet, for hand runs (bench/HAND-RUNS.md): the recipe through the trainer
with extra settings, one JSON line per epoch (wall and CPU seconds since the start, valid accuracy, train loss) and
a last line with the test accuracy without and with the recipe's test-time views.

    python bench/fashion_variant.py NAME KEY=VALUE ...   # writes NAME.jsonl in the current folder
"""
from __future__ import annotations

import json
import sys
import time
import warnings

from zoo.build import build
from zoo.config import parse_sets, split
from zoo.training.callbacks import Callback
from zoo.training.trainer import Trainer


def main(name: str, sets: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = build("vision/fashion-mnist-resnet", None, parse_sets(["grad_stats_every=0", "device=cpu"] + sets))
    log = open(f"{name}.jsonl", "w")
    wall, cpu = time.perf_counter(), time.process_time()

    class Clock(Callback):
        def on_epoch_end(self, trainer, row):
            log.write(json.dumps({"epoch": len(trainer.history), "wall": round(time.perf_counter() - wall, 1),
                                  "cpu": round(time.process_time() - cpu, 1), "valid": row["valid_accuracy"],
                                  "train_loss": row.get("train_loss")}) + "\n")
            log.flush()

    trainer = Trainer(b.model, b.task, b.bundle, split(b.config)[0], callbacks=[Clock()])
    trainer.fit()
    log.write(json.dumps({"sets": sets, "test": trainer.evaluate("test")["accuracy"],
                          "test_tta": trainer.evaluate("test", tta=True)["accuracy"],
                          "wall": round(time.perf_counter() - wall, 1)}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
