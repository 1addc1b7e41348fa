"""Helpers for the tests of zoo and of its plugins."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass


def require(condition: bool, why: str) -> None:
    """Skip a test whose data is missing, but fail it under CI=true, where missing data is a bug."""
    import pytest

    if condition:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"missing under CI: {why}")
    pytest.skip(why)


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_zoo(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Result:
    """Run the `zoo` CLI in a fresh process, as a user would."""
    proc = subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return Result(proc.returncode, proc.stdout, proc.stderr)


def imported_after(code: str, among: tuple[str, ...]) -> list[str]:
    """Which of the packages `among` a fresh interpreter has imported after running `code` (to show that a path
    stays light: prediction without plotting code, `zoo info` without torch)."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(among)!r})))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise AssertionError(f"the code failed:\n{done.stderr}")
    import json

    return json.loads(done.stdout.strip().splitlines()[-1])


def train_tiny(recipe: str, tmp_path, *sets: str, data: str | None = None, epochs: int = 1):
    """Train `recipe` in-process with tiny settings and return the OpenRun and its summary."""
    import json

    from .config import parse_sets
    from .reopen import open_run
    from .runs import train

    out = tmp_path / recipe.replace("/", "-")
    train(recipe, data=data, sets=parse_sets(["grad_stats_every=0", *sets]), out=str(out), epochs=epochs,
          callbacks=[])
    return open_run(out, device="cpu"), json.loads((out / "summary.json").read_text())


def count_predictors(monkeypatch) -> list[str]:
    """The folders every zoo.predictor.Predictor made during a test is made from (to show a path goes through it)."""
    from . import predictor

    made: list[str] = []
    init = predictor.Predictor.__init__

    def counting(self, folder, *args, **kwargs):
        made.append(str(folder))
        init(self, folder, *args, **kwargs)

    monkeypatch.setattr(predictor.Predictor, "__init__", counting)
    return made
