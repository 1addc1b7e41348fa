"""Training a recipe for a benchmark: its defaults, plus the settings a smoke test passes in an environment
variable (e.g. QA_BENCH_SETS=max_steps=2,data.limit=100; figures from such a run mean nothing)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any


def train_defaults(recipe: str, env: str, threads: int = 1,
                   sets: dict[str, str] | None = None) -> tuple[Path, float, dict[str, Any]]:
    """The run directory, the seconds training took, and the run's summary.json. `sets` are the bench's own
    variations on the defaults (a seed, an ablation); the environment's smoke-test settings come on top."""
    from zoo.runs import train

    out = Path(tempfile.mkdtemp(prefix="bench-")) / recipe.replace("/", "-")
    extra = {**(sets or {}), **dict(item.split("=", 1) for item in os.environ.get(env, "").split(",") if item)}
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(recipe, sets={"grad_stats_every": "0", "threads": str(threads), **extra}, out=str(out), callbacks=[])
    seconds = time.perf_counter() - started
    print(f"trained {recipe} in {seconds:.0f} s", file=sys.stderr, flush=True)
    return out, seconds, json.loads((out / "summary.json").read_text())


def trained_or_given(recipe: str, given: str, sets: dict[str, str]) -> tuple[Path, float]:
    """A run of `recipe` trained here (one thread, `sets` on its defaults), or the folder `given` (a run trained
    before, e.g. named by an environment variable); and its training seconds: for a given run, the sum of its
    epochs' own wall times (training and validation)."""
    from zoo.runs import train

    if given:
        out = Path(given)
        return out, sum(json.loads(line).get("seconds", float("nan"))
                        for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip())
    out = Path(tempfile.mkdtemp(prefix="bench-")) / recipe.replace("/", "-")
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(recipe, sets={"grad_stats_every": "0", "threads": "1", **sets}, out=str(out), callbacks=[])
    return out, time.perf_counter() - started


def train_cli(recipe: str, out: Path, sets: list[str], env: dict[str, str] | None = None,
              log: Path | None = None, device: str | None = None) -> float:
    """`zoo train RECIPE --out OUT --set ...` in a child process, as a user runs it; the seconds it took. Its
    output goes to `log` when given (else it is dropped); a failure ends the bench with the output's tail."""
    command = [sys.executable, "-m", "zoo", "train", recipe, "--out", str(out), *(["--device", device] if device else []),
               *(arg for item in sets for arg in ("--set", item))]
    print("training: " + " ".join(command[2:]), file=sys.stderr, flush=True)
    started = time.perf_counter()
    if log is None:
        proc = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        code, tail = proc.returncode, proc.stderr[-3000:]
    else:
        with open(log, "w") as fh:
            code = subprocess.run(command, env=env, stdout=fh, stderr=fh).returncode
        tail = log.read_text()[-3000:]
    if code:
        raise SystemExit(f"{recipe} failed:\n{tail}")
    return time.perf_counter() - started
