"""Tasks: rating prediction (RMSE, MAE) and top-N ranking (HR@10, NDCG@10 against 99 sampled negatives, recall@20).

Both recommend the same way in `zoo predict`: the reader yields a user's index (-1 for a user the
run never saw); forward scores the whole catalogue, hides the user's known items, and falls back
on the most popular items for an unknown user.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torchmetrics import MeanAbsoluteError, MeanSquaredError, Metric, MetricCollection

from zoo import ZooError
from zoo.tasks import Task

from .data import HELD_OUT, SAMPLED_NEGATIVE, UNSEEN

TOP = 10  # items shown by `zoo predict`


class RecommendTask(Task):
    unit = "score"
    predict_options = ("users",)

    def forward(self, model, x: Any) -> Any:
        if isinstance(x, torch.Tensor):  # `zoo predict`: a batch of user indices
            return self.recommend(model, x.view(-1).long())
        return super().forward(model, x)

    @torch.no_grad()
    def recommend(self, model, users: torch.Tensor) -> dict[str, torch.Tensor]:
        known = users >= 0
        scores = self.scores(model(users.clamp_min(0))).float()
        scores = scores.masked_fill(model.known_mask(users), -math.inf)
        popular = torch.full((scores.shape[1],), -math.inf, device=scores.device)
        for item, count in self.info["popular"]:
            popular[item] = float(count)
        scores[~known] = popular
        return {"users": users, "scores": scores}

    def arguments(self, inputs: list[Any]) -> list[Any]:
        """`zoo predict RUN user=196` or `--user 196` (the option recsys adds: plugin.zoo_predict_options)."""
        return list(inputs) + [f"user={u}" for u in self.options.get("users") or ()]

    def predict(self, output: Any) -> list[dict[str, Any]]:
        if not isinstance(output, dict):
            raise ZooError("recommendations need a user id as input, e.g. `zoo predict RUN user=196`")
        titles, user_ids = self.info["titles"], self.info["user_ids"]
        top = output["scores"].topk(min(TOP, output["scores"].shape[1]), dim=1)
        out = []
        for user, values, items in zip(output["users"].tolist(), top.values.tolist(), top.indices.tolist()):
            if user < 0:
                row: dict[str, Any] = {"user": "unknown",
                                       "note": "this user is not in the run's training data: the most popular items instead"}
                label = "{title} [{score:.0f} interactions]"
            else:
                row = {"user": user_ids[user], "note": f"top {TOP} items the user has not interacted with"}
                label = "{title} [" + self.unit + " {score:.3f}]"
            for rank, (score, item) in enumerate(zip(values, items), 1):
                if math.isfinite(score):
                    row[str(rank)] = label.format(title=titles[item], score=score)
            out.append(row)
        return out


class RatingTask(RecommendTask):
    """Explicit ratings: mean squared error; RMSE and MAE of predictions clipped to the rating scale."""

    name = "rating"
    monitor = "rmse"
    unit = "predicted rating"

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output.float(), target.float())

    def scores(self, output: torch.Tensor) -> torch.Tensor:
        scale = self.info.get("scale")
        return output.float().clamp(*scale) if scale else output.float()

    def metrics(self):
        return MetricCollection({"rmse": MeanSquaredError(squared=False), "mae": MeanAbsoluteError()})

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(self.scores(output), target.float())

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not (isinstance(x, dict) and {"users", "items"} <= set(x)):
            raise ZooError(f"{dataset}: a rating dataset must yield ({{'users', 'items'}}, rating)")
        if not (isinstance(y, torch.Tensor) and y.is_floating_point()):
            raise ZooError(f"{dataset}: ratings must be floating-point tensors")


class LeaveOneOut(Metric):
    """Leave-one-out ranking of each user's held-out item.

    hr@10 and ndcg@10 rank it against the user's sampled negatives (NCF's protocol); recall@20 ranks it
    against every item the user has not interacted with (full ranking; with one held-out item recall
    equals the hit rate). Ties count against the held-out item.
    """

    full_state_update = False
    higher_is_better = True  # every figure it gives: hit rate, NDCG, recall

    def __init__(self, k: int = 10, full_k: int = 20, **kwargs: Any):
        super().__init__(**kwargs)
        self.k, self.full_k = k, full_k
        for name in ("hits", "ndcg", "recall", "users"):
            self.add_state(name, default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, scores: torch.Tensor, codes: torch.Tensor) -> None:
        scores = scores.float()
        held_out = codes == HELD_OUT
        rows = held_out.any(1)
        scores, codes, held_out = scores[rows], codes[rows], held_out[rows]
        positive = scores.masked_fill(~held_out, -math.inf).max(1, keepdim=True).values
        beaten = (scores >= positive) & ~held_out
        rank = (beaten & (codes == SAMPLED_NEGATIVE)).sum(1)
        full_rank = (beaten & ((codes == SAMPLED_NEGATIVE) | (codes == UNSEEN))).sum(1)
        hit = rank < self.k
        self.hits += hit.sum()
        self.ndcg += (hit / torch.log2(rank.double() + 2)).sum()
        self.recall += (full_rank < self.full_k).sum()
        self.users += rows.sum()

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.users.clamp_min(1)
        return {f"hr@{self.k}": self.hits / n, f"ndcg@{self.k}": self.ndcg / n,
                f"recall@{self.full_k}": self.recall / n}


class RankingTask(RecommendTask):
    """Implicit feedback: binary cross-entropy of positives against sampled negatives (NCF's pointwise loss)."""

    name = "ranking"
    monitor = "ndcg@10"
    unit = "score"

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # training targets are 1/0; evaluation codes also mark items that are not ranked (< 0)
        ranked = target >= 0
        return F.binary_cross_entropy_with_logits(output.float()[ranked], (target[ranked] == 1).float())

    def metrics(self):
        return LeaveOneOut()

    def update_metrics(self, metrics, output, target) -> None:
        metrics.update(output, target)

    def check_batch(self, x: Any, y: Any, dataset: str) -> None:
        if not (isinstance(x, dict) and "users" in x):
            raise ZooError(f"{dataset}: a ranking dataset must yield ({{'users', 'items'}}, targets)")
