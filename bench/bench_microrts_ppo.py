"""games/microrts-ppo: does PPO against the built-in bots, started from the cloned Gridnet (games/microrts), keep
or raise its win rates on basesWorkers8x8 within the issue's 60 CPU minutes (issue 42)? Both policies play the
same matchups (every bot, both sides, their greedy moves); the figures are win rates with Wilson intervals and
the difference of the two.

MICRORTS_PPO_FROM=RUN_DIR starts from a games/microrts run already trained (e.g. the one bench_microrts.py made;
its CPU minutes are then not measured here: say so); otherwise the cloned run is trained here with its defaults.
MICRORTS_PPO_SETS=epochs=4,... changes PPO's settings (say so in the section); MICRORTS_BENCH_GAMES (default 5)
is the number of games per opponent and side.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_microrts import GAMES, wilson  # noqa: E402
from recipes import train_defaults  # noqa: E402

from zoo.reopen import open_run  # noqa: E402
from zoo_games import microrts_env as env  # noqa: E402
from zoo_games.microrts_data import EVAL_OPPONENTS, network_player  # noqa: E402

MAP, STEPS = "basesWorkers8x8", 2000
SETS = os.environ.get("MICRORTS_PPO_SETS", "")
FROM = os.environ.get("MICRORTS_PPO_FROM", "")


def play_all(run: Path) -> dict[str, tuple[list[int], float]]:
    """Per bot: the results (1 win, 0 draw, -1 loss) of GAMES games from each side, and the mean game length."""
    model = open_run(run, device="cpu").predictor().model
    out = {}
    for foe in EVAL_OPPONENTS:
        played = env.play(network_player(model, "cpu"), [foe] * (2 * GAMES), [g % 2 for g in range(2 * GAMES)],
                          MAP, STEPS)
        out[foe] = ([int(r) for r in played.results], float(played.steps.mean()))
    return out


def main() -> None:
    load_before = os.getloadavg()[0]
    clone_minutes = None
    if FROM:
        clone = Path(FROM)
    else:
        started = time.process_time()
        clone, _, _ = train_defaults("games/microrts", "MICRORTS_CLONE_SETS", threads=1)
        clone_minutes = (time.process_time() - started) / 60
    started, wall = time.process_time(), time.perf_counter()
    ppo, seconds, _ = train_defaults("games/microrts-ppo", "MICRORTS_PPO_SETS", threads=1,
                                     sets={"init_from": str(clone)})
    ppo_minutes = (time.process_time() - started) / 60
    load_after = os.getloadavg()[0]
    curve = [json.loads(line) for line in (ppo / "metrics.jsonl").read_text().splitlines() if line.strip()]
    before, after = play_all(clone), play_all(ppo)
    print("## games: microRTS, PPO after cloning (`games/microrts-ppo`)\n")
    origin = (f"a games/microrts run trained beforehand (MICRORTS_PPO_FROM={FROM}; its CPU time is not measured "
              "here)" if FROM else f"games/microrts trained here with its defaults ({clone_minutes:.1f} CPU-min)")
    print(f"Started from {origin}; then `games/microrts-ppo` "
          f"{'with ' + SETS if SETS else 'with its defaults'}: {len(curve)} rounds of PPO against the four bots, "
          f"{seconds / 60:.1f} min wall and {ppo_minutes:.1f} CPU-min of this process (one torch thread, the Java "
          f"games included), machine load {load_before:.1f} before and {load_after:.1f} after (2 cores shared "
          "with other jobs).\n")
    print("PPO curve (rollout: the round's own games, moves sampled, return with shaped rewards; valid: greedy "
          "games against each bot, sides alternating):\n")
    print("| round | rollout win rate | rollout return | decisions | valid RandomBiasedAI | WorkerRush | LightRush "
          "| CoacAI |\n|---|---|---|---|---|---|---|---|")
    for row in curve:
        print(f"| {row['epoch']} | {row.get('rollout_win_rate', float('nan')):.2f} | "
              f"{row.get('rollout_return', float('nan')):.2f} | {row.get('rollout_decisions', 0):.0f} | " +
              " | ".join(f"{row.get(f'valid_win_rate_{o}', float('nan')):.2f}" for o in EVAL_OPPONENTS) + " |")
    print(f"\n{MAP}, {GAMES} games per side per opponent, cut at {STEPS} cycles (a draw); W/D/L over both sides; "
          "the best checkpoint of each run by its validation win rate:\n")
    print("| opponent | cloned W/D/L | cloned win rate [95%] | after PPO W/D/L | after PPO win rate [95%] | "
          "difference |\n|---|---|---|---|---|---|")
    for foe in EVAL_OPPONENTS:
        cells = []
        for results, _ in (before[foe], after[foe]):
            wins, n = results.count(1), len(results)
            low, high = wilson(wins, n)
            cells += [f"{wins}/{results.count(0)}/{results.count(-1)}", f"{wins / n:.0%} [{low:.0%}, {high:.0%}]"]
        diff = (after[foe][0].count(1) - before[foe][0].count(1)) / len(before[foe][0])
        print(f"| {foe} | {' | '.join(cells)} | {diff:+.0%} |")
    total = sum(r.count(1) for r, _ in after.values()) - sum(r.count(1) for r, _ in before.values())
    print(f"\nAll bots together, PPO minus cloned: {total:+d} wins of {2 * GAMES * len(EVAL_OPPONENTS)} games. "
          "RandomBiasedAI draws from an unseeded generator, so its games differ between the two policies: the "
          "games are not paired, and a difference within the intervals is a tie.")


if __name__ == "__main__":
    main()
