"""zoo-recsys on MovieLens-100k: our recipes against classic baselines, on the same splits, in one run.

Rating: test RMSE/MAE of recsys/ml100k-rating (I-AutoRec) and recsys/ml100k-rating-mf (biased MF) against the
training mean, and against Surprise's BaselineOnly and SVD (the library behind the published 5-fold figures) fit
on our train split. Each recipe picks its checkpoint on the valid split; test is scored once.
Ranking: leave-one-out HR@10/NDCG@10 (99 sampled negatives) and full-ranking recall@20 of NeuMF
(recsys/ml100k-ranking) against item popularity and plain MF (recsys/ml100k-ranking-mf).
Prints a Markdown section for bench/RESULTS.md.
"""
from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

torch.set_num_threads(1)  # tiny models on shared cores: one thread beats two that fight


def train_recipe(name: str, out: Path) -> tuple[dict, float]:
    from zoo.runs import train

    started = time.time()
    train(name, sets={"grad_stats_every": "0"}, out=str(out / name.replace("/", "-")), callbacks=[])
    summary = json.loads((out / name.replace("/", "-") / "summary.json").read_text())
    return summary["test"], time.time() - started


def rating_baselines() -> dict[str, dict[str, float]]:
    from zoo_recsys.data import split_per_user
    from zoo_recsys.interactions import load_movielens

    inter = load_movielens()
    part = split_per_user(inter, (0.1, 0.1), seed=0)  # the split of recsys/ml100k-rating
    train, test = part == 0, part == 2
    truth = inter.ratings[test]
    out = {}

    def score(pred: np.ndarray) -> dict[str, float]:
        pred = np.clip(pred, 1, 5)
        return {"rmse": float(np.sqrt(np.mean((pred - truth) ** 2))), "mae": float(np.mean(np.abs(pred - truth)))}

    out["split"] = {"train": int(train.sum()), "valid": int((part == 1).sum()), "test": int(test.sum())}
    out["training mean"] = score(np.full(test.sum(), inter.ratings[train].mean()))
    try:
        import pandas as pd
        from surprise import SVD, BaselineOnly, Dataset, Reader
    except ImportError:
        return out
    frame = pd.DataFrame({"u": inter.users, "i": inter.items, "r": inter.ratings})
    trainset = Dataset.load_from_df(frame[train], Reader(rating_scale=(1, 5))).build_full_trainset()
    pairs = list(frame[test].itertuples(index=False, name=None))
    for label, algo in (("Surprise BaselineOnly (biases, ALS)", BaselineOnly(verbose=False)),
                        ("Surprise SVD (defaults: 100 factors, 20 epochs)", SVD(random_state=0))):
        algo.fit(trainset)
        out[label] = score(np.array([algo.predict(u, i).est for u, i, _ in pairs]))
    return out


