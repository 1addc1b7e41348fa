"""Baselines of recsys/web-search in the same query folds: LightGBM's lambdarank (LambdaMART) and the best single
feature. Each returns the test queries' scores; NDCG is computed by zoo_recsys.ranking.ndcg for every model alike."""
from __future__ import annotations

import math

import numpy as np

from .letor import Letor
from .ranking import ndcg


def group_sizes(data: Letor) -> tuple[np.ndarray, list[int]]:
    """Rows reordered so each query's documents are contiguous (what LightGBM's `group` needs), and the sizes."""
    groups = data.groups()
    return np.concatenate(list(groups.values())), [len(r) for r in groups.values()]


def lightgbm_scores(train: Letor, valid: Letor, test: Letor, seed: int = 0, n_estimators: int = 1000,
                    learning_rate: float = 0.05, num_leaves: int = 31, min_child_samples: int = 20,
                    early_stopping: int = 50) -> tuple[np.ndarray, int]:
    """LambdaMART (LightGBM `lambdarank`) on the raw features, early-stopped on the valid fold's NDCG@10 (as the
    neural ranker picks its checkpoint on it); returns the test documents' scores (in test's row order) and the
    number of trees kept. early_stopping=0 keeps all n_estimators trees."""
    import lightgbm as lgb

    rows, sizes = group_sizes(train)
    vrows, vsizes = group_sizes(valid)
    model = lgb.LGBMRanker(objective="lambdarank", n_estimators=n_estimators, learning_rate=learning_rate,
                           num_leaves=num_leaves, min_child_samples=min_child_samples, random_state=seed,
                           n_jobs=1, verbose=-1, deterministic=True, force_col_wise=True)
    model.fit(train.features[rows], train.labels[rows].astype(int), group=sizes,
              eval_X=(valid.features[vrows],), eval_y=(valid.labels[vrows].astype(int),), eval_group=[vsizes],
              eval_at=[10], callbacks=[lgb.early_stopping(early_stopping, verbose=False)] if early_stopping else [])
    return model.predict(test.features), int(model.best_iteration_ or n_estimators) if early_stopping else n_estimators


def mean_ndcg(data: Letor, scores: np.ndarray, k: int = 10) -> float:
    values = [ndcg(scores[rows], data.labels[rows], k) for rows in data.groups().values()]
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else math.nan


def best_feature(train: Letor) -> tuple[int, float]:
    """The feature (index from 0) and sign whose order gives the best mean NDCG@10 on `train` (the folds a model
    trains and validates on, never the test fold)."""
    best, pick = -1.0, (0, 1.0)
    for j in range(train.features.shape[1]):
        for sign in (1.0, -1.0):
            value = mean_ndcg(train, sign * train.features[:, j])
            if value > best:
                best, pick = value, (j, sign)
    return pick


def per_query(data: Letor, scores: np.ndarray, k: int) -> dict[str, float]:
    """NDCG@k of each query that has a relevant document."""
    out = {}
    for q, rows in data.groups().items():
        value = ndcg(scores[rows], data.labels[rows], k)
        if not math.isnan(value):
            out[q] = value
    return out
