"""medical: the flagship `zoo train medical/xray-anomaly` and its unsupervised sibling, with their defaults.

Each recipe runs alone, one after the other, from an empty cache (so rendering chest-drr counts in its
time), as `zoo train` with its defaults, as a user would; both are scored on the same held-out test films.
Prints a Markdown section: time, AUROC with its bootstrap interval, sensitivity/specificity at the
validation-chosen operating point, and AUROC per finding and nodule size.
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
    started = time.perf_counter()
    outs, walls = {}, {}
    for recipe in RECIPES:  # one at a time: the 15-minute target is for a recipe that has the machine
        out = work / recipe.replace("/", "-")
        env = {**os.environ, "ZOO_CACHE": str(work / f"cache-{out.name}")}  # each renders its own films
        t0 = time.perf_counter()
        with open(work / f"{out.name}.log", "w") as log:
            code = subprocess.run([sys.executable, "-m", "zoo", "train", recipe, "--out", str(out)], env=env,
                                  stdout=log, stderr=log).returncode
        walls[recipe], outs[recipe] = time.perf_counter() - t0, out
        if code:
            sys.exit(f"{recipe} failed:\n{(work / f'{out.name}.log').read_text()[-3000:]}")
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    reports = {r: json.loads((outs[r] / "operating_point.json").read_text()) for r in RECIPES}
    summaries = {r: json.loads((outs[r] / "summary.json").read_text()) for r in RECIPES}

    print("## medical: chest X-ray anomaly detection (`medical/chest-drr`, recipe defaults)\n")
    print(f"Each recipe trained alone with `zoo train NAME` and its defaults, from an empty cache (rendering "
          f"included in its wall time); CPU time of both {(cpu.ru_utime + cpu.ru_stime) / 60:.1f} min, wall "
          f"{(time.perf_counter() - started) / 60:.1f} min.\n")
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
