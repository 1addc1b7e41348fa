"""zoo-games: what each recipe reaches with its defaults, evaluated by playing, in one run.

Tic-tac-toe: lines lost against a perfect player trying every optimal reply (as X and as O). Chess: move
agreement with Stockfish (depth 10) on the test split's held-out games, the held-out mate-in-2 and mate-in-3
puzzles solved by a shallow search over the network's moves, and the score over games against Stockfish at Skill
Level 0 (draws count half). Go: move agreement with GNU Go (level 1) on held-out games and wins against GNU Go
level 1. Proportions carry a 95% Wilson interval. Recipes train one after another with one torch thread (their
default). Set GAMES_BENCH_RECIPES=games/chess-stockfish,... to run some only, and GAMES_BENCH_SETS=max_steps=2,...
for a smoke test (its figures mean nothing). Connect Four's 60-CPU-minute curve is not run here.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

from zoo.runs import train
from zoo_games import match

RECIPES = {  # recipe -> settings beyond its defaults (the engines' levels the issue asks about)
    "games/tictactoe-alphazero": {},
    "games/chess-stockfish": {"data.stockfish_skills": "0"},
    "games/go9-gnugo": {"data.gnugo_levels": "1"},
}
ROOT = Path(tempfile.mkdtemp(prefix="bench-games-"))


def wilson(p: float, n: int) -> str:
    """p with its 95% Wilson interval over n trials."""
    if n <= 0:
        return f"{p:.3f}"
    low, high = match.wilson(p, n)
    return f"{p:.3f} [{low:.3f}, {high:.3f}] (n={n})"


def run(name: str, sets: dict[str, str]) -> tuple[dict, float]:
    extra = dict(item.split("=", 1) for item in os.environ.get("GAMES_BENCH_SETS", "").split(",") if item)
    out = ROOT / name.replace("/", "-")
    started = time.process_time(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(name, sets={"grad_stats_every": "0", **sets, **extra}, out=str(out), callbacks=[])
    wall = time.perf_counter() - started[1]
    print(f"trained {name} in {wall:.0f} s", file=sys.stderr, flush=True)
    return json.loads((out / "summary.json").read_text()), wall


def main() -> None:
    chosen = [n for n in os.environ.get("GAMES_BENCH_RECIPES", ",".join(RECIPES)).split(",") if n]
    rows = []
    for name in chosen:
        summary, wall = run(name, RECIPES[name])
        test = summary.get("test", {})
        if name == "games/tictactoe-alphazero":
            rows.append((name, "lines lost against perfect play, as X and as O (test)",
                         f"{test.get('perfect_losses', float('nan')):.0f}", "0: met" if test.get("perfect_losses") == 0
                         else "NOT met", wall))
        elif name == "games/chess-stockfish":
            from zoo_games.chess_data import mate_puzzles

            from zoo.reopen import open_run
            n_test = len(open_run(ROOT / name.replace("/", "-"), device="cpu").trainer(with_data=True).data.test)
            agreement = test.get("policy_accuracy", float("nan"))
            rows.append((name, "move agreement with Stockfish depth 10 (test positions)", wilson(agreement, n_test),
                         ">= 0.40: " + ("met" if agreement >= 0.40 else "NOT met"), wall))
            puzzles = mate_puzzles()
            for n in (2, 3):
                key = f"mate{n}_solved"
                if key in test:
                    rows.append((name, f"mate-in-{n} puzzles solved (held out)", wilson(test[key], len(puzzles[n])),
                                 "reported", wall))
            if "stockfish0_score" in test:
                config = json.loads((ROOT / name.replace("/", "-") / "config.json").read_text())["config"]
                games = int(config["task.eval_budget"])
                rows.append((name, "score against Stockfish Skill Level 0 (draws half)",
                             wilson(test["stockfish0_score"], games), "reported", wall))
        else:
            agreement = test.get("policy_accuracy", float("nan"))
            from zoo.reopen import open_run
            n_test = len(open_run(ROOT / name.replace("/", "-"), device="cpu").trainer(with_data=True).data.test)
            rows.append((name, "move agreement with GNU Go level 1 (test positions)", wilson(agreement, n_test),
                         "reported", wall))
            if "gnugo1_win_rate" in test:
                rows.append((name, "wins against GNU Go level 1", wilson(test["gnugo1_win_rate"], 10), "reported", wall))
    print("## games: recipes with their defaults, evaluated by playing\n")
    print("| recipe | figure | value [95% interval] | target | train + eval s |\n|---|---|---|---|---|")
    for name, what, value, target, wall in rows:
        print(f"| {name} | {what} | {value} | {target} | {wall:.0f} |")
    print("\nOne run each, one torch thread, on the recipe's defaults (chess plays Stockfish at Skill Level 0 only, Go "
          "GNU Go at level 1 only, each `eval_budget` games). Wilson intervals treat each position, puzzle or game "
          "as one trial. Other jobs may share the cores: times are indicative.")


if __name__ == "__main__":
    main()
