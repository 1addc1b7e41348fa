"""Dynamic batching: concurrent requests to one model gathered into one `Predictor.predict` call.

One thread per model owns its Predictor (which is not thread-safe: a call sets the task's options). It takes the
first waiting job, then gathers more for up to `max_wait_ms` or until `max_batch` inputs are waiting, and predicts
jobs that ask for the same options in one call. A failure is never shared: when a call gathering several jobs
fails, or its results cannot be told apart per job (an input that held several records, two inputs that wrote
the same file), each job is predicted again on its own, so a bad file in the middle of a load run costs only its
own request.
"""
from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ZooError

_STOP = object()


@dataclass
class Job:
    """One request: its Predictor arguments (paths or text), its `zoo predict` options, whether it wants files."""

    inputs: list[Any]
    options: dict[str, Any] = field(default_factory=dict)
    files: bool = False
    future: Future = field(default_factory=Future)

    @property
    def key(self) -> tuple:
        return self.files, tuple(sorted((k, repr(v)) for k, v in self.options.items()))


@dataclass
class Outcome:
    """A job's predictions (one dict per input record) and the folder its files were written to (or None)."""

    results: list[dict[str, Any]]
    folder: Path | None


def relocate(result: dict[str, Any], old: Path, new: Path) -> None:
    """Move the files a prediction names (its `files`, or a value such as medical's `heatmap`) from `old` to `new`,
    and name them there."""
    def moved(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(f"{old}{os.sep}") and Path(value).is_file():
            target = new / Path(value).name
            Path(value).replace(target)
            return str(target)
        if isinstance(value, list):
            return [moved(v) for v in value]
        return value

    for key, value in result.items():
        result[key] = moved(value)


def settle(job: Job, outcome: Outcome | None = None, error: BaseException | None = None) -> None:
    """The job's answer; a job cancelled meanwhile is dropped (with the files it wrote)."""
    try:
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(outcome)
    except InvalidStateError:
        if outcome is not None and outcome.folder is not None:
            shutil.rmtree(outcome.folder, ignore_errors=True)


class Batcher:
    """Gathers jobs for one Predictor; `submit` returns a Future of the job's Outcome (or its exception)."""

    def __init__(self, predictor, max_batch: int = 32, max_wait_ms: float = 2.0, scratch: Path | None = None,
                 on_batch: Callable[[int, int, float], None] | None = None, name: str = "model",
                 on_start: Callable[[], None] | None = None):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.predictor = predictor
        self.max_batch = max_batch
        self.max_wait = max(0.0, max_wait_ms) / 1000
        self.scratch = Path(scratch) if scratch is not None else Path(tempfile.gettempdir())
        self.on_batch = on_batch  # (inputs, jobs, seconds) after each Predictor call
        self.on_start = on_start  # run first in the thread (e.g. torch's thread count: it is per thread)
        self.jobs: queue.Queue = queue.Queue()
        self.closed = False
        self.thread = threading.Thread(target=self._loop, name=f"zoo-serve-batcher[{name}]", daemon=True)
        self.thread.start()

    def submit(self, job: Job) -> Future:
        if self.closed:
            raise RuntimeError("the server is shutting down")
        self.jobs.put(job)
        return job.future

    def close(self, timeout: float | None = 30.0) -> None:
        """Finish the jobs already submitted, then stop the thread."""
        if not self.closed:
            self.closed = True
            self.jobs.put(_STOP)
        self.thread.join(timeout)

    # -- the thread ---------------------------------------------------------------------------------------
    def _loop(self) -> None:
        if self.on_start is not None:
            self.on_start()
        stop = False
        while not stop:
            first = self.jobs.get()
            if first is _STOP:
                break
            batch, size = [first], len(first.inputs)
            deadline = time.monotonic() + self.max_wait
            while size < self.max_batch:
                left = deadline - time.monotonic()
                try:
                    job = self.jobs.get(timeout=left) if left > 0 else self.jobs.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stop = True
                    break
                batch.append(job)
                size += len(job.inputs)
            groups: dict[tuple, list[Job]] = {}
            for job in batch:
                groups.setdefault(job.key, []).append(job)
            for jobs in groups.values():
                self._run(jobs)

    def _run(self, jobs: list[Job]) -> None:
        if len(jobs) > 1:
            try:
                outcomes = self._predict_together(jobs)
            except Exception:  # noqa: BLE001 - retried one job at a time below, so the fault stays with its own
                outcomes = None
            if outcomes is not None:
                for job, outcome in zip(jobs, outcomes):
                    bad = [r for r in outcome.results if "error" in r]
                    if outcome.results and len(bad) == len(outcome.results):  # as Predictor.predict says it alone
                        if outcome.folder is not None:
                            shutil.rmtree(outcome.folder, ignore_errors=True)
                        more = f" (and {len(bad) - 1} more bad input(s))" if len(bad) > 1 else ""
                        settle(job, error=ZooError(f"{bad[0]['input']}: {bad[0]['error']}{more}"))
                    else:
                        settle(job, outcome)
                return
        for job in jobs:
            try:
                outcome = self._predict_alone(job)
            except BaseException as exc:  # noqa: BLE001 - handed to the request that sent the job
                settle(job, error=exc)
            else:
                settle(job, outcome)

    def _call(self, jobs: list[Job], inputs: list[Any]) -> tuple[list[dict], Path | None]:
        folder = Path(tempfile.mkdtemp(prefix="out-", dir=self.scratch)) if jobs[0].files else None
        started = time.perf_counter()
        try:
            results = self.predictor.predict(inputs, out=folder, batch_size=self.max_batch, **jobs[0].options)
        except BaseException:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        if self.on_batch is not None:
            self.on_batch(len(inputs), len(jobs), time.perf_counter() - started)
        return results, folder

    def _predict_alone(self, job: Job) -> Outcome:
        return Outcome(*self._call([job], job.inputs))

    def _predict_together(self, jobs: list[Job]) -> list[Outcome] | None:
        """One call for several jobs, split back per job (each with a folder of its own files); None when the
        results cannot be split safely."""
        inputs = [x for job in jobs for x in job.inputs]
        results, folder = self._call(jobs, inputs)
        written = [f for r in results for v in r.values() for f in (v if isinstance(v, list) else [v])
                   if folder is not None and isinstance(f, str) and f.startswith(str(folder))]
        if len(results) != len(inputs) or len(set(written)) != len(written):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            return None
        outcomes, at = [], 0
        for job in jobs:
            mine = results[at:at + len(job.inputs)]
            at += len(job.inputs)
            own = None
            if folder is not None:  # each job's files into a folder of its own, which its request then owns
                own = Path(tempfile.mkdtemp(prefix="out-", dir=self.scratch))
                for result in mine:
                    relocate(result, folder, own)
            outcomes.append(Outcome(mine, own))
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        return outcomes
