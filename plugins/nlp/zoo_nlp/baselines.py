"""Classical baselines measured on the same splits as the recipes (scikit-learn, torchmetrics' ROUGE).

- classifiers: TF-IDF (word 1-2-grams) + logistic regression, C picked on the validation split;
- summarization: the first sentence of the findings (lead-1), and retrieval: the impression of the
  training report whose findings are nearest in TF-IDF cosine similarity.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from .retrieval import nearest


def tfidf_logreg(train: tuple[Sequence[str], Sequence[int]], valid: tuple[Sequence[str], Sequence[int]],
                 test: tuple[Sequence[str], Sequence[int]], cs: Sequence[float] = (1.0, 10.0, 100.0),
                 predictions: bool = False) -> dict[str, float]:
    """Accuracy and macro-F1 on test of the TF-IDF + logistic-regression model with the best valid accuracy
    (and its test predictions, with predictions=True, for a paired comparison)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x_train = vectorizer.fit_transform(train[0])
    x_valid, x_test = vectorizer.transform(valid[0]), vectorizer.transform(test[0])
    best = None
    for c in cs:
        model = LogisticRegression(C=c, max_iter=2000).fit(x_train, train[1])
        score = accuracy_score(valid[1], model.predict(x_valid))
        if best is None or score > best[0]:
            best = (score, c, model)
    predicted = best[2].predict(x_test)
    out = {"accuracy": float(accuracy_score(test[1], predicted)),
           "f1_macro": float(f1_score(test[1], predicted, average="macro")), "C": best[1]}
    if predictions:
        out["predicted"] = [int(p) for p in predicted]
    return out


def first_sentence(text: str) -> str:
    parts = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)
    return parts[0]


def rouge(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    from .tasks import RougeF

    metric = RougeF()
    metric.update(list(predictions), list(references))
    return {k: float(v) for k, v in metric.compute().items()}


def lead_baseline(sources: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    return rouge([first_sentence(s) for s in sources], references)


def retrieval_baseline(train_sources: Sequence[str], train_targets: Sequence[str], sources: Sequence[str],
                       references: Sequence[str]) -> dict[str, float]:
    """Copy the impression of the nearest training findings (TF-IDF cosine)."""
    return rouge([train_targets[i] for [i] in nearest(train_sources, sources)], references)
