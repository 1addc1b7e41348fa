"""zoo-games: chess and Go measured over many games (issue 42): a trained games/chess-stockfish run against
Stockfish at fixed low Skill Levels (through UCI) and a trained games/go9-gnugo run against GNU Go level 1 (through
GTP), both colours, half the games each.

The games are the recipes' own evaluation games (zoo_games.chess_play.play_stockfish, zoo_games.go_play.play_gnugo,
as the tasks call them on the test split), only more of them: GAMES_PLAY_GAMES each (default 40). Chess: the
network is White in the even games and Stockfish's first move is random, so games differ; the network searches
with the run's data.play_simulations (MCTS) and Stockfish thinks 0.05 s a move with Threads=1. Go: the network is
Black in the even games, GNU Go (a fresh seeded process a game) referees by final_score, komi 7.

Environment: GAMES_PLAY_CHESS_RUN / GAMES_PLAY_GO_RUN, run folders already trained (otherwise the recipe is trained
here with its defaults, one torch thread, its own test games cut to 2); GAMES_PLAY_GAMES (40); GAMES_PLAY_SKILLS, Stockfish Skill Levels
("0,1,2,3"); GAMES_PLAY_LEVELS, GNU Go levels ("1"); GAMES_PLAY_ONLY=chess or go to play one game only.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def trained(recipe: str, env: str) -> tuple[Path, str]:
    """The run folder of `env`, or one trained now with the recipe's defaults (one torch thread)."""
    given = os.environ.get(env)
    if given:
        return Path(given), f"the run in `{env}` (trained beforehand)"
    from zoo.runs import train

    out = Path(tempfile.mkdtemp(prefix="bench-games-play-")) / recipe.replace("/", "-")
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # eval_budget only sizes the run's own test games (played again, more of them, below): 2 saves their time
        train(recipe, sets={"threads": "1", "grad_stats_every": "0", "task.eval_budget": "2"}, out=str(out),
              callbacks=[])
    wall = time.perf_counter() - started
    print(f"trained {recipe} in {wall:.0f} s", file=sys.stderr, flush=True)
    return out, f"trained here with its defaults in {wall:.0f} s"


def opened(run_dir: Path):
    import torch

    from zoo.predictor import Predictor

    torch.set_num_threads(1)
    predictor = Predictor(run_dir, device="cpu")
    return predictor.model, predictor.info, json.loads((run_dir / "summary.json").read_text()).get("test", {})


def rows_of(opponent: str, results: list[float], first: list[bool], first_name: str, second_name: str,
            wall: float, before: str) -> list[str]:
    from zoo_games.match import by_colour

    every, ours, theirs = by_colour(results, first)
    return [f"| {opponent} | all {every.games} | {every.text()} | {every.elo_text()} | {wall:.0f} | "
            f"{before} -> {load()} |",
            f"| {opponent} | network {first_name} ({ours.games}) | {ours.text()} | {ours.elo_text()} | | |",
            f"| {opponent} | network {second_name} ({theirs.games}) | {theirs.text()} | {theirs.elo_text()} | | |"]


def chess(games: int) -> list[str]:
    from zoo_games.chess_play import play_stockfish

    run_dir, how = trained("games/chess-stockfish", "GAMES_PLAY_CHESS_RUN")
    model, info, test = opened(run_dir)
    sims = int(info.get("play_simulations", 32))
    skills = [int(s) for s in os.environ.get("GAMES_PLAY_SKILLS", "0,1,2,3").split(",") if s.strip()]
    out = [f"**games/chess-stockfish** ({how}; move agreement with Stockfish on its test positions "
           f"{test.get('policy_accuracy', float('nan')):.3f}), MCTS with {sims} visits a move, against Stockfish "
           f"0.05 s a move, Threads=1, at most 200 plies (then a draw):\n",
           "| opponent | games | W-D-L, score (draws half) [95% Wilson] | Elo difference [from the interval] "
           "| wall s | load 1/5/15 min before -> after |", "|---|---|---|---|---|---|"]
    for skill in skills:
        before, started = load(), time.perf_counter()
        results = play_stockfish(model, games, skill, sims, "cpu", seed=skill, max_plies=200)
        wall = time.perf_counter() - started
        print(f"chess: Stockfish Skill Level {skill}: {results} in {wall:.0f} s", file=sys.stderr, flush=True)
        out += rows_of(f"Stockfish Skill Level {skill}", results, [g % 2 == 0 for g in range(games)], "White",
                       "Black", wall, before)
    return out


def go(games: int) -> list[str]:
    from zoo_games.go_play import play_gnugo

    run_dir, how = trained("games/go9-gnugo", "GAMES_PLAY_GO_RUN")
    model, info, test = opened(run_dir)
    sims = int(info.get("play_simulations", 64))
    levels = [int(s) for s in os.environ.get("GAMES_PLAY_LEVELS", "1").split(",") if s.strip()]
    out = [f"**games/go9-gnugo** ({how}; move agreement with GNU Go on its test positions "
           f"{test.get('policy_accuracy', float('nan')):.3f}), MCTS with {sims} visits a move, 9x9, komi 7, at most "
           "162 moves (then GNU Go's final_score):\n",
           "| opponent | games | W-D-L, score (jigo half) [95% Wilson] | Elo difference [from the interval] "
           "| wall s | load 1/5/15 min before -> after |", "|---|---|---|---|---|---|"]
    for level in levels:
        before, started = load(), time.perf_counter()
        results = play_gnugo(model, games, level, sims, "cpu", max_moves=162)
        wall = time.perf_counter() - started
        print(f"go: GNU Go level {level}: {results} in {wall:.0f} s", file=sys.stderr, flush=True)
        out += rows_of(f"GNU Go level {level}", results, [g % 2 == 0 for g in range(games)], "Black", "White",
                       wall, before)
    return out


def main() -> None:
    games = int(os.environ.get("GAMES_PLAY_GAMES", "40"))
    only = os.environ.get("GAMES_PLAY_ONLY", "")
    lines = ["## games_play: chess and Go over many games against fixed engines\n"]
    chosen = {k: v for k, v in sorted(os.environ.items()) if k.startswith("GAMES_PLAY_")}
    if chosen:
        lines.append("Environment: " + ", ".join(f"`{k}={v}`" for k, v in chosen.items()) + "\n")
    if only in ("", "go"):
        lines += go(games) + [""]
    if only in ("", "chess"):
        lines += chess(games) + [""]
    lines.append(f"{games} games per opponent, half with each colour, all played at once (one engine process per Go "
                 "game; one Stockfish for all chess games), network on one CPU thread. The score counts a draw (jigo) "
                 "half; its interval is Wilson's over games (each game one trial). The Elo difference is "
                 "-400 log10(1/s - 1) at the score and at the interval's ends; at a score of 0 or 1 only the bound "
                 "from the interval is given. Other jobs share the 2 cores: wall times are indicative, the load "
                 "is os.getloadavg() before and after each match.")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
