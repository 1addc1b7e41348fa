"""Minimum Bayes risk (MBR) selection: of several candidate outputs, keep the one that agrees most with
the others by ROUGE-L (Kumar & Byrne 2004). The candidates are the beams and the retrieved impressions:
a consensus is a safer bet than the single most likely beam or the single nearest report.

Written by hand: ROUGE-L between two short texts is a longest-common-subsequence table of a few
hundred cells. torchmetrics' ROUGEScore (reset, update, compute) took 0.37 ms per pair of impressions
against 0.03 ms for this, measured on this CPU; MBR scores 42 pairs (7 candidates) per example, about
14,000 per validation pass: 5 s a pass with torchmetrics, 0.5 s with this.
"""
from __future__ import annotations

import re
from collections.abc import Sequence


def words(text: str) -> list[str]:
    """Lower-cased alphanumeric words, the tokens ROUGE compares."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def rouge_l(a: Sequence[str], b: Sequence[str]) -> float:
    """ROUGE-L F-measure of two word sequences (longest common subsequence, one table row at a time)."""
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    common = previous[-1]
    return 2.0 * common / (len(a) + len(b))  # 2PR/(P+R) with P = common/|a|, R = common/|b|


def consensus(candidates: Sequence[str]) -> int:
    """Index of the candidate with the highest total ROUGE-L against the others (the first among equals)."""
    tokens = [words(c) for c in candidates]
    totals = [sum(rouge_l(t, u) for j, u in enumerate(tokens) if j != i) for i, t in enumerate(tokens)]
    return max(range(len(candidates)), key=totals.__getitem__)
