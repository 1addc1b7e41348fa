"""The policy-value task every board game trains with: a policy head and a value head on one network (zoo's
MultiTask); the policy is trained by cross-entropy against a visit distribution (self-play) or a move index (an
engine's best move), the value by squared error.

Prediction (zoo.predictor) goes through the task's hooks: `records` makes positions of an argument (a board as
text, a FEN, a PGN's games), `collate` their planes and legal moves, `forward` the network's move probabilities
and values for every position, `predict` one readable row per argument."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from zoo import ZooError
from zoo.tasks.classification import ClassificationTask
from zoo.tasks.multi import MultiTask

CHUNK = 512  # positions the network sees at once when predicting (a PGN's games can hold thousands)


class PolicyHead(ClassificationTask):
    """Move logits against a move (integer) or a distribution over moves; scored by the share of positions whose
    most likely move is the target's (move agreement) and whose target is among the top 3."""

    def metrics(self):
        n = self.num_classes
        found = {"accuracy": MulticlassAccuracy(num_classes=n, average="micro")}
        if n > 3:
            found["top3"] = MulticlassAccuracy(num_classes=n, average="micro", top_k=3)
        return MetricCollection(found)

    def update_metrics(self, metrics, output, target) -> None:
        if target.dim() == 2:  # a distribution (self-play): its most visited move is the label
            target = target.argmax(-1)
        metrics.update(self.scores(output), target)

    def check_batch(self, x, y, dataset):
        if isinstance(y, torch.Tensor) and y.dim() == 2 and y.is_floating_point():
            return  # visit distributions
        super().check_batch(x, y, dataset)


def direction_of(metric: str) -> str | None:
    """Directions of the figures games report, by name: win rates and scores up, losses down."""
    if metric.endswith(("losses", "loss_rate")):
        return "min"
    if metric.endswith(("win_rate", "_first", "_second", "score", "solved", "agreement", "return")):
        return "max"
    return None


class PolicyValueTask(MultiTask):
    heads = {"policy": ("zoo_games.tasks.policy:PolicyHead", 1.0), "value": ("regression", 1.0)}
    monitor = "policy_accuracy"

    def direction(self, metric: str, source: Any = None) -> str:
        return direction_of(metric) or super().direction(metric, source)

    # -- prediction ------------------------------------------------------------------------------------
    def prediction_game(self):
        """The game whose rules make the network's input planes and legal moves when predicting."""
        raise NotImplementedError

    def parse(self, text: str) -> Any:
        """One position from a `zoo predict` argument (raising ValueError or ZooError when it is not one)."""
        raise NotImplementedError

    def positions(self, item: Any) -> list:
        """The positions one prediction input holds (one; a PGN's games many)."""
        return [item]

    def records(self, item: Any, read: Callable[[Any], Any]) -> Iterable[tuple[str, Any]]:
        name = str(item)
        try:
            state = self.parse(name)
        except ValueError as exc:
            raise ZooError(str(exc)) from None
        if self.prediction_game().result(state) is not None:
            raise ZooError("the game is over")
        return [(name, state)]

    def collate(self, items: list[Any]) -> dict[str, Any]:
        """The planes and legal moves of every position of the inputs, and the inputs themselves (`Inputs`, which
        zoo moves to the device and indexes as it is)."""
        game = self.prediction_game()
        states = [s for item in items for s in self.positions(item)]
        return {"planes": torch.from_numpy(np.stack([game.encode(s) for s in states])),
                "legal": torch.from_numpy(np.stack([game.legal(s) for s in states])),
                "inputs": Inputs(items, [len(self.positions(item)) for item in items])}

    def forward(self, model, x):
        if not (isinstance(x, dict) and "inputs" in x):
            return super().forward(model, x)  # training and evaluation
        planes, legal = x["planes"], x["legal"]
        parts = [model(planes=planes[i:i + CHUNK], legal=legal[i:i + CHUNK]) for i in range(0, len(planes), CHUNK)]
        probs = torch.cat([p["policy"] for p in parts]).float().masked_fill(~legal.bool(), -1e9).softmax(-1)
        return {"policy": probs, "value": torch.cat([p["value"] for p in parts]).float().reshape(-1),
                "inputs": x["inputs"]}

    def per_input(self, output: dict[str, Any]) -> list[tuple[Any, np.ndarray, np.ndarray]]:
        """For each input of a batch: (the input, its positions' move probabilities, their values for the side
        to move)."""
        inputs: Inputs = output["inputs"]
        probs, values = output["policy"].cpu().numpy(), output["value"].cpu().numpy()
        out, start = [], 0
        for item, size in zip(inputs.items, inputs.sizes):
            out.append((item, probs[start:start + size], values[start:start + size]))
            start += size
        return out

    def top_moves(self, probs: np.ndarray, top: int) -> tuple[list[int], str]:
        """The `top` likeliest moves (those with any probability) and their text, 'E5:0.412,C3:0.101'."""
        game = self.prediction_game()
        moves = [int(a) for a in np.argsort(-probs)[:top] if probs[a] > 0]
        return moves, ",".join(f"{game.action_name(a)}:{probs[a]:.3f}" for a in moves)


class Inputs:
    """The inputs of a prediction batch and how many positions each holds, carried beside its tensors: zoo moves
    tensors to the device and indexes outputs, and leaves an object like this one as it is."""

    def __init__(self, items: list[Any], sizes: list[int]):
        self.items, self.sizes = items, sizes
