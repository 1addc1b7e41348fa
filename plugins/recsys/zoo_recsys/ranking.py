"""Learning to rank (recsys/web-search): query folds, batches of queries, NDCG@k and the listwise task.

Data: one item is one query, ({"features": (L, F), "mask": (L,)}, relevance (L,)); a batch pads queries to the
longest (mask False, relevance -1 in padded slots). Folds: the queries are dealt into `folds` (5) folds by a fixed
permutation (seed 0, whatever the run's seed), so every model sees the same folds; with `data.fold=k`, fold k is
the test split, fold k+1 (mod 5) the valid split and the other three train. A folder holding train.txt, vali.txt and
test.txt (MSLR's FoldN layout) is used as it is split.

NDCG@k: gains 2^rel - 1, discounts 1/log2(1 + position), DCG over the top k divided by the ideal DCG. Tied scores
share the mean of their positions' discounts (so the order of a file cannot break ties for a model), as scikit-learn's
ndcg_score does. A query without a relevant document has no NDCG: it is left out of the mean and counted.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from torchmetrics import Metric

from zoo import ZooError
from zoo.data import DataBundle
from zoo.tasks import Task

from .letor import Letor, load_mslr, read_letor
from .ranker import LOSSES, NEG, feature_stats

CUTOFFS = (10, 5)
SPLIT_FILES = ("train.txt", "vali.txt", "test.txt")


class Queries(Dataset):
    """One item per query: ({"features", "mask"}, relevance)."""

    def __init__(self, data: Letor):
        self.data = data
        self.rows = list(data.groups().values())

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        rows = self.rows[i]
        features = torch.from_numpy(self.data.features[rows])
        return {"features": features, "mask": torch.ones(len(rows), dtype=torch.bool)}, \
            torch.from_numpy(self.data.labels[rows])


def pad_queries(items: list[dict[str, Any]]) -> dict[str, Any]:
    """{"features" (L, F), "mask" (L,)} per query -> padded (B, Lmax, F), (B, Lmax); other keys become lists."""
    width = max(int(x["features"].shape[0]) for x in items)
    features = torch.zeros(len(items), width, items[0]["features"].shape[1])
    mask = torch.zeros(len(items), width, dtype=torch.bool)
    for k, x in enumerate(items):
        n = x["features"].shape[0]
        features[k, :n], mask[k, :n] = x["features"], x["mask"]
    out: dict[str, Any] = {"features": features, "mask": mask}
    for key in items[0]:
        if key not in out:
            out[key] = [x[key] for x in items]
    return out


def collate_queries(batch: list[tuple[dict, torch.Tensor]]):
    xs, ys = zip(*batch)
    x = pad_queries(list(xs))
    labels = torch.full(x["mask"].shape, -1.0)
    for k, y in enumerate(ys):
        labels[k, :len(y)] = y
    return x, labels


def query_folds(queries: list[str], folds: int = 5, seed: int = 0) -> dict[str, int]:
    """Each query's fold: a fixed permutation of the queries dealt round-robin."""
    order = np.random.default_rng(seed).permutation(len(queries))
    return {queries[i]: k % folds for k, i in enumerate(order)}


def split_by_fold(data: Letor, fold: int, folds: int = 5) -> tuple[Letor, Letor, Letor]:
    """(train, valid, test): fold `fold` tests, the next one validates, the rest trains."""
    which = query_folds(data.queries, folds)
    part = np.array([which[q] for q in data.qids])
    valid_fold = (fold + 1) % folds
    train = np.flatnonzero((part != fold) & (part != valid_fold))
    return data.take(train), data.take(np.flatnonzero(part == valid_fold)), data.take(np.flatnonzero(part == fold))


