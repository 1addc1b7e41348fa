"""microRTS: a grid of per-cell action choices learnt from a bot's actions (cross-entropy on each action component
that applies, invalid choices masked), judged by playing whole games against the built-in bots from both sides.

Prediction goes through the Predictor's hooks: an argument (or `--map`) names a map, read as its first state;
`predict` says what the network would order there; `annotate` plays `--games` games against each `--opponent`
(alternating sides) and adds wins, draws and losses; `write_output` writes the first game as a GIF and a strip of
PNG frames under --out."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchmetrics import Metric

from zoo import ZooError
from zoo.tasks.base import Task

from .. import microrts_env as env
from ..microrts_data import EVAL_OPPONENTS, network_player
from ..microrts_net import MASKED, greedy, split_logits

DIRECTIONS = ("up", "right", "down", "left")


def component_losses(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sum over action components of the cross-entropy at the cells where the component applies (target >= 0
    and the target choice not masked), divided by the number of cells that act."""
    total = logits.new_zeros(())
    for k, part in enumerate(split_logits(logits.float())):
        t = target[..., k]
        keep = t >= 0
        if not keep.any():
            continue
        chosen, picked = part[keep], t[keep]
        valid = chosen.gather(1, picked[:, None])[:, 0] > MASKED / 2  # a label the masks forbid is left out
        if valid.any():
            total = total + torch.nn.functional.cross_entropy(chosen[valid], picked[valid], reduction="sum")
    return total / (target[..., 0] >= 0).sum().clamp(min=1)


class Agreement(Metric):
    """Over the cells that act: how often the greedy action type is the expert's (`type_agreement`) and how often
    the whole action is (`agreement`: the type and every component it reads)."""

    full_state_update = False

    def __init__(self):
        super().__init__()
        for name in ("types", "wholes", "cells"):
            self.add_state(name, default=torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        chosen = greedy(logits)
        acting = target[..., 0] >= 0
        same = (chosen == target) | (target < 0)
        self.types += (acting & (chosen[..., 0] == target[..., 0])).sum()
        self.wholes += (acting & same.all(-1)).sum()
        self.cells += acting.sum()

    def compute(self) -> dict[str, torch.Tensor]:
        cells = self.cells.clamp(min=1)
        return {"type_agreement": self.types / cells, "agreement": self.wholes / cells}


class MicroRTSTask(Task):
    name = "microrts"
    monitor = "win_rate"
    directions = {"type_agreement": "max", "agreement": "max", "win_rate": "max", "score": "max",
                  **{f"win_rate_{o}": "max" for o in env.OPPONENTS}}
    predict_options = ("opponent", "map", "games")

    def __init__(self, config, info):
        super().__init__(config, info)
        self._films: dict[str, list[np.ndarray]] = {}

    def loss(self, output, target):
        return component_losses(output, target)

    def metrics(self):
        return Agreement()

    def evaluate_model(self, model, dataset, split, budget, device) -> dict[str, float]:
        """`budget` games against each built-in bot (RandomBiasedAI, WorkerRush, LightRush, CoacAI), sides
        alternating, the network's greedy moves: win rate per bot, the overall `win_rate` and `score` (a draw
        half a win)."""
        steps = int(self.info.get("max_steps", 2000))
        if self.config.eval_limit:  # zoo's quick checks: short games
            budget, steps = min(budget, int(self.config.eval_limit)), 30
        foes = tuple(self.info.get("opponents", EVAL_OPPONENTS))
        opponents = [o for o in foes for _ in range(budget)]
        sides = [g % 2 for _ in foes for g in range(budget)]
        played = env.play(network_player(model, device), opponents, sides, self.info["map"], steps)
        found = {}
        for o in foes:
            mine = played.results[[i for i, name in enumerate(opponents) if name == o]]
            found[f"win_rate_{o}"] = float((mine == 1).mean())
        found["win_rate"] = float((played.results == 1).mean())
        found["score"] = float(((played.results + 1) / 2).mean())
        return found

    # -- prediction -----------------------------------------------------------------------------------------
    def arguments(self, inputs: list[Any]) -> list[Any]:
        extra = [self.options["map"]] if self.options.get("map") else []
        return list(inputs) + extra or [self.info["map"]]

    def predict(self, output) -> list[dict[str, Any]]:
        """What the network orders its idle units to do in the map's first state."""
        rows = []
        for logits in output:
            acting = logits[..., :6].max(-1).values > MASKED / 2  # cells whose choices are not all masked
            chosen = greedy(logits[None])[0]
            orders = []
            for y, x in zip(*torch.nonzero(acting, as_tuple=True)):
                a = chosen[y, x].tolist()
                kind = env.TYPE_NAMES[a[0]]
                what = kind if a[0] in (0, 5) else f"{kind} {DIRECTIONS[a[min(a[0], 4)]]}"
                orders.append(f"({int(x)},{int(y)}): {what}")
            rows.append({"orders": orders})
        return rows

    def annotate(self, predictor, items, predictions) -> None:
        games = int(self.options.get("games") or 10)
        if games < 1:
            raise ZooError(f"--games {games}: at least 1")
        foes = [o.strip() for o in (self.options.get("opponent") or ",".join(EVAL_OPPONENTS)).split(",")
                if o.strip()]
        for o in foes:
            env.make_bot(o)  # an unknown bot is one line before any game
        policy = network_player(predictor.model, predictor.device)
        steps = int(self.info.get("max_steps", 2000))
        for prediction in predictions:
            name = prediction["input"]
            opponents = [o for o in foes for _ in range(games)]
            sides = [g % 2 for _ in foes for g in range(games)]
            played = env.play(policy, opponents, sides, name, steps, film=predictor.out_dir is not None)
            results = {}
            for o in foes:
                mine = played.results[[i for i, n in enumerate(opponents) if n == o]]
                results[o] = {"won": int((mine == 1).sum()), "drawn": int((mine == 0).sum()),
                              "lost": int((mine == -1).sum())}
            prediction["games"] = results
            prediction["win_rate"] = round(float((played.results == 1).mean()), 3)
            if played.frames:
                self._films[name] = played.frames
                prediction["filmed"] = f"against {opponents[0]} as player 0: " + \
                    {1: "won", 0: "drawn", -1: "lost"}[int(played.results[0])]

    def write_output(self, output, prediction, stem: Path) -> list[Path]:
        frames = self._films.pop(prediction["input"], None)
        written = super().write_output(output, prediction, stem)
        return written + (env.write_film(frames, stem) if frames else [])
