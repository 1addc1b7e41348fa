"""medical: the flagship `zoo train medical/xray-anomaly` and its unsupervised sibling, with their defaults.

Both start from an empty cache (so rendering chest-drr counts), run side by side, and are scored on the
same held-out test split. Prints a Markdown section: time, AUROC with its bootstrap interval,
sensitivity/specificity at the validation-chosen operating point, and AUROC per finding and nodule size.
Set BENCH_THREADS=1 on a shared machine: several processes each using two threads slow everything down.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECIPES = ("medical/xray-anomaly", "medical/xray-anomaly-unsupervised")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-medical-"))
    env = {**os.environ, "ZOO_CACHE": str(work / "cache")}
    threads = os.environ.get("BENCH_THREADS")
    if threads:
        env["OMP_NUM_THREADS"] = threads
    started = time.perf_counter()
    procs = {}
    for recipe in RECIPES:
        out = work / recipe.replace("/", "-")
        log = open(work / f"{out.name}.log", "w")
        procs[recipe] = (out, log, time.perf_counter(), subprocess.Popen(
            [sys.executable, "-m", "zoo", "train", recipe, "--out", str(out)], env=env, stdout=log, stderr=log))
        if recipe == RECIPES[0]:
            time.sleep(75)  # let the first process render the shared cache before the second one asks for it
    walls = {}
    for recipe, (out, log, t0, proc) in procs.items():
        code = proc.wait()
        walls[recipe] = time.perf_counter() - t0
        log.close()
        if code:
            sys.exit(f"{recipe} failed:\n{(work / f'{out.name}.log').read_text()[-3000:]}")
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    reports = {r: json.loads((procs[r][0] / "operating_point.json").read_text()) for r in RECIPES}
    summaries = {r: json.loads((procs[r][0] / "summary.json").read_text()) for r in RECIPES}

    print("## medical: chest X-ray anomaly detection (`medical/chest-drr`, recipe defaults)\n")
    print(f"Both recipes trained side by side from an empty cache (rendering included), "
          f"{threads or 'default'} torch thread(s) each; total CPU time of both {(cpu.ru_utime + cpu.ru_stime) / 60:.1f} min, "
          f"wall {(time.perf_counter() - started) / 60:.1f} min.\n")
    print("| recipe | wall (min) | epochs | test AUROC [95% CI] | sensitivity | specificity | test films (abnormal) |")
    print("|---|---|---|---|---|---|---|")
    for r in RECIPES:
        t = reports[r]["test"]
        print(f"| `{r}` | {walls[r] / 60:.1f} | {summaries[r]['epochs']} | {t['auroc']:.3f} [{t['auroc_95ci'][0]:.3f}, "
              f"{t['auroc_95ci'][1]:.3f}] | {t['sensitivity']:.3f} | {t['specificity']:.3f} | {t['count']} ({t['abnormal']}) |")
    print("\nSensitivity and specificity are at the threshold chosen on the validation split "
          "(sensitivity >= 0.9 there), not tuned on test.\n")
    print("AUROC per finding (that finding's abnormal test films against all normal test films):\n")
    print("| finding | films | " + " | ".join(f"`{r}` AUROC (sens.)" for r in RECIPES) + " |")
    print("|---|---|" + "---|" * len(RECIPES))
    groups = reports[RECIPES[0]]["test_by_finding"]
    for group in sorted(groups, key=lambda g: (not g.startswith("nodule"), g.replace("<", "0"))):
        cells = []
        for r in RECIPES:
            g = reports[r]["test_by_finding"][group]
            cells.append(f"{g['auroc']:.3f} ({g['sensitivity']:.2f})")
        print(f"| {group} | {groups[group]['count']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
