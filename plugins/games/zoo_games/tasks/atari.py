"""Atari Pong: the core's classification on the scripted player's action, judged by playing whole games."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo import ZooError
from zoo.tasks.base import refuse_options
from zoo.tasks.classification import ClassificationTask

from .. import atari
from ..atari_players import network_policy


class PongTask(ClassificationTask):
    """The core's classification on the scripted player's action (cross-entropy; accuracy is agreement with it),
    judged by playing: `eval_budget` whole games per evaluation (each split its own fixed seeds) against Pong's
    built-in opponent, giving `return` (points won - lost, -21 to 21), `won` and `lost` (means per game)."""

    name = "atari"
    monitor = "return"
    directions = {**ClassificationTask.directions, "return": "max", "won": "max", "lost": "min"}

    def evaluate_model(self, model, dataset, split, budget, device) -> dict[str, float]:
        steps = atari.MAX_STEPS
        if self.config.eval_limit:  # zoo's quick checks: short games
            budget, steps = min(budget, int(self.config.eval_limit)), 50
        seeds = atari.game_seeds(split if split in atari.SEED_BASE else "test", budget)
        games = atari.play(network_policy(model, device), seeds, steps)
        return {"return": float(games.returns.mean()), "won": float(games.won.mean()), "lost": float(games.lost.mean())}

    def predict_inputs(self, run, inputs, out_dir, options) -> list[dict[str, Any]]:
        """`zoo predict RUN [SEED...] --out DIR`: the network plays one whole game per seed (0 when none is given)
        and prints its score; with --out, each game is written as DIR/pong-SEED.gif (every other frame)."""
        refuse_options(options, run.recipe.name)
        try:
            seeds = [int(text) for text in inputs] or [0]
        except ValueError:
            raise ZooError(f"zoo predict: {run.recipe.name} takes game seeds (whole numbers), got {list(inputs)}") \
                from None
        model = run.module
        rows = []
        for seed in seeds:
            games = atari.play(network_policy(model, next(model.parameters()).device), [atari.SEED_BASE["test"] + seed],
                               atari.MAX_STEPS, film=out_dir is not None)
            row = {"input": str(seed), "return": int(games.returns[0]), "won": int(games.won[0]),
                   "lost": int(games.lost[0]), "steps": int(games.steps[0])}
            if out_dir is not None:
                row["files"] = [str(atari.write_gif(games.shown, Path(out_dir) / f"pong-{seed}.gif"))]
            rows.append(row)
        return rows
