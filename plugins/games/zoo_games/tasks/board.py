"""Tic-tac-toe and Connect Four: AlphaZero self-play, evaluated every round by win rate against fixed opponents."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from zoo import ZooError
from zoo.training.callbacks import Callback

from ..catalog import get_game
from ..games import Game
from .policy import PolicyValueTask


def cpu_seconds() -> float:
    import time
    return time.process_time()


class BoardGameTask(PolicyValueTask):
    """Self-play board games. Every round the network (MCTS with `info['eval_simulations']` visits per move, no
    noise, proving wins and losses it reaches) plays `eval_budget` games as first and as second player against each opponent of `info['opponents']`:
    `random`, `perfect` (tic-tac-toe), `abN` (alpha-beta to depth N, Connect Four), each game from one of
    `eval_budget` openings of `info['eval_openings']` random plies (the split's own). Figures: `<opponent>_first`
    and `<opponent>_second` (win rates), `win_rate` (their mean); for Connect Four from openings, the same judged
    against each opening's solved value (`<opponent>_<side>_solved`, `solved_win_rate`: see `judged_by_solver`);
    for tic-tac-toe `perfect_losses`, the
    lines lost against a perfect player trying every optimal reply, and on the test split `any_losses`, against
    every reply (both exhaustive, as X and as O)."""

    monitor = "win_rate"

    @property
    def game(self) -> Game:
        return get_game(self.info["game"])

    def opponents(self) -> list:
        from ..players import AlphaBeta, PerfectTicTacToe, RandomPlayer

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
        from ..players import MCTSPlayer

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
        from ..players import play_games

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
        out.update(self.judged_by_solver(openings, results, labels))
        if game.name == "tictactoe":  # solved: count the lines lost against perfect play, and against any play
            from ..players import lines_against, ttt_optimal
            legal = lambda s: [int(a) for a in np.flatnonzero(game.legal(s))]  # noqa: E731
            out["perfect_losses"] = float(sum(lines_against(game, net, ttt_optimal, first)[2] for first in (True, False)))
            if split == "test":  # every reply: a bigger tree, scored once at the end
                out["any_losses"] = float(sum(lines_against(game, net, legal, first)[2] for first in (True, False)))
        out["eval_cpu_seconds"] = cpu_seconds() - started
        return out

    def judged_by_solver(self, openings: list, results: list[float], labels: list[str]) -> dict[str, float]:
        """Connect Four from openings of 1 to 8 plies, judged against each opening's solved value
        (zoo_games.connect4_solver: exact search to the 8th ply and the 8-ply database): `<opponent>_<side>_solved`
        is the share of games the network won or that began from an opening lost for its side with perfect play
        (a loss there is no failure); `solved_win_rate` their mean; `openings_won_first` and `openings_drawn` the
        shares of the openings won for the player to move at the start, and drawn."""
        plies = int(self.info.get("eval_openings", 0))
        if self.game.name != "connect4" or not 0 < plies <= 8:
            return {}
        from ..connect4_solver import opening_values

        values = opening_values(openings)  # for the player to move at the start: the game's `first`
        count = len(openings)
        out: dict[str, float] = {}
        for label in dict.fromkeys(labels):
            first = label.endswith("first")
            games = [r for r, lab in zip(results, labels) if lab == label]
            ok = [(r == 1.0 if first else r == 0.0) or values[k % count] == (-1 if first else 1)
                  for k, r in enumerate(games)]
            out[f"{label}_solved"] = float(np.mean(ok))
        out["solved_win_rate"] = float(np.mean(list(out.values())))
        out["openings_won_first"] = float(np.mean([v == 1 for v in values]))
        out["openings_drawn"] = float(np.mean([v == 0 for v in values]))
        return out

    def direction(self, metric: str, source: Any = None) -> str:
        if metric in ("openings_won_first", "openings_drawn"):
            return "max"  # a property of the openings drawn, not of the network
        if metric == "eval_cpu_seconds":
            return "min"
        return super().direction(metric, source)

    # -- zoo predict RUN POSITION...: tic-tac-toe as 9 cells ('x...o....'), Connect Four as the columns played ('4453')
    def prediction_game(self) -> Game:
        return self.game

    def parse(self, text: str):
        return self.game.parse(text)

    def predict(self, output) -> list[dict[str, Any]]:
        """The policy's top moves and the value for the player to move; `move` (the move after MCTS) is added by
        `annotate`, which has the network."""
        rows = []
        for _, probs, values in self.per_input(output):
            rows.append({"move": None, "policy": self.top_moves(probs[0], 3)[1], "value": round(float(values[0]), 4)})
        return rows

    def annotate(self, predictor, items, predictions) -> None:
        """The network's move after MCTS, as the evaluation plays (`info['eval_simulations']` visits, proved wins
        and losses)."""
        player = self.player(predictor.model, predictor.device)
        for prediction, move in zip(predictions, player.choose(items)):
            prediction["move"] = self.game.action_name(int(move))

    def write_output(self, output, prediction, stem: Path) -> list[Path]:
        """The row as JSON with the board drawn."""
        path = stem.parent / f"{stem.name}.json"
        board = self.game.render(self.game.parse(prediction["input"]))
        path.write_text(json.dumps({**prediction, "board": board}, indent=2) + "\n")
        return [path]


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
