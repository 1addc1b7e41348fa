"""Tasks: a policy head and a value head on one network (zoo's MultiTask), evaluated by playing.

- PolicyValueTask: the two heads; the policy is trained by cross-entropy against a visit distribution (self-play)
  or a move index (an engine's best move), the value by squared error.
- BoardGameTask: tic-tac-toe and Connect Four, evaluated every round by win rate against fixed opponents.
- Chess, Go and Atari tasks live in their own modules (chess_tasks, go_tasks, atari).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from zoo import ZooError
from zoo.tasks.base import refuse_options
from zoo.tasks.classification import ClassificationTask
from zoo.tasks.multi import MultiTask

from .catalog import get_game
from .games import Game


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
    heads = {"policy": ("zoo_games.tasks:PolicyHead", 1.0), "value": ("regression", 1.0)}
    monitor = "policy_accuracy"

    def direction(self, metric: str, source: Any = None) -> str:
        return direction_of(metric) or super().direction(metric, source)


def cpu_seconds() -> float:
    import time
    return time.process_time()


class BoardGameTask(PolicyValueTask):
    """Self-play board games. Every round the network (MCTS with `info['eval_simulations']` visits per move, no
    noise, proving wins and losses it reaches) plays `eval_budget` games as first and as second player against each opponent of `info['opponents']`:
    `random`, `perfect` (tic-tac-toe), `abN` (alpha-beta to depth N, Connect Four), each game from one of
    `eval_budget` openings of `info['eval_openings']` random plies (the split's own). Figures: `<opponent>_first`
    and `<opponent>_second` (win rates), `win_rate` (their mean), and for tic-tac-toe `perfect_losses`, the
    lines lost against a perfect player trying every optimal reply, and on the test split `any_losses`, against
    every reply (both exhaustive, as X and as O)."""

    monitor = "win_rate"

    @property
    def game(self) -> Game:
        return get_game(self.info["game"])

    def opponents(self) -> list:
        from .players import AlphaBeta, PerfectTicTacToe, RandomPlayer

        made = []
        for name in self.info.get("opponents", ["random"]):
            if name == "random":
                made.append(RandomPlayer(self.game))
            elif name == "perfect":
                made.append(PerfectTicTacToe())
            elif name.startswith("ab"):
                made.append(AlphaBeta(int(name[2:])))
            else:
                raise ZooError(f"unknown opponent {name!r} (random, perfect, abN)")
        return made

    def player(self, model, device, simulations: int | None = None):
        from .players import MCTSPlayer

        sims = int(self.info.get("eval_simulations", 0)) if simulations is None else simulations
        return MCTSPlayer(model, self.game, sims, device, solve=True)  # proved wins and losses, as it plays

    def openings(self, count: int, rng: np.random.Generator) -> list:
        """`count` starting positions after `info['eval_openings']` random plies (distinct while there are enough),
        each split drawing its own: a deterministic network against an opponent that only breaks ties at random
        would otherwise play nearly the same game `count` times."""
        game, plies = self.game, int(self.info.get("eval_openings", 0))
        found: dict = {}
        for _ in range(50 * count):
            if len(found) == count:
                break
            state = game.initial()
            for _ in range(plies):
                if game.result(state) is not None:
                    break
                state = game.next(state, int(rng.choice(np.flatnonzero(game.legal(state)))))
            found.setdefault(game.key(state), state)
            if plies == 0:
                break
        distinct = list(found.values())
        return [distinct[i % len(distinct)] for i in range(count)]

    def evaluate_model(self, model, dataset, split, budget, device) -> dict[str, float]:
        from .players import play_games

        started = cpu_seconds()
        if self.config.eval_limit:  # zoo's quick checks
            budget = min(budget, int(self.config.eval_limit))
        game, net = self.game, self.player(model, device)
        rng = np.random.default_rng({"valid": 1, "test": 2}.get(split, 3))
        openings = self.openings(budget, rng)
        pairs, labels, starts = [], [], []
        for opp in self.opponents():
            for side in ("first", "second"):
                for k in range(budget):
                    pairs.append((net, opp) if side == "first" else (opp, net))
                    labels.append(f"{opp.name}_{side}")
                    starts.append(openings[k])
        results = play_games(game, pairs, rng, starts)
        out: dict[str, float] = {}
        for label in dict.fromkeys(labels):
            scores = [r if lab.endswith("first") else 1 - r for r, lab in zip(results, labels) if lab == label]
            out[label] = float(np.mean([s == 1.0 for s in scores]))
        out["win_rate"] = float(np.mean(list(out.values()))) if out else 0.0
        if game.name == "tictactoe":  # solved: count the lines lost against perfect play, and against any play
            from .players import lines_against, ttt_optimal
            legal = lambda s: [int(a) for a in np.flatnonzero(game.legal(s))]  # noqa: E731
            out["perfect_losses"] = float(sum(lines_against(game, net, ttt_optimal, first)[2] for first in (True, False)))
            if split == "test":  # every reply: a bigger tree, scored once at the end
                out["any_losses"] = float(sum(lines_against(game, net, legal, first)[2] for first in (True, False)))
        out["eval_cpu_seconds"] = cpu_seconds() - started
        return out

    def direction(self, metric: str, source: Any = None) -> str:
        if metric == "eval_cpu_seconds":
            return "min"
        return super().direction(metric, source)

    # -- zoo predict ------------------------------------------------------------------------------
    def predict_inputs(self, run, inputs, out_dir, options) -> list[dict[str, Any]]:
        """`zoo predict RUN POSITION...`: tic-tac-toe as 9 cells ('x...o....'), Connect Four as the columns played
        ('4453'); the network's move after MCTS, its policy's top moves and the value for the player to move."""
        refuse_options(options, run.recipe.name)
        if not inputs:
            raise ZooError("zoo predict: give at least one position")
        game = self.game
        states = []
        for text in inputs:
            try:
                states.append(game.parse(str(text)))
            except ValueError as exc:
                raise ZooError(f"zoo predict: {exc}") from None
            if game.result(states[-1]) is not None:
                raise ZooError(f"zoo predict: {text!r}: the game is over")
        model = run.module
        device = next(model.parameters()).device
        player = self.player(model, device)
        moves = player.choose(states)
        rows = []
        for text, state, move, (probs, value) in zip(inputs, states, moves, player.evaluate(states)):
            top = np.argsort(-probs)[:3]
            row = {"input": str(text), "move": game.action_name(move),
                   "policy": ",".join(f"{game.action_name(int(a))}:{probs[a]:.3f}" for a in top if probs[a] > 0),
                   "value": round(float(value), 4)}
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                path = Path(out_dir) / f"position-{len(rows)}.json"
                path.write_text(json.dumps({**row, "board": game.render(state)}, indent=2) + "\n")
                row["files"] = [str(path)]
            rows.append(row)
        return rows


try:  # the core's trainer package was renamed from zoo.train to zoo.training
    from zoo.training.callbacks import Callback
except ImportError:  # pragma: no cover - older cores
    from zoo.train.callbacks import Callback


class CpuClock(Callback):
    """Adds `cpu_minutes` to each round's row: this process's CPU time so far spent generating and training,
    the evaluations (their own `eval_cpu_seconds`) left out. A resumed run continues from the last row's figure."""

    def __init__(self, config=None):
        self.start, self.offset, self.evaluations = 0.0, 0.0, 0.0

    def on_fit_start(self, trainer) -> None:
        self.start, self.evaluations = cpu_seconds(), 0.0
        self.offset = float(trainer.history[-1].get("cpu_minutes", 0.0)) if trainer.history else 0.0

    def on_evaluate(self, trainer, row) -> None:
        self.evaluations += float(row.get("valid_eval_cpu_seconds", 0.0))
        row["cpu_minutes"] = round(self.offset + (cpu_seconds() - self.start - self.evaluations) / 60, 3)


def cpu_clock(config) -> CpuClock:
    return CpuClock(config)
