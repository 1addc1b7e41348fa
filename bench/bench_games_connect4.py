"""games/connect4-alphazero: the curve by round of AlphaZero self-play, as win rates against alpha-beta players of
depth 1, 2, 4 and 6 (as first and as second player) against the CPU minutes of self-play and training spent so far
(the run's `cpu_minutes`: this process's CPU time, the evaluations left out). Target (issue 16): at least 90% wins
as first player against depth-4 alpha-beta within 60 CPU minutes on this machine. The recipe's defaults, one torch
thread; the last round is also played on the test split, from the empty board and from random openings. The target
is judged on that last network: from FINAL_GAMES random openings as first player, with FINAL_SIMULATIONS visits a
move (a round's own 10 games from the empty board are nearly one game, the network being deterministic).
Set CONNECT4_BENCH_SETS=epochs=1,task.steps_per_round=2,data.games=2,data.simulations=4,task.eval_budget=1 for a smoke test
(its figures mean nothing).
"""
from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from recipes import train_defaults  # noqa: E402
from bench_games import wilson  # noqa: E402

from zoo_games.data import connect4  # noqa: E402

from zoo.reopen import open_run  # noqa: E402

OPPONENTS = ("ab1", "ab2", "ab4", "ab6")
OPENING_PLIES = 2  # the second view of the last network: games from random openings
FINAL_GAMES = 30  # games a side from openings for the last network
FINAL_SIMULATIONS = 400  # its MCTS visits a move
BUDGET_MINUTES = 60
TARGET = 0.9
WINDOW = 3  # rounds averaged in the curve's own view of the target


def from_openings(out: Path, games: int, simulations: int) -> dict[str, float]:
    """The trained network's test games from random openings (the task's evaluation, other openings)."""
    predictor = open_run(out, device="cpu").predictor()
    predictor.task.info = {**predictor.task.info, "eval_openings": OPENING_PLIES, "eval_simulations": simulations}
    return predictor.task.evaluate_model(predictor.model, None, "test", games, "cpu")


def main() -> None:
    out, seconds, summary = train_defaults("games/connect4-alphazero", "CONNECT4_BENCH_SETS", threads=1)
    saved = json.loads((out / "config.json").read_text())
    config = {**{f"data.{k}": v.default for k, v in inspect.signature(connect4).parameters.items()}, **saved["config"]}
    games = int(config["task.eval_budget"])
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "cpu_minutes" in r]
    plies = int(saved["info"].get("eval_openings", 0))
    start = (f"each game from one of {games} openings of {plies} random plies (the split's own, each played with "
             "both colours)") if plies else "from the empty board"
    print("## games: Connect Four by AlphaZero self-play (`games/connect4-alphazero`)\n")
    print(f"`games/connect4-alphazero` with its defaults: {len(rows)} rounds of {config['data.games']} self-play games "
          f"({config['data.simulations']} MCTS visits a move) and {config['task.steps_per_round']} training steps, one torch "
          f"thread, {seconds / 60:.1f} min wall in all (evaluations included). After each round the network (MCTS, "
          f"{saved['info']['eval_simulations']} visits a move, no noise) plays {games} games as first and {games} as "
          "second player against each alpha-beta player (depth N, a fixed heuristic at the leaves, ties broken at "
          f"random), {start}. CPU-min: self-play and training so far, evaluations left out. Win rates (draws are "
          "not wins):\n")
    head = " | ".join(f"{o} 1st | {o} 2nd" for o in OPPONENTS)
    print(f"| round | CPU-min | {head} |\n|---|---|" + "---|" * (2 * len(OPPONENTS)))
    reached = None
    for i, row in enumerate(rows, 1):
        cells = " | ".join(f"{row.get(f'valid_{o}_{side}', float('nan')):.1f}" for o in OPPONENTS
                           for side in ("first", "second"))
        print(f"| {i} | {row['cpu_minutes']:.1f} | {cells} |")
    for i in range(len(rows) - WINDOW + 1):  # one round is only `games` games: three in a row must average 90%
        if sum(r.get("valid_ab4_first", 0) for r in rows[i:i + WINDOW]) / WINDOW >= TARGET:
            reached = (i + WINDOW, rows[i + WINDOW - 1]["cpu_minutes"])
            break
    final = int(saved["info"].get("eval_simulations", 0))
    final_games = FINAL_GAMES if games >= 10 else games  # a smoke test (eval_budget=1) stays tiny
    test, opened = summary.get("test", {}), from_openings(out, final_games, FINAL_SIMULATIONS)
    print(f"\nThe last round's network on the test split (95% Wilson intervals): from the empty board as above "
          f"({games} games a side, {final} visits a move; the network's play is deterministic, so these games differ "
          f"only where alpha-beta breaks a tie) and from {final_games} random openings of {OPENING_PLIES} plies (each "
          f"played with both colours, {FINAL_SIMULATIONS} visits a move):\n")
    print("| opponent | first, empty board | second, empty board | first, from openings | second, from openings |\n"
          "|---|---|---|---|---|")
    for o in OPPONENTS:
        cells = [wilson(found.get(f"{o}_{side}", float("nan")), n) for found, n in ((test, games), (opened, final_games))
                 for side in ("first", "second")]
        print(f"| alpha-beta depth {o[2:]} | {' | '.join(cells)} |")
    spent = rows[-1]["cpu_minutes"] if rows else float("nan")
    rate = opened.get("ab4_first", 0.0)
    met = rate >= TARGET and spent <= BUDGET_MINUTES
    verdict = (f"{'met' if met else 'NOT met'}: the last network ({spent:.1f} CPU-min) wins "
               f"{wilson(rate, final_games)} of its games from openings as first player against depth 4")
    if reached:
        held = all(r.get("valid_ab4_first", 0) >= TARGET for r in rows[-WINDOW:])
        curve = (f"rounds {reached[0] - WINDOW + 1}-{reached[0]} first average it ({reached[1]:.1f} CPU-min); the last "
                 f"{WINDOW} rounds {'hold' if held else 'do not all hold'} it")
    else:
        curve = "no three rounds in a row average it"
    print(f"\nTarget (at least {TARGET:.0%} wins as first player against depth-4 alpha-beta within {BUDGET_MINUTES} "
          f"CPU-min): {verdict}. In the curve ({games} games a round, from the empty board): {curve}.")


if __name__ == "__main__":
    main()
