"""medical/retinopathy against a linear model on colour and lesion-filter features, on the same held-out photos.

`zoo train medical/retinopathy` with its defaults (simulation included in the wall time, from an empty cache); the
baseline is scikit-learn's logistic regression (standardised features, multinomial) on `lesion_features` of the same
preprocessed training photos, scored on the same test photos. Quadratic weighted kappa, AUROC of referable DR
(grade >= 2) and sensitivity at 90% specificity; "beats its baseline": the paired bootstrap 95% interval of the
difference (U-Net minus baseline, both scored on each resample of the test photos) above zero. Then `zoo predict` on
skimage's real fundus photo as it is (no lesion drawn; the simulated photos were all varied from it).

On a busy machine: BENCH_DR_SETS="data.count=1000 epochs=8" (any `--set` values) trains a smaller run; the section
says which settings ran.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired import paired_bootstrap_metric, verdict  # noqa: E402

RECIPE = "medical/retinopathy"


def main() -> None:
    import numpy as np

    work = Path(tempfile.mkdtemp(prefix="bench-retinopathy-"))
    sets = os.environ.get("BENCH_DR_SETS", "").split()
    env = {**os.environ, "ZOO_CACHE": str(work / "cache")}
    out = work / "run"
    command = [sys.executable, "-m", "zoo", "train", RECIPE, "--out", str(out), "--device", "cpu"]
    for item in sets:
        command += ["--set", item]
    t0 = time.perf_counter()
    with open(work / "train.log", "w") as log:
        code = subprocess.run(command, env=env, stdout=log, stderr=log).returncode
    wall = time.perf_counter() - t0
    if code:
        sys.exit(f"{RECIPE} failed:\n{(work / 'train.log').read_text()[-3000:]}")
    print(f"trained in {wall / 60:.1f} min", file=sys.stderr, flush=True)

    os.environ["ZOO_CACHE"] = env["ZOO_CACHE"]
    import zoo
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from zoo_medical.retinopathy_task import (REFERABLE, collect, lesion_features, quadratic_kappa,
                                              sensitivity_at_specificity)

    run = zoo.load(out, device="cpu")
    trainer = run.trainer(with_data=True)
    data = trainer.data
    probs, grades = collect(trainer.eval_model(), data.test, trainer.device, 64)
    t1 = time.perf_counter()
    train_x = np.stack([lesion_features(p.numpy() / 255.0) for p in data.train.photos])
    test_x = np.stack([lesion_features(p.numpy() / 255.0) for p in data.test.photos])
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=1.0))
    linear.fit(train_x, data.train.grades.numpy())
    theirs = linear.predict_proba(test_x)
    baseline_wall = time.perf_counter() - t1
    referable = (grades >= REFERABLE).astype(int)

    def kappa(p, truth):
        return quadratic_kappa(p.argmax(1), truth)

    def auc(p, truth):
        labels = (truth >= REFERABLE).astype(int)
        return float(roc_auc_score(labels, p[:, REFERABLE:].sum(1))) if 0 < labels.sum() < len(labels) else 0.5

    rows = []
    for name, metric in (("quadratic weighted kappa", kappa), ("AUROC, referable DR", auc)):
        diff, low, high = paired_bootstrap_metric(metric, grades, probs, theirs, resamples=1000)
        rows.append((name, metric(probs, grades), metric(theirs, grades), diff, low, high))
    sens = [sensitivity_at_specificity(p[:, REFERABLE:].sum(1), referable) for p in (probs, theirs)]
    summary = json.loads((out / "summary.json").read_text())
    grading = json.loads((out / "grading.json").read_text())
    info = json.loads((out / "config.json").read_text())["info"]

    from PIL import Image
    from skimage import data as skdata

    real = work / "retina.png"
    Image.fromarray(skdata.retina()).save(real)
    result = subprocess.run([sys.executable, "-m", "zoo", "predict", str(out), str(real), "--json", "--device", "cpu",
                             "--heatmap", "--heatmap-dir", str(work / "maps")], capture_output=True, text=True, env=env)
    if result.returncode:
        said = "refused: " + (result.stderr.strip().splitlines() or ["?"])[-1]
    else:
        row = json.loads(result.stdout.splitlines()[0])
        said = (f"grade {row['grade']} ({row['label']}), referable probability {row['referable_probability']}, "
                f"familiar={'yes' if row.get('familiar') else 'no'} (unfamiliarity {row.get('unfamiliarity')})")

    print(f"## medical_retinopathy: diabetic retinopathy grading (`{RECIPE}`, simulated lesions on a real photo)\n")
    settings = " ".join(f"--set {s}" for s in sets)
    print(f"`zoo train {RECIPE}{' ' + settings if settings else ''}` "
          f"({'recipe defaults' if not sets else 'REDUCED settings: the machine was too busy for the defaults'}): "
          f"{len(data.train) + len(data.valid) + len(data.test)} photos of {info['image_size']} px, "
          f"{summary['epochs']} epochs; wall "
          f"{wall / 60:.1f} min including the simulation. {len(grades)} held-out test photos "
          f"(grades {np.bincount(grades, minlength=5).tolist()}). Baseline: logistic regression on 39 colour and "
          f"lesion-filter features, fitted on the same {len(data.train)} training photos in {baseline_wall:.0f} s.\n")
    print("| metric | ResNet (`medical/retinopathy`) | linear baseline | difference [95% CI] | verdict |")
    print("|---|---|---|---|---|")
    for name, ours, base, diff, low, high in rows:
        print(f"| {name} | {ours:.3f} | {base:.3f} | {diff:+.3f} [{low:+.3f}, {high:+.3f}] | {verdict(low, high)} |")
    print(f"| sensitivity at 90% specificity (referable) | {sens[0]:.3f} | {sens[1]:.3f} | | |")
    cal = grading.get("calibration")
    if isinstance(cal, dict):
        print(f"\nReferable probability calibrated on the validation photos (Platt): test ECE "
              f"{cal['test_ece_uncalibrated']:.3f} -> {cal['test_ece']:.3f}. Familiar share of the test photos: "
              f"{grading['familiarity']['familiar_share'].get('test')}.")
    print(f"\nAnchors on real photos: Gulshan et al. 2016 AUROC 0.991 (referable DR), APTOS 2019 winners' kappa about "
          f"0.936; not comparable with these simulated lesions.\n")
    print(f"`zoo predict RUN retina.png --heatmap` on skimage's real fundus photo as it is (no lesion): {said}.\n")


if __name__ == "__main__":
    main()
