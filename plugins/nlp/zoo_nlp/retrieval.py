"""Nearest training texts by TF-IDF cosine (scikit-learn): the retrieval baseline, and the retrieved
context that the summarizer reads beside the findings (retrieve-and-edit)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def nearest(bank: Sequence[str], queries: Sequence[str], k: int = 1, leave_one_out: bool = False) -> list[list[int]]:
    """Indices in `bank` of the k texts nearest to each query, nearest first. With leave_one_out the
    queries are the bank itself and no text may pick itself (how training examples get neighbours
    they could not copy their own answer from)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    matrix = vectorizer.fit_transform(bank)
    similarity = (vectorizer.transform(queries) @ matrix.T).toarray()
    if leave_one_out:
        if len(queries) != len(bank):
            raise ValueError("leave_one_out needs the bank itself as the queries")
        np.fill_diagonal(similarity, -1.0)
    # a stable sort keeps the earlier bank text first among equals, as argmax does
    return np.argsort(-similarity, axis=1, kind="stable")[:, :k].tolist()
