"""Classical baselines fitted on the recipes' own splits (scikit-learn), for the bench and the tests.

- sequences: the k-mer spectrum (counts of every k-mer, k = 1..K, scaled to unit length per sequence) and
  logistic regression, C picked on the validation split by AUROC;
- tables: gradient boosting (HistGradientBoostingClassifier) and logistic regression;
- contacts: the probability of a contact at each sequence separation, counted on the training chains;
- interfaces: gradient boosting on the same per-residue features the network reads.
Each returns test-split scores (probabilities), so that the bench can compare recipe and baseline per example.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def kmer_logreg(train: tuple[Sequence[str], Sequence[int]], valid: tuple[Sequence[str], Sequence[int]],
                test_seqs: Sequence[str], k: int, cs: Sequence[float] = (0.1, 1.0, 10.0, 100.0)) -> dict:
    """Test probabilities of the k-mer spectrum + logistic regression with the best valid AUROC, and its C."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline

    best = None
    for c in cs:
        model = make_pipeline(CountVectorizer(analyzer="char", ngram_range=(1, k), lowercase=False),
                              TfidfTransformer(use_idf=False),  # k-mer frequencies scaled to unit length
                              LogisticRegression(C=c, max_iter=3000))
        model.fit(list(train[0]), list(train[1]))
        score = roc_auc_score(valid[1], model.predict_proba(list(valid[0]))[:, 1])
        if best is None or score > best[0]:
            best = (score, c, model)
    return {"C": best[1], "valid_auroc": best[0], "test_scores": best[2].predict_proba(list(test_seqs))[:, 1]}


def gradient_boosting(x_train, y_train, x_valid, y_valid, x_test, seed: int = 0) -> dict:
    """Test class probabilities of gradient boosting, its learning rate picked on the validation split."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import log_loss

    best = None
    for rate in (0.03, 0.1):
        model = HistGradientBoostingClassifier(learning_rate=rate, max_iter=300, random_state=seed).fit(x_train, y_train)
        score = log_loss(y_valid, model.predict_proba(x_valid), labels=model.classes_)
        if best is None or score < best[0]:
            best = (score, rate, model)
    return {"learning_rate": best[1], "test_proba": best[2].predict_proba(x_test)}


def logistic_regression(x_train, y_train, x_valid, y_valid, x_test, cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0)) -> dict:
    """Test class probabilities of a logistic regression on standardized features, C picked on valid."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    best = None
    for c in cs:
        model = LogisticRegression(C=c, max_iter=5000).fit(x_train, y_train)
        score = log_loss(y_valid, model.predict_proba(x_valid), labels=model.classes_)
        if best is None or score < best[0]:
            best = (score, c, model)
    return {"C": best[1], "test_proba": best[2].predict_proba(x_test)}


def separation_prior(train_maps, max_separation: int = 1000) -> np.ndarray:
    """P(contact | |i - j| = s) for every separation s, counted over the training chains' scored pairs."""
    hits, pairs = np.zeros(max_separation), np.zeros(max_separation)
    for target in train_maps:
        t = np.asarray(target)
        length = t.shape[0]
        for s in range(1, min(length, max_separation)):
            d = np.diagonal(t, s)
            known = d >= 0
            hits[s] += (d[known] == 1).sum()
            pairs[s] += known.sum()
    prior = np.where(pairs > 0, hits / np.maximum(pairs, 1), 0.0)
    # beyond the longest training chain: the rate of the last well-counted separations
    last = np.nonzero(pairs >= 50)[0]
    if len(last):
        prior[last[-1] + 1:] = prior[max(1, last[-1] - 20): last[-1] + 1].mean()
    return prior


def separation_map(length: int, prior: np.ndarray):
    """The baseline's contact probabilities for a chain: each pair gets its separation's training rate."""
    import torch

    idx = np.arange(length)
    sep = np.minimum(np.abs(idx[:, None] - idx[None, :]), len(prior) - 1)
    return torch.tensor(prior[sep], dtype=torch.float32)
