"""vision/faces against PCA eigenfaces + cosine on the same held-out identities and the same pairs.

`zoo train vision/faces` with its defaults (the renderings are made, and cached, inside that run), then the
baseline (scikit-learn PCA fitted on the same training pictures, its size and whitening chosen on the validation
split) on the very same valid/test pictures. Both are scored on the test identities (never seen in training,
drawn on background photos no training picture uses): TAR at FAR 1e-3 over all test pairs (the threshold at the
FAR of each system's own impostor scores) and verification accuracy on 3,000 + 3,000 test pairs at the
threshold each system chose on the validation pairs. Paired bootstraps (bench/paired.py): per-pair correctness
resampled by identity (the first picture's), and TAR at FAR 1e-3 recomputed on resamples of whole identities.

ZOO_BENCH_FACES="epochs=8 data.identities=200" trains with smaller settings on a busy machine; the section then
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


def identity_bootstrap_tar(ours, theirs, labels, pairs, same, far=1e-3, resamples=1000, seed=0):
    """TAR at `far` (ours - theirs) on resamples of whole identities: each pair weighs the product of how often
    its two identities were drawn (a genuine pair: how often its identity was), so that the impostor quantile
    and the genuine share are those of the resampled population."""
    import numpy as np

    ids = np.unique(labels)
    a, b = labels[pairs[:, 0]], labels[pairs[:, 1]]
    rng = np.random.default_rng(seed)

    def tar(scores, w):
        imp, wi = scores[~same], w[~same]
        order = np.argsort(-imp)
        cum = np.cumsum(wi[order])
        k = np.searchsorted(cum, far * cum[-1], side="right")
        threshold = imp[order][min(k, len(order) - 1)]
        gen, wg = scores[same], w[same]
        return float((wg * (gen > threshold)).sum() / max(wg.sum(), 1e-12))

    full = np.ones(len(same))
    point = tar(ours, full) - tar(theirs, full)
    diffs = []
    for _ in range(resamples):
        counts = np.bincount(rng.integers(0, len(ids), len(ids)), minlength=len(ids)).astype(float)
        w = np.where(same, counts[a], counts[a] * counts[b])
        diffs.append(tar(ours, w) - tar(theirs, w))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return point, float(low), float(high)


def main() -> None:
    import numpy as np

    from zoo.reopen import open_run
    from zoo_vision import faces
    from zoo_vision.faces_baseline import embed, fit_eigenfaces

    reduced = os.environ.get("ZOO_BENCH_FACES", "").split()
    work = Path(tempfile.mkdtemp(prefix="bench-faces-"))
    ours_s = train_cli("vision/faces", work / "run", reduced)
    summary = json.loads((work / "run" / "summary.json").read_text())
    config = json.loads((work / "run" / "config.json").read_text())

    trainer = open_run(work / "run", device="cpu").trainer(with_data=True)
    model = trainer.eval_model()
    model.eval()
    task, data = trainer.task, trainer.data
    valid_e = task.embed(model, data.valid, trainer.device)
    test_e = task.embed(model, data.test, trainer.device)

    log("baseline: PCA eigenfaces + cosine")
    started = time.perf_counter()
    pca, grid = fit_eigenfaces(data.train.images.numpy(), (data.valid.images.numpy(), data.valid.labels.numpy()))
    base_valid, base_test = embed(pca, data.valid.images.numpy()), embed(pca, data.test.images.numpy())
    base_s = time.perf_counter() - started

    yv, yt = data.valid.labels.numpy(), data.test.labels.numpy()
    every, every_same = faces.all_pairs(yt)
    listed, listed_same = faces.balanced_pairs(yt)
    rows = {}
    for label, ve, te in (("ours", valid_e, test_e), ("theirs", base_valid, base_test)):
        threshold, _ = faces.best_threshold(faces.cosine(ve, faces.balanced_pairs(yv)[0]), faces.balanced_pairs(yv)[1])
        scores_all = faces.cosine(te, every)
        scores_listed = faces.cosine(te, listed)
        tar, _ = faces.tar_at_far(scores_all, every_same)
        correct = ((scores_listed > threshold) == listed_same).astype(float)
        from sklearn.metrics import roc_auc_score
        rows[label] = {"tar": tar, "correct": correct, "all": scores_all, "threshold": threshold,
                       "auc": roc_auc_score(every_same, scores_all)}
    acc_diff, acc_low, acc_high = paired_bootstrap(rows["ours"]["correct"], rows["theirs"]["correct"],
                                                   groups=yt[listed[:, 0]])
    tar_diff, tar_low, tar_high = identity_bootstrap_tar(rows["ours"]["all"], rows["theirs"]["all"], yt, every,
                                                         every_same)
    sizes = config["info"]["split_sizes"]
    cfg = config["config"]

    print("## vision: faces (`zoo train vision/faces`)\n")
    print(f"**Rendered cartoon faces, not photographs**: npm facesjs identities, train {sizes['train'][0]:,} "
          f"identities / {sizes['train'][1]:,} pictures, valid {sizes['valid'][0]} / {sizes['valid'][1]:,}, test "
          f"{sizes['test'][0]} / {sizes['test'][1]:,} (identities and background photos never seen in training), "
          f"{cfg.get('data.image_size', 48)} px. Same pictures and pairs for both systems, one run on this machine: "
          f"{len(every):,} test pairs ({int(every_same.sum()):,} genuine) for TAR, {len(listed):,} for accuracy.\n")
    if reduced:
        print(f"Reduced settings for a busy machine: `ZOO_BENCH_FACES=\"{' '.join(reduced)}\"` (the defaults were "
              "not run in full).\n")
    print("| system | wall time | TAR @ FAR 1e-3 | verification accuracy (valid threshold) | ROC AUC (all pairs) |")
    print("|---|---|---|---|---|")
    for label, secs, key in (("vision/faces (ResNet embedding, ArcFace loss, trainer)", ours_s, "ours"),
                             ("PCA eigenfaces + cosine (scikit-learn)", base_s, "theirs")):
        print(f"| {label} | {secs / 60:.1f} min | {rows[key]['tar']:.4f} | {rows[key]['correct'].mean():.4f} | {rows[key]['auc']:.4f} |")
    print(f"\nRecipe minus baseline: TAR @ FAR 1e-3 {tar_diff:+.4f} [95% {tar_low:+.4f}, {tar_high:+.4f}] (identities "
          f"resampled, 1,000 resamples): **{verdict(tar_low, tar_high)}**; verification accuracy {acc_diff:+.4f} "
          f"[95% {acc_low:+.4f}, {acc_high:+.4f}] (pairs resampled by identity, 2,000 resamples): "
          f"**{verdict(acc_low, acc_high)}**. The recipe's run: {summary.get('epochs', '?')} epochs, best epoch "
          f"{summary.get('best_epoch')}, its own test figures {json.dumps({k: round(v, 4) for k, v in summary.get('test', {}).items()})}. "
          f"Target TAR @ FAR 1e-3 >= 0.95 on held-out rendered identities: "
          f"{'met' if rows['ours']['tar'] >= 0.95 else 'not met'} ({rows['ours']['tar']:.4f}). Eigenfaces by valid "
          "TAR: " + ", ".join(f"{k}: {v:.3f}" for k, v in grid.items()) + ".")
    print("\nAnchor (real photos, not comparable to renderings): ArcFace 99.83% verification accuracy on LFW.")


if __name__ == "__main__":
    main()
