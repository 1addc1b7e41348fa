"""Callbacks: the trainer's extension points. Each event receives the trainer."""
from __future__ import annotations

import sys
import time
from typing import Any


class Callback:
    """Override the events you need; the trainer calls them on the main process only.

    A recipe contributes callbacks by naming them (RecipeSpec.callbacks). on_evaluate may add figures of its
    own to the epoch's row (e.g. `valid_elo` from a tournament every k rounds) before the row is logged and
    the best checkpoint chosen; `directions` says whether each is better high or low.
    """

    directions: dict[str, str] = {}

    def on_fit_start(self, trainer) -> None: ...
    def on_epoch_start(self, trainer) -> None: ...
    def on_step_end(self, trainer, loss: float) -> None: ...
    def on_evaluate(self, trainer, row: dict[str, Any]) -> None: ...
    def on_epoch_end(self, trainer, row: dict[str, Any]) -> None: ...
    def on_fit_end(self, trainer) -> None: ...


def format_row(row: dict[str, Any]) -> str:
    parts = [f"epoch {row['epoch']}"]
    for key, value in row.items():
        if key not in ("epoch",) and isinstance(value, float):
            parts.append(f"{key} {value:.4g}")
    return "  ".join(parts)


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class ConsoleLogger(Callback):
    """A progress bar on a terminal; one plain line per epoch otherwise (logs, CI, pipes). After the first
    few steps it prints how long training should take, and each epoch's line ends with the time left."""

    timed_steps = 5  # steps timed for the first estimate, after one step of warm-up

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.progress = self.task = None
        self.clock: tuple[int, float] | None = None
        self.epoch_seconds: list[float] = []

    def on_fit_start(self, trainer) -> None:
        self.clock, self.epoch_seconds = None, []

    def total_steps(self, trainer) -> int:
        total = trainer.config.epochs * trainer.steps_per_epoch
        return min(total, trainer.config.max_steps) if trainer.config.max_steps else total

    def estimate(self, trainer) -> None:
        """Time a few steps (the first, warming caches up, is left out) and say how long training should take."""
        now = time.perf_counter()
        if self.clock is None:
            self.clock = (trainer.step, now)
        elif trainer.step - self.clock[0] == self.timed_steps:
            per_step = (now - self.clock[1]) / self.timed_steps
            left = self.total_steps(trainer) - trainer.step
            print(f"expected training time: about {duration(left * per_step)} ({left} steps at {per_step:.3f} s each; "
                  "evaluation and data generation come on top)", file=self.stream, flush=True)

    def on_epoch_start(self, trainer) -> None:
        if self.stream.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
            self.progress = Progress(TextColumn(f"epoch {trainer.epoch + 1}/{trainer.config.epochs}"), BarColumn(),
                                     MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                                     TimeRemainingColumn(), transient=True)
            self.task = self.progress.add_task("train", total=trainer.batches_per_epoch, completed=trainer.batch,
                                               loss="-")
            self.progress.start()

    def on_step_end(self, trainer, loss: float) -> None:
        if self.clock is None or trainer.step - self.clock[0] <= self.timed_steps:
            self.estimate(trainer)
        if self.progress is not None:
            self.progress.update(self.task, completed=trainer.batch, loss=f"{loss:.4f}")

    def on_epoch_end(self, trainer, row: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        self.epoch_seconds.append(row.get("seconds", 0.0) + row.get("generate_seconds", 0.0))
        left = trainer.config.epochs - row["epoch"]
        eta = f"  left {duration(left * sum(self.epoch_seconds) / len(self.epoch_seconds))}" if left > 0 else ""
        print(format_row(row) + eta, file=self.stream, flush=True)


class TensorBoardLogger(Callback):
    """Every number of each epoch's row as a TensorBoard scalar in the run directory (`tensorboard --logdir
    runs/` shows every run), beside metrics.jsonl; grouped as train/, valid/ and time/."""

    def __init__(self, run_dir):
        self.run_dir, self.writer = run_dir, None

    def on_epoch_end(self, trainer, row: dict[str, Any]) -> None:
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(log_dir=str(self.run_dir), purge_step=row["epoch"])
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)):
                split, _, name = key.partition("_")
                tag = f"{split}/{name}" if split in ("train", "valid") else f"time/{key}" if "seconds" in key else key
                self.writer.add_scalar(tag, value, row["epoch"])
        self.writer.flush()

    def on_fit_end(self, trainer) -> None:
        if self.writer is not None:
            self.writer.close()