def load_splits(data: str | None, fold: int, folds: int) -> tuple[Letor, Letor, Letor, str]:
    if not 0 <= fold < folds or folds < 3:
        raise ZooError(f"--set data.fold={fold}: expected 0..{folds - 1} (with data.folds={folds} >= 3)")
    if data is None:
        return *split_by_fold(load_mslr(), fold, folds), f"MSLR-WEB10K slice, fold {fold} of {folds}"
    root = Path(data)
    if root.is_dir():
        if all((root / f).is_file() for f in SPLIT_FILES):
            train = read_letor(root / "train.txt")
            width = train.features.shape[1]
            return train, read_letor(root / "vali.txt", width), read_letor(root / "test.txt", width), \
                f"{root}: train.txt / vali.txt / test.txt as given"
        files = sorted(p for p in root.iterdir() if p.suffix in (".txt", ".svmlight", ".letor") and p.is_file())
        if len(files) != 1:
            raise ZooError(f"{root}: expected train.txt, vali.txt and test.txt (MSLR's FoldN layout) or one "
                           f".txt/.svmlight file to deal into folds; found {[p.name for p in files][:5]}")
        root = files[0]
    return *split_by_fold(read_letor(root), fold, folds), f"{root}, fold {fold} of {folds}"


def web_search(data: str | None = None, seed: int = 0, fold: int = 0, folds: int = 5, loss: str = "lambdaloss",
               max_label: float = 4.0) -> DataBundle:
    """MSLR-WEB10K's rankeval slice (or your LETOR / SVMlight file) as query folds for listwise training.

    loss (listnet | lambdaloss) is the task's: zoo's tasks read their settings from the data's info.
    """
    if loss not in LOSSES:
        raise ZooError(f"--set data.loss={loss}: expected one of {', '.join(LOSSES)}")
    train, valid, test, described = load_splits(data, fold, folds)
    for split, part in (("train", train), ("valid", valid), ("test", test)):
        if len(part) == 0:
            raise ZooError(f"{described}: the {split} split has no queries ({len(set(train.qids + valid.qids + test.qids))} "
                           f"queries in all; at least {folds} are needed)")
        top = float(part.labels.max())
        if top > max_label:
            raise ZooError(f"{part.source}: relevance {top:g} above data.max_label={max_label:g} (MSLR grades 0-4; "
                           "set data.max_label for another scale)")
    mean, std = feature_stats(torch.from_numpy(train.features))
    bundle = DataBundle(
        train=Queries(train), valid=Queries(valid), test=Queries(test), collate=collate_queries,
        model_args={"num_features": int(train.features.shape[1])},
        info={"dataset": "recsys/web-search", "split": described, "loss": loss, "max_label": max_label,
              "num_features": int(train.features.shape[1]),
              "queries": {k: len(v.queries) for k, v in (("train", train), ("valid", valid), ("test", test))},
              "documents": {k: len(v) for k, v in (("train", train), ("valid", valid), ("test", test))}})
    bundle.attachments = {"mean": mean, "std": std}  # type: ignore[attr-defined]  # recipes.build hands them over
    return bundle


# -- NDCG ----------------------------------------------------------------------------------------------------
def ndcg(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """NDCG@k of one query, tie-averaged; nan when no document is relevant."""
    gains = np.power(2.0, labels) - 1
    if gains.max(initial=0) <= 0:
        return math.nan
    discount = np.zeros(len(gains))
    discount[:k] = 1 / np.log2(np.arange(2, min(k, len(gains)) + 2))
    ideal = (np.sort(gains)[::-1] * discount).sum()
    order = np.argsort(-scores, kind="stable")
    s, g = scores[order], gains[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], len(s)]
    dcg = sum(g[a:b].sum() * discount[a:b].mean() for a, b in zip(starts, ends))
    return float(dcg / ideal)


def query_ndcgs(scores: torch.Tensor, labels: torch.Tensor, k: int) -> list[float]:
    """NDCG@k of each query of a padded batch (labels -1 in padded slots)."""
    out = []
    for s, y in zip(scores.detach().float().cpu().numpy(), labels.cpu().numpy()):
        real = y >= 0
        out.append(ndcg(s[real], y[real], k))
    return out


