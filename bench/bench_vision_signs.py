"""vision/traffic-signs against HOG + linear SVM on the same held-out renderings.

`zoo train vision/traffic-signs` with its defaults (the renderings are made, and cached, inside that run), then
the baseline (scikit-image HOG + scikit-learn LinearSVC, C chosen on the validation split) on the very same
train/valid/test images. Both are scored on the test renderings (drawn on photos no training image uses):
accuracy, accuracy on the signs alone (without the "no sign" class), on the mirror pairs, and the paired
bootstrap of per-image correctness (bench/paired.py).

ZOO_BENCH_SIGNS="epochs=6 data.per_class=150" trains with smaller settings on a busy machine; the section then
says which settings ran.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired import paired_bootstrap, verdict  # noqa: E402
from recipes import train_cli  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    import numpy as np

    from zoo.reopen import open_run
    from zoo_vision.signs_baseline import dataset_arrays, fit_hog_svm, hog_features

    reduced = os.environ.get("ZOO_BENCH_SIGNS", "").split()
    work = Path(tempfile.mkdtemp(prefix="bench-signs-"))
    ours_s = train_cli("vision/traffic-signs", work / "run", reduced)
    summary = json.loads((work / "run" / "summary.json").read_text())
    config = json.loads((work / "run" / "config.json").read_text())

    trainer = open_run(work / "run", device="cpu").trainer(with_data=True)
    scores, targets = trainer.collect("test")
    info = trainer.data.info
    y = targets.numpy()
    ours = (scores.argmax(-1).numpy() == y).astype(float)

    log("baseline: HOG + linear SVM")
    started = time.perf_counter()
    train, valid, test = (dataset_arrays(getattr(trainer.data, s)) for s in ("train", "valid", "test"))
    svm, c_scores = fit_hog_svm(train, valid)
    theirs_pred = svm.predict(hog_features(test[0]))
    base_s = time.perf_counter() - started
    assert (test[1] == y).all()
    theirs = (theirs_pred == y).astype(float)

    no_sign = info.get("no_sign")
    signs = y != no_sign if no_sign is not None else np.ones_like(y, bool)
    names = info["classes"]
    mirror = np.isin(y, [names.index(c) for pair in info.get("mirrors", []) for c in pair])
    diff, low, high = paired_bootstrap(ours, theirs)
    n_train, n_test = len(train[1]), len(y)
    cfg = config["config"]

    print("## vision: traffic signs (`zoo train vision/traffic-signs`)\n")
    print(f"**Rendered data, not photographs**: {len(names) - (no_sign is not None)} josm sign drawings plus a "
          f"'no sign' class, {n_train:,} training renderings on 6 photos, {len(valid[1]):,} valid on 2 others, "
          f"{n_test:,} test renderings on 3 photos no training image uses (china, rocket, coffee), "
          f"{cfg.get('data.image_size', 32)} px. Same images for both systems, one run on this machine.\n")
    if reduced:
        print(f"Reduced settings for a busy machine: `ZOO_BENCH_SIGNS=\"{' '.join(reduced)}\"` (the defaults were "
              "not run in full).\n")
    print("| system | wall time | test accuracy | signs only | mirror pairs |")
    print("|---|---|---|---|---|")
    for label, secs, right in (("vision/traffic-signs (compact ResNet, trainer)", ours_s, ours),
                               ("HOG + linear SVM (skimage + scikit-learn)", base_s, theirs)):
        print(f"| {label} | {secs / 60:.1f} min | {right.mean():.4f} | {right[signs].mean():.4f} | "
              f"{right[mirror].mean() if mirror.any() else float('nan'):.4f} |")
    print(f"\nRecipe minus baseline, per-image correctness: {diff:+.4f} [95% {low:+.4f}, {high:+.4f}] "
          f"(paired bootstrap, 2,000 resamples): **{verdict(low, high)}**. The recipe's run: "
          f"{summary.get('epochs', '?')} epochs; target >= 0.99 on the held-out renderings: "
          f"{'met' if ours.mean() >= 0.99 else 'not met'} ({ours.mean():.4f}). The SVM's C by valid accuracy: "
          + ", ".join(f"{c}: {a:.3f}" for c, a in c_scores.items()) + ".")
    print("\nAnchor (real photos, not comparable to renderings): GTSRB, CNN committee 99.46%, human 98.84%.")


if __name__ == "__main__":
    main()
