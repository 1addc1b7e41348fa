"""games/atari-pong: the network cloned from pixels (behaviour cloning, then DAgger) against the scripted player it
imitates and the random policy, over the same 10 whole test games (ALE/Pong-v5: sticky actions, so every game
differs; a game ends at 21 points). Return: points won - points lost, from -21 to 21. Target (issue 16): a mean
return at least 15 points above the random policy's.
Set PONG_BENCH_SETS=epochs=1,task.steps_per_round=10,data.steps=100 and PONG_BENCH_GAMES=2 for a smoke test (its
figures mean nothing).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from recipes import train_defaults  # noqa: E402
from paired import paired_bootstrap, verdict  # noqa: E402

from zoo.imitation import episode_seeds  # noqa: E402
from zoo.reopen import open_run  # noqa: E402
from zoo_games import atari, atari_players  # noqa: E402

GAMES = int(os.environ.get("PONG_BENCH_GAMES", 10))


def main() -> None:
    started = time.process_time()
    out, seconds, summary = train_defaults("games/atari-pong", "PONG_BENCH_SETS", threads=1)
    cpu_minutes = (time.process_time() - started) / 60
    model = open_run(out, device="cpu").predictor().model  # the weights `zoo eval` uses, in eval mode
    seeds = episode_seeds("test", GAMES)
    players = {"zoo network (DAgger)": atari_players.network_policy(model),
               "scripted player (reads the RAM)": atari_players.expert, "random policy": atari_players.random_policy(0)}
    played, minutes = {}, {}
    for name, policy in players.items():
        begun = time.perf_counter()
        played[name] = atari.play(policy, seeds)
        minutes[name] = (time.perf_counter() - begun) / 60
    print("## games: Atari Pong from pixels (`games/atari-pong`)\n")
    print(f"`games/atari-pong` with its defaults: {summary['epochs']} rounds (behaviour cloning from the scripted "
          f"player's games, then DAgger), {seconds / 60:.1f} min wall and {cpu_minutes:.1f} CPU-min (one torch thread; the emulator included). "
          f"Each player then plays the same {GAMES} whole test games (ALE/Pong-v5, sticky actions 0.25) against "
          "Pong's built-in opponent.\n")
    print("| player | mean return | per game (min - max) | points won | points lost | agent steps a game | min |\n"
          "|---|---|---|---|---|---|---|")
    for name, games in played.items():
        print(f"| {name} | {games.returns.mean():+.1f} | {games.returns.min():+.0f} - {games.returns.max():+.0f} | "
              f"{games.won.mean():.1f} | {games.lost.mean():.1f} | {games.steps.mean():,.0f} | {minutes[name]:.1f} |")
    ours, random = played["zoo network (DAgger)"].returns, played["random policy"].returns
    diff, low, high = paired_bootstrap(ours, random)
    scripted = played["scripted player (reads the RAM)"].returns
    d2, l2, h2 = paired_bootstrap(ours, scripted)
    print(f"\nNetwork - random policy, per game (same seeds): {diff:+.1f} [{low:+.1f}, {high:+.1f}], "
          f"{verdict(low, high)}; network - scripted player: {d2:+.1f} [{l2:+.1f}, {h2:+.1f}], {verdict(l2, h2)}.")
    margin = ours.mean() - random.mean()
    print(f"\nTarget (mean return at least 15 above the random policy's): {'met' if margin >= 15 else 'NOT met'} "
          f"({margin:+.1f}). On the scripted player's own test frames the network agrees with its action "
          f"{summary['test']['accuracy']:.3f} of the time (macro-F1 {summary['test']['f1_macro']:.3f}).")


if __name__ == "__main__":
    main()