def popularity_ranking() -> dict[str, float]:
    """Rank by the number of training interactions: the same held-out items and negatives as the recipes."""
    from zoo_recsys.data import movielens_100k
    from zoo_recsys.tasks import LeaveOneOut

    data = movielens_100k(protocol="ranking")
    counts = torch.tensor(np.bincount(np.array(data.train.items), minlength=data.info["num_items"]), dtype=torch.float)
    metric = LeaveOneOut()
    batch = [data.test[i] for i in range(len(data.test))]
    x, codes = data.collate(batch)
    metric.update(counts.expand(len(codes), -1), codes)
    return {k: float(v) for k, v in metric.compute().items()}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        rating_ours, rating_s = train_recipe("recsys/ml100k-rating", out)
        rating_mf, rating_mf_s = train_recipe("recsys/ml100k-rating-mf", out)
        baselines = rating_baselines()
        neumf, neumf_s = train_recipe("recsys/ml100k-ranking", out)
        mf, mf_s = train_recipe("recsys/ml100k-ranking-mf", out)
    popular = popularity_ranking()

    print("## recsys: MovieLens-100k\n")
    print("Minutes in parentheses are wall-clock training times with one torch thread on a 2-core machine shared with "
          "other jobs during the run: inflated, compare accuracies, not times.\n")
    print("### Ratings (recsys/ml100k-rating)\n")
    sizes = baselines.pop("split")
    print(f"Each user's ratings split 80/10/10 at random (split seed 0): {sizes['train']:,} train / "
          f"{sizes['valid']:,} valid / {sizes['test']:,} test. Baselines fit on the same training split and score the same test ratings, clipped to 1..5.\n")
    print("| model | test RMSE | test MAE |\n|---|---|---|")
    for label, m in baselines.items():
        print(f"| {label} | {m['rmse']:.4f} | {m['mae']:.4f} |")
    print(f"| biased MF, recsys/ml100k-rating-mf ({rating_mf_s / 60:.1f} min) | {rating_mf['rmse']:.4f} | "
          f"{rating_mf['mae']:.4f} |")
    print(f"| **I-AutoRec, recsys/ml100k-rating** ({rating_s / 60:.1f} min) | **{rating_ours['rmse']:.4f}** | "
          f"**{rating_ours['mae']:.4f}** |")
    target = "met" if rating_ours["rmse"] <= 0.90 else "NOT met"
    svd = next((m for k, m in baselines.items() if k.startswith("Surprise SVD")), None)
    print(f"\nTarget RMSE <= 0.90: {target} ({rating_ours['rmse']:.4f}).", end=" ")
    if svd:
        print(f"Surprise's default SVD scores {svd['rmse']:.4f} on this split (its 5-fold runs on ML-100k give about "
              f"0.93-0.94, not the ~0.907 quoted in the issue); our biased MF is {svd['rmse'] - rating_mf['rmse']:.4f} "
              f"lower and I-AutoRec {svd['rmse'] - rating_ours['rmse']:.4f} lower on the same test ratings.", end=" ")
    print("I-AutoRec (hidden 200, sigmoid; each batch's own ratings and 20% of the others hidden from its input "
          "while training; weight decay 3, cosine schedule, 80 epochs) was tuned on the valid split only; "
          "published I-AutoRec figures on ML-100k (about 0.88-0.89) use 90/10 splits, more training data than our 80%.")
    print("\n### Top-10 ranking (recsys/ml100k-ranking, NCF protocol)\n")
    print("Implicit feedback; each user's latest interaction is the test item, ranked against 99 sampled items the "
          "user never rated (HR@10, NDCG@10) and against every unrated item (recall@20); 943 test users. "
          "Test figures use the last epoch's weights.\n")
    print("| model | HR@10 | NDCG@10 | recall@20 (full ranking) |\n|---|---|---|---|")
    rows = [("popularity (training counts)", popular), (f"plain MF, recsys/ml100k-ranking-mf ({mf_s / 60:.1f} min)", mf),
            (f"**NeuMF, recsys/ml100k-ranking** ({neumf_s / 60:.1f} min)", neumf)]
    for label, m in rows:
        print(f"| {label} | {m['hr@10']:.4f} | {m['ndcg@10']:.4f} | {m['recall@20']:.4f} |")
    beats = all(neumf[k] > max(popular[k], mf[k]) for k in ("hr@10", "ndcg@10"))
    print(f"\nNeuMF above both popularity and plain MF on HR@10 and NDCG@10: {'yes' if beats else 'NO'}. "
          "Published NeuMF figures on ML-100k (about 0.83-0.87 HR@10) are "
          f"{0.83 - neumf['hr@10']:.2f}-{0.87 - neumf['hr@10']:.2f} above ours; they come from other preprocessing "
          "and negative sampling (several papers also rank the held-out item against fewer, or easier, negatives), "
          "so they do not compare directly; the NCF paper reports about 0.73 on the larger ML-1M.")


if __name__ == "__main__":
    sys.exit(main())
