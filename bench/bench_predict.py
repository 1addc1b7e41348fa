"""Cold `zoo predict` on a medical/xray-anomaly run (one DICOM film), beside `zoo list`, interleaved runs; then
what a cold predict still imports (`python -X importtime`), the largest cumulative imports first.

The run is a small one (1 epoch on 120 films, cached under the zoo cache): start-up does not depend on training.
"""
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 5
TARGET = 3.0


def seconds(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def small_run() -> Path:
    from zoo.paths import cache_dir

    out = cache_dir("bench") / "predict-xray-run"
    if not (out / "summary.json").is_file():
        subprocess.run([sys.executable, "-m", "zoo", "train", "medical/xray-anomaly", "--out", str(out), "--epochs", "1",
                        "--set", "data.count=120", "--set", "grad_stats_every=0", "--device", "cpu"], check=True,
                       capture_output=True)
    return out


def imports(cmd: list[str], top: int = 8) -> list[tuple[str, float]]:
    """The top-level imports of a command by cumulative seconds."""
    err = subprocess.run([sys.executable, "-X", "importtime", *cmd], capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if not name.startswith("  ") and cumulative.strip().isdigit():  # top-level: no indentation
            rows.append((name.strip(), int(cumulative) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:top]


def main() -> None:
    from pydicom.data import get_testdata_file

    run, film = small_run(), get_testdata_file("RG1_UNCI.dcm")
    commands = {"zoo list": [sys.executable, "-m", "zoo", "list"],
                "zoo predict RUN film.dcm": [sys.executable, "-m", "zoo", "predict", str(run), film, "--device", "cpu"]}
    times = {name: [] for name in commands}
    for _ in range(RUNS):
        for name, cmd in commands.items():
            times[name].append(seconds(cmd))
    print("## Cold `zoo predict` (medical/xray-anomaly, one DICOM film)\n")
    print(f"Median of {RUNS} interleaved cold runs (wall seconds), load average at the start "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.\n")
    print("| command | median s | min s | max s |\n|---|---|---|---|")
    for name, values in times.items():
        print(f"| `{name}` | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
    predict = statistics.median(times["zoo predict RUN film.dcm"])
    print(f"\nTarget: median <= {TARGET} s: {'met' if predict <= TARGET else 'NOT met'} ({predict:.2f} s).\n")
    print("What a cold predict imports, largest first (`python -X importtime`, cumulative seconds, one run):\n")
    print("| module | s |\n|---|---|")
    for name, took in imports(commands["zoo predict RUN film.dcm"][1:]):
        print(f"| `{name}` | {took:.2f} |")


if __name__ == "__main__":
    main()
