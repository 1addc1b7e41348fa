"""Run benchmarks and rewrite bench/RESULTS.md.

Each bench/bench_<name>.py prints a Markdown section (figures measured side by side in one run).
`python bench/run.py` runs them all; `python bench/run.py NAME...` reruns some and keeps the other
sections as they were. Each section records the command that produced it.
"""
from __future__ import annotations

import collections
import os
import platform
import re
import shlex
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTION = re.compile(r"<!-- bench:(\S+) -->\n(.*?)<!-- /bench:\1 -->\n", re.S)
ENV_NAME = re.compile(r"""["']([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)["']""")  # a quoted name like "CONNECT4_BENCH_SETS"


def command_of(name: str, path: Path, environ: dict[str, str]) -> str:
    """The command that reproduces a section: the script, after the environment variables it names that are set
    (a bench's settings, e.g. CONNECT4_BENCH_SETS=epochs=100, change its figures)."""
    named = sorted(set(ENV_NAME.findall(path.read_text())))
    given = [f"{key}={shlex.quote(environ[key])}" for key in named if key in environ]
    return " ".join([*given, f"python bench/bench_{name}.py"])


def header() -> str:
    versions = []
    for dist in ("zoo", "torch", "timm", "monai", "transformers"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    cpu = platform.processor() or platform.machine()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = "?"
    return ("# Benchmark results\n\nWritten by `make bench` (`python bench/run.py [NAME...]`); single runs by hand, each "
            "with its command, are in [HAND-RUNS.md](HAND-RUNS.md). Each section names the "
            "command behind its figures and the date it ran; comparisons are ratios measured side by side in one run, "
            "since these machines are shared and noisy.\n\n"
            f"Machine: {platform.system()} {cpu}, {cores} cores; Python {platform.python_version()}; "
            f"{', '.join(versions)}.\n\n")


def run_script(path: Path) -> tuple[int, str, str]:
    """Run one bench script: its stdout (the Markdown section) is captured; its stderr is shown as it comes,
    so that a long bench shows its progress, and its tail is kept for the section of a failed run."""
    proc = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tail: collections.deque[str] = collections.deque(maxlen=60)

    def relay() -> None:
        for line in proc.stderr:
            sys.stderr.write(line)
            tail.append(line)

    thread = threading.Thread(target=relay, daemon=True)
    thread.start()
    out = proc.stdout.read()
    proc.wait()
    thread.join()
    return proc.returncode, out, "".join(tail)


def main(names: list[str]) -> None:
    scripts = {p.stem[len("bench_"):]: p for p in sorted(HERE.glob("bench_*.py"))}
    unknown = [n for n in names if n not in scripts]
    if unknown:
        sys.exit(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(scripts)}")
    for name in names or list(scripts):
        command = command_of(name, scripts[name], dict(os.environ))
        print(f"== {command}", flush=True)
        started = time.time()
        code, out, err = run_script(scripts[name])
        took = time.time() - started
        body = out.strip() if code == 0 else f"FAILED (exit {code}):\n```\n{err[-3000:]}\n```"
        section = f"{body}\n\nCommand: `{command}` ({time.strftime('%Y-%m-%d')}, {took / 60:.1f} min)\n\n"
        print(section, flush=True)
        # re-read just before writing: other sections may have been rewritten meanwhile
        sections = dict(SECTION.findall(RESULTS.read_text())) if RESULTS.exists() else {}
        sections[name] = section
        RESULTS.write_text(header() + "".join(f"<!-- bench:{k} -->\n{v}<!-- /bench:{k} -->\n"
                                              for k, v in sorted(sections.items())))


if __name__ == "__main__":
    main(sys.argv[1:])
