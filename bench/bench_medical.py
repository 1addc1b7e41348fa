"""medical: the flagship `zoo train medical/xray-anomaly`, its unsupervised sibling and the 192 px recipe.

Each recipe runs alone, one after the other, from an empty cache (so rendering chest-drr counts in its
time), as `zoo train` with its defaults, as a user would; all are scored on the same held-out test films
(the same draws: the 192 px recipe renders them at twice the resolution). Prints a Markdown section: time,
AUROC with its bootstrap interval, sensitivity/specificity at the validation-chosen operating point,
calibration error, the share of test films called familiar, AUROC per finding and nodule size, and what
`zoo predict` says of the real films that install offline and of pictures that are not chest films.
"""
from __future__ import annotations

import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECIPES = ("medical/xray-anomaly", "medical/xray-anomaly-unsupervised", "medical/xray-anomaly-hd")


def real_films(work: Path) -> list[tuple[str, str]]:
    """(what, path) of each film or picture `zoo predict` is shown: real radiographs that install offline,
    then inputs that are not chest films at all."""
    import numpy as np
    from PIL import Image
    from pydicom.data import get_testdata_file

    films = [("PA chest film of a person (pydicom-data RG1_UNCI)", get_testdata_file("RG1_UNCI.dcm")),
             ("tibia with a bone lesion (pydicom-data RG3_UNCI)", get_testdata_file("RG3_UNCI.dcm")),
             ("grey secondary capture, not a film (pydicom-data mlut_18)", get_testdata_file("mlut_18.dcm"))]
    spec = importlib.util.find_spec("deid_data")
    if spec is not None:
        data = Path(spec.origin).parent / "data"
        films += [("lateral chest film of a cat (deid-data)", str(data / "animals" / "cat.dcm")),
                  ("ultrasound (deid-data)", str(data / "ultrasounds" / "GREYSCALE_IMAGE.dcm")),
                  ("head CT capture (deid-data)", str(data / "humans" / "ctbrain1.dcm"))]
    films.append(("colour screenshot (pydicom-data SC_rgb)", get_testdata_file("SC_rgb.dcm")))
    # a phone photo of a film on a light box: the real chest film, warm-tinted
    from zoo_medical.images import read_radiograph

    grey = read_radiograph(get_testdata_file("RG1_UNCI.dcm"))[::4, ::4]
    tint = np.stack([grey * 0.95 + 0.05, grey * 0.85 + 0.03, grey * 0.6], -1)
    photo = work / "photo-of-film.jpg"
    Image.fromarray((tint * 255).astype(np.uint8)).save(photo)
    films.append(("colour photo of the chest film", str(photo)))
    return [(what, path) for what, path in films if path and Path(path).is_file()]


def predict(run: Path, path: str) -> str:
    result = subprocess.run([sys.executable, "-m", "zoo", "predict", str(run), path, "--json", "--device", "cpu"],
                            capture_output=True, text=True)
    if result.returncode:
        message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}"
        reason = message.split(": ", 2)[-1].split(";")[0]
        return f"refused ({reason})"
    row = json.loads(result.stdout.splitlines()[0])
    probability = row.get("anomaly_probability", row.get("anomaly_score"))
    return f"{row['label']} {probability:.3f}, {'familiar' if row['familiar'] else 'unfamiliar'} ({row['unfamiliarity']:.2f})"


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-medical-"))
    started = time.perf_counter()
    outs, walls = {}, {}
    for recipe in RECIPES:  # one at a time: each time target is for a recipe that has the machine
        out = work / recipe.replace("/", "-")
        env = {**os.environ, "ZOO_CACHE": str(work / f"cache-{out.name}")}  # each renders its own films
        t0 = time.perf_counter()
        with open(work / f"{out.name}.log", "w") as log:
            code = subprocess.run([sys.executable, "-m", "zoo", "train", recipe, "--out", str(out)], env=env,
                                  stdout=log, stderr=log).returncode
        walls[recipe], outs[recipe] = time.perf_counter() - t0, out
        print(f"{recipe}: {walls[recipe] / 60:.1f} min", file=sys.stderr, flush=True)
        if code:
            sys.exit(f"{recipe} failed:\n{(work / f'{out.name}.log').read_text()[-3000:]}")
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    reports = {r: json.loads((outs[r] / "operating_point.json").read_text()) for r in RECIPES}
    summaries = {r: json.loads((outs[r] / "summary.json").read_text()) for r in RECIPES}
    configs = {r: json.loads((outs[r] / "config.json").read_text())["config"] for r in RECIPES}

    print("## medical: chest X-ray anomaly detection (`medical/chest-drr`, recipe defaults)\n")
    print(f"Each recipe trained alone with `zoo train NAME` and its defaults, from an empty cache (rendering "
          f"included in its wall time); CPU time of all {(cpu.ru_utime + cpu.ru_stime) / 60:.1f} min, wall "
          f"{(time.perf_counter() - started) / 60:.1f} min.\n")
    print("| recipe | px | wall (min) | epochs | test AUROC [95% CI] | sensitivity | specificity | ECE raw / calibrated "
          "| test films familiar | test films (abnormal) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in RECIPES:
        t, cal = reports[r]["test"], reports[r]["calibration"]
        ece = f"{cal.get('test_ece_uncalibrated', float('nan')):.3f} / {cal['test_ece']:.3f}" \
            if isinstance(cal, dict) else "n/a"
        familiar = reports[r]["familiarity"]["familiar_share"]["test"]
        print(f"| `{r}` | {configs[r]['data.image_size']} | {walls[r] / 60:.1f} | {summaries[r]['epochs']} | "
              f"{t['auroc']:.3f} [{t['auroc_95ci'][0]:.3f}, {t['auroc_95ci'][1]:.3f}] | {t['sensitivity']:.3f} | "
              f"{t['specificity']:.3f} | {ece} | {familiar:.3f} | {t['count']} ({t['abnormal']}) |")
    print("\nSensitivity and specificity are at the threshold chosen on the validation split "
          "(sensitivity >= 0.9 there), not tuned on test. ECE: expected calibration error of anomaly_probability "
          "on the test films (10 bins), before and after Platt scaling fitted on the validation films (a "
          "reconstruction error has no raw probability). Familiar: the share of held-out rendered test films "
          "within the familiarity threshold (the validation films' 99th percentile; target >= 0.97).\n")
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

    print("\nWhat `zoo predict RUN FILE` says of real films that install offline and of pictures that are not "
          "chest films (label, anomaly probability, familiar or not with the distance over the threshold). "
          "Every training film shows one rendered patient, so a real film is far from all of them; one film "
          "of a person is an anecdote, not a measure of how the recipes do on real patients.\n")
    print("| input | " + " | ".join(f"`{r}`" for r in RECIPES) + " |")
    print("|---|" + "---|" * len(RECIPES))
    for what, path in real_films(work):
        print(f"| {what} | " + " | ".join(predict(outs[r], path) for r in RECIPES) + " |")


if __name__ == "__main__":
    main()
