"""Atari Pong: the core's classification on the scripted player's action, judged by playing whole games."""
from __future__ import annotations

from typing import Any

from zoo import ZooError
from zoo.imitation import SEED_BASE, episode_seeds
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
        seeds = episode_seeds(split if split in SEED_BASE else "test", budget)
        games = atari.play(network_policy(model, device), seeds, steps)
        return {"return": float(games.returns.mean()), "won": float(games.won.mean()), "lost": float(games.lost.mean())}

    # Kept on purpose, the one override of Task.predict_inputs in zoo-games: Pong prediction reads no input. The
    # network plays whole games in the emulator from seeds (seed 0 when none is given), one forward pass a step
    # over thousands of steps, and films them only when --out asks for GIFs; the Predictor's read, collate,
    # forward path has nothing to read and no batch to make. The model still comes from the run's Predictor.
    def predict_inputs(self, run, inputs, out_dir, options) -> list[dict[str, Any]]:
        """`zoo predict RUN [SEED...] --out DIR`: the network plays one whole game per seed (0 when none is given)
        and prints its score; with --out, each game is written as DIR/pong-SEED.gif (every other frame). A seed
        that is not one is named and the others are played."""
        from zoo.predictor import checked_out

        options = {k: v for k, v in options.items() if k not in ("batch_size", "progress")}
        refuse_options(options, run.recipe.name)  # --tta and the options of other plugins
        out_dir = checked_out(out_dir)
        predictor = run.predictor()
        policy = network_policy(predictor.model, predictor.device)
        rows: list[dict[str, Any]] = []
        for text in [str(t) for t in inputs] or ["0"]:
            if not text.strip().isdigit():
                rows.append({"input": text, "error": f"{run.recipe.name} takes game seeds (whole numbers from 0)"})
                continue
            seed = int(text)
            games = atari.play(policy, [SEED_BASE["test"] + seed], atari.MAX_STEPS, film=out_dir is not None)
            row = {"input": text, "return": int(games.returns[0]), "won": int(games.won[0]),
                   "lost": int(games.lost[0]), "steps": int(games.steps[0])}
            if out_dir is not None:
                row["files"] = [str(atari.write_gif(games.shown, out_dir / f"pong-{seed}.gif"))]
            rows.append(row)
        bad = [r for r in rows if "error" in r]
        if len(bad) == len(rows):
            raise ZooError(f"{bad[0]['input']}: {bad[0]['error']}")
        return rows
