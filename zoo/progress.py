"""Progress of long work that is not a training epoch: rendering, labelling, generating data, long evaluations.

On a terminal, a rich progress bar with the time left; elsewhere (logs, CI, pipes) a line at every tenth of
the way, so a log shows that work goes on without a line per item.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def track(items: Iterable[T], description: str, total: int | None = None, stream=None,
          lines: bool = True) -> Iterator[T]:
    """Yield `items`, showing how far along `description` is (off a terminal only when `lines`)."""
    stream = stream or sys.stderr
    total = total if total is not None else len(items) if hasattr(items, "__len__") else None
    if stream.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        columns = (TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=Console(file=stream), transient=True) as progress:
            task = progress.add_task(description, total=total)
            for item in items:
                yield item
                progress.advance(task)
        return
    if not lines:
        yield from items
        return
    started, step = time.perf_counter(), max(1, (total or 0) // 10)
    for done, item in enumerate(items, 1):
        yield item
        if total and (done % step == 0 or done == total):
            print(f"{description}: {done}/{total} ({time.perf_counter() - started:.0f} s)", file=stream, flush=True)
