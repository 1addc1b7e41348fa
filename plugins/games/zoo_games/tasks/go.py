"""9x9 Go distilled from GNU Go: move agreement on held-out games and games against GNU Go."""
from __future__ import annotations

from typing import Any

import numpy as np

from zoo import ZooError

from ..go_play import NetworkGoPlayer, play_gnugo, replay
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
                                    max_moves=12 if quick else 162)
                out[f"gnugo{level}_win_rate"] = float(np.mean([s == 1.0 for s in scores]))
        except DataMissing as exc:
            warn(f"games against GNU Go not played: {exc}")
        return out

    def predict_inputs(self, run, inputs, out_dir, options) -> list[dict[str, Any]]:
        """`zoo predict RUN "E5 C3 ..."`: the moves played from the empty board (GTP vertices); the network's
        likeliest moves and its value for the side to move."""
        from zoo.tasks.base import refuse_options

        refuse_options(options, run.recipe.name)
        if not inputs:
            raise ZooError("zoo predict: give the moves played so far, e.g. \"E5 C3\" (an empty string: the empty board)")
        model = run.module
        device = next(model.parameters()).device
        player = NetworkGoPlayer(model, 0, device)
        rows = []
        for text in inputs:
            state = replay(player.game, str(text))
            probs, value = player.evaluate([state])[0]
            top = np.argsort(-probs)[:5]
            rows.append({"input": str(text), "move": player.game.action_name(int(top[0])),
                         "policy": ",".join(f"{player.game.action_name(int(a))}:{probs[a]:.3f}" for a in top),
                         "value": round(float(value), 4)})
        return rows
