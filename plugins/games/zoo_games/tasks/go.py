"""9x9 Go distilled from GNU Go: move agreement on held-out games and games against GNU Go."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..go_play import GoPlay, play_gnugo, replay
from .policy import PolicyValueTask


class GoTask(PolicyValueTask):
    """`policy_accuracy` is move agreement with GNU Go on held-out games; on the test split also
    `gnugo<L>_win_rate`, the network's wins over `eval_budget` games against GNU Go at each level of
    `data.gnugo_levels` (MCTS with `data.play_simulations` visits a move)."""

    monitor = "policy_accuracy"

    def evaluate_model(self, model, dataset, split, budget, device) -> dict[str, float]:
        if split != "test":
            return {}
        from zoo import DataMissing

        from ..chess_data import warn

        quick = int(self.config.eval_limit)  # zoo's quick checks: one short game
        out = {}
        levels = self.info.get("gnugo_levels", [])
        try:
            for level in levels[:1] if quick else levels:
                scores = play_gnugo(model, 1 if quick else budget, int(level),
                                    2 if quick else int(self.info.get("play_simulations", 64)), device,
                                    max_moves=12 if quick else 162, history=int(self.info.get("history", 0)))
                out[f"gnugo{level}_win_rate"] = float(np.mean([s == 1.0 for s in scores]))
        except DataMissing as exc:
            warn(f"games against GNU Go not played: {exc}")
        return out

    # -- zoo predict RUN "E5 C3 ...": the moves played from the empty board (GTP vertices) ------------------
    def prediction_game(self):
        if getattr(self, "_game", None) is None:
            # the player's moves: filling its own one-point eyes left out; its input planes: the run's
            self._game = GoPlay(9, history=int(self.info.get("history", 0)))
        return self._game

    def parse(self, text: str):
        return replay(self.prediction_game(), text)

    def predict(self, output) -> list[dict[str, Any]]:
        """The network's likeliest moves and its value for the side to move."""
        game, rows = self.prediction_game(), []
        for _, probs, values in self.per_input(output):
            moves, policy = self.top_moves(probs[0], 5)
            rows.append({"move": game.action_name(moves[0]), "policy": policy, "value": round(float(values[0]), 4)})
        return rows