class MeanNDCG(Metric):
    """NDCG@10 and NDCG@5 averaged over the queries that have a relevant document."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, cutoffs: Iterable[int] = CUTOFFS, **kwargs: Any):
        super().__init__(**kwargs)
        self.cutoffs = tuple(cutoffs)
        for k in self.cutoffs:
            self.add_state(f"sum{k}", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("queries", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, scores: torch.Tensor, labels: torch.Tensor) -> None:
        for k in self.cutoffs:
            values = [v for v in query_ndcgs(scores, labels, k) if not math.isnan(v)]
            setattr(self, f"sum{k}", getattr(self, f"sum{k}") + sum(values))
            if k == self.cutoffs[0]:
                self.queries += len(values)

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.queries.clamp_min(1)
        return {f"ndcg@{k}": getattr(self, f"sum{k}") / n for k in self.cutoffs}


# -- the task --------------------------------------------------------------------------------------------------
class ListwiseTask(Task):
    """Ranks each query's documents: a listwise loss (info['loss']) over each query; NDCG@10 and NDCG@5."""

    name = "listwise-ranking"
    monitor = "ndcg@10"

    def forward(self, model, x: Any) -> Any:
        scores = model(features=x["features"], mask=x["mask"])
        if "docs" in x:  # `zoo predict`: keep what names the documents with their scores
            return {"scores": scores, "mask": x["mask"], "query": x["query"], "docs": x["docs"]}
        return scores

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return LOSSES[self.info.get("loss", "lambdaloss")](output.float(), target.float())

    def metrics(self):
        return MeanNDCG()

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(output, target)

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not (isinstance(x, dict) and {"features", "mask"} <= set(x)):
            raise ZooError(f"{dataset}: a ranking dataset must yield ({{'features', 'mask'}}, relevance) per query")

    # -- prediction: one record per query of a LETOR / SVMlight file -------------------------------------------
    def records(self, item: Any, read: Callable[[Any], Any]) -> Iterable[tuple[str, Any]]:
        queries = read(item)
        return [(f"{item} qid:{q['query']}", q) for q in queries["queries"]]

    def collate(self, items: list[Any]) -> Any:
        return pad_queries(items)

    def predict(self, output: Any) -> list[dict[str, Any]]:
        if not isinstance(output, dict):
            raise ZooError("ranking needs a LETOR / SVMlight file as input: `zoo predict RUN queries.txt`")
        out = []
        for scores, mask, query, docs in zip(output["scores"].float().cpu(), output["mask"].cpu(), output["query"],
                                             output["docs"]):
            s = scores[mask].numpy()
            order = np.argsort(-s, kind="stable")
            out.append({"query": query, "documents": len(docs),
                        "ranking": " ".join(f"{docs[i]}:{s[i]:.3f}" for i in order)})
        return out


def read_queries(text: str, info: dict[str, Any]) -> dict[str, Any]:
    """`zoo predict RUN file.txt`: the file's queries, each {"features" (L, F), "mask", "query", "docs"}; relevance
    labels in the file are read and ignored (use any number, e.g. 0, for documents to rank)."""
    if not Path(text).is_file():
        raise ZooError(f"{text}: no such file (expected a LETOR / SVMlight file: 'rel qid:Q 1:v 2:v ... # docid')")
    data = read_letor(text, int(info["num_features"]))
    queries = []
    for q, rows in data.groups().items():
        queries.append({"features": torch.from_numpy(data.features[rows]),
                        "mask": torch.ones(len(rows), dtype=torch.bool), "query": q,
                        "docs": [data.docs[r] for r in rows]})
    return {"queries": queries}


def predict_file(model, task: ListwiseTask, path: str, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The prediction path without the CLI (reader -> records -> collate -> forward -> predict), for tests and
    for cores without zoo.predictor."""
    items = [record for _, record in task.records(path, lambda item: read_queries(item, info))]
    model.eval()
    with torch.no_grad():
        return task.predict(task.forward(model, task.collate(items)))


__all__ = ["NEG", "ListwiseTask", "MeanNDCG", "Queries", "collate_queries", "ndcg", "query_folds", "read_queries",
           "split_by_fold", "web_search"]
