"""recsys/web-search: the neural listwise ranker against LightGBM lambdarank and the best single feature, in the
same 5 query folds of the MSLR-WEB10K slice (86 queries): every query is tested once, by the model trained on the
other folds. Per-query NDCG@10 and @5 are paired across models and bootstrapped over queries (bench/paired.py).
Prints a Markdown section for bench/RESULTS.md.

BENCH_RANK_EPOCHS (default: the recipe's) and BENCH_RANK_FOLDS (default 0,1,2,3,4) make a smaller run.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
torch.set_num_threads(1)

from paired import paired_bootstrap, verdict  # noqa: E402

RECIPE = "recsys/web-search"


def neural_scores(fold: int, out: Path, sets: dict[str, str], test) -> tuple[np.ndarray, float, dict]:
    """Train the recipe on one fold (checkpoint picked on the valid fold) and score the test fold's documents."""
    import zoo
    from zoo.runs import train
    from zoo_recsys.ranking import Queries, collate_queries

    started = time.time()
    run_dir = out / f"fold{fold}-{abs(hash(tuple(sorted(sets.items()))))}"
    train(RECIPE, sets={"grad_stats_every": "0", "threads": "1", "data.fold": str(fold), **sets}, out=str(run_dir),
          callbacks=[])
    took = time.time() - started
    net = zoo.load(str(run_dir), device="cpu").module.eval()
    scores = np.zeros(len(test), dtype=np.float64)
    queries = Queries(test)
    with torch.no_grad():
        for i, rows in enumerate(queries.rows):
            x, _ = collate_queries([queries[i]])
            scores[rows] = net(**x)[0].double().numpy()
    summary = json.loads((run_dir / "summary.json").read_text())
    return scores, took, summary


def main() -> None:
    from zoo_recsys.letor import load_mslr
    from zoo_recsys.ranking import split_by_fold
    from zoo_recsys.ranking_baselines import best_feature, lightgbm_scores, per_query

    folds = [int(f) for f in os.environ.get("BENCH_RANK_FOLDS", "0,1,2,3,4").split(",")]
    epochs = os.environ.get("BENCH_RANK_EPOCHS")
    data = load_mslr()
    base = {"epochs": epochs} if epochs else {}
    systems = {
        "neural, self-attention (recipe defaults)": dict(base),
        "neural, MLP only (model.attention=0)": {**base, "model.attention": "0"},
        "LightGBM lambdarank": None, "LightGBM lambdarank, 300 trees (no early stopping)": None,
        "best single feature": None, "feature 110 (BM25, whole document)": None,
    }
    per: dict[str, dict[int, dict[str, float]]] = {name: {10: {}, 5: {}} for name in systems}
    seconds = {name: 0.0 for name in systems}
    notes = []
    with tempfile.TemporaryDirectory() as tmp:
        for fold in folds:
            train, valid, test = split_by_fold(data, fold)
            for name, sets in systems.items():
                started = time.time()
                if sets is not None:
                    scores, _, summary = neural_scores(fold, Path(tmp), {k: str(v) for k, v in sets.items()}, test)
                    if name.startswith("neural, self"):
                        notes.append(f"fold {fold}: best epoch {summary['best_epoch']}")
                elif name == "LightGBM lambdarank":
                    scores, trees = lightgbm_scores(train, valid, test)
                    notes.append(f"fold {fold}: LightGBM kept {trees} trees")
                elif name.startswith("LightGBM"):
                    scores, _ = lightgbm_scores(train, valid, test, n_estimators=300, early_stopping=0)
                elif name.startswith("best single"):
                    j, sign = best_feature(train)  # picked on the training folds only
                    scores = sign * test.features[:, j]
                    notes.append(f"fold {fold}: best feature {j + 1}{' (negated)' if sign < 0 else ''}")
                else:
                    scores = test.features[:, 109]
                seconds[name] += time.time() - started
                for k in (10, 5):
                    per[name][k].update(per_query(test, scores, k))
                print(f"fold {fold} {name}: NDCG@10 {np.mean(list(per_query(test, scores, 10).values())):.4f}",
                      file=sys.stderr, flush=True)
    queries = sorted(per["LightGBM lambdarank"][10])
    ours = "neural, self-attention (recipe defaults)"
    print("## recsys: learning to rank on MSLR-WEB10K lines (`recsys/web-search`)\n")
    print(f"{len(data.queries)} queries ({len(data):,} documents) of MSLR-WEB10K Fold1 from rankeval 0.8.2, dealt into 5 "
          f"query folds (fixed permutation, seed 0); folds {','.join(map(str, folds))} run, each tested by models "
          "trained on three other folds and validated (checkpoint / early stopping) on the next one. "
          f"{len(queries)} test queries have a relevant document (NDCG is undefined for the others). "
          "Every model is scored by the same tie-averaged NDCG (gains 2^rel-1). Intervals: paired bootstrap over "
          "queries, 95%, 2,000 resamples. Seconds: wall time of all folds (training and scoring) with one thread "
          "on a shared 2-core machine." + (f" **Smaller run: {epochs} epochs per fold (BENCH_RANK_EPOCHS).**"
                                           if epochs else "") + "\n")
    print("| model | NDCG@10 | NDCG@5 | seconds |\n|---|---|---|---|")
    for name in systems:
        print(f"| {name} | {np.mean([per[name][10][q] for q in queries]):.4f} | "
              f"{np.mean([per[name][5][q] for q in queries]):.4f} | {seconds[name]:.0f} |")
    print("\n| comparison (per-query difference) | NDCG@10 mean [95% interval] | verdict | NDCG@5 mean [95%] | verdict |"
          "\n|---|---|---|---|---|")
    fixed = "LightGBM lambdarank, 300 trees (no early stopping)"
    pairs = [(ours, "LightGBM lambdarank"), (ours, fixed), ("neural, MLP only (model.attention=0)", "LightGBM lambdarank"),
             (ours, "neural, MLP only (model.attention=0)"), (ours, "best single feature"),
             ("LightGBM lambdarank", "best single feature")]
    for a, b in pairs:
        cells = []
        for k in (10, 5):
            mean, low, high = paired_bootstrap([per[a][k][q] for q in queries], [per[b][k][q] for q in queries])
            cells += [f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]", verdict(low, high)]
        print(f"| {a} - {b} | " + " | ".join(cells) + " |")
    print("\nPer fold: " + "; ".join(notes) + ".")


if __name__ == "__main__":
    sys.exit(main())
