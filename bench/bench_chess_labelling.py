"""games/chess-stockfish: labelling positions with Stockfish in 1 and in N worker processes, side by side.

The same positions (seed 0, the recipe's default mix) are gathered and labelled at depth 10 from an empty label
cache, once with one process and once with N workers (each with its own Stockfish): wall time and whether the
rows are identical (CPU time is left out: the engines of the one-process run are not all counted by getrusage). CHESS_LABEL_POSITIONS (default
1000) and CHESS_LABEL_WORKERS (default: the cores) set the size and N.
"""
from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    from zoo_games.chess_data import LabelCache, Labeller, default_workers, gather

    count = int(os.environ.get("CHESS_LABEL_POSITIONS", "1000"))
    workers = int(os.environ.get("CHESS_LABEL_WORKERS", "0")) or default_workers()
    folder = Path(tempfile.mkdtemp(prefix="bench-chess-labels-"))
    load = os.getloadavg()[0]
    results = {}
    for n in (1, workers):
        started, used = time.perf_counter(), cpu()
        rows = gather(count, 10, seed=0, labeller=Labeller(10, LabelCache(folder / f"workers{n}.jsonl")), workers=n)
        results[n] = (time.perf_counter() - started, cpu() - used, rows)
        print(f"{n} workers: {results[n][0]:.0f} s", file=sys.stderr, flush=True)
    same = ("fen", "move", "pv", "cp", "mate", "group", "source")
    identical = [[r[k] for k in same] for r in results[1][2]] == [[r[k] for k in same] for r in results[workers][2]]
    print("## games: labelling chess positions with Stockfish in parallel (`python -m zoo_games.prepare chess --workers N`)\n")
    print(f"{count:,} positions (seed 0, the default mix of puzzles, random playouts, book openings and engine "
          f"playouts) labelled by Stockfish 15.1 at depth 10 from an empty cache. One-minute load average at the "
          f"start: {load:.1f} on {default_workers()} cores (the machine is shared: the speed-up is what this load "
          "allowed).\n")
    print("| workers | wall s | positions a second |\n|---|---|---|")
    for n, (wall, _, rows) in results.items():
        print(f"| {n} | {wall:.0f} | {len(rows) / wall:.1f} |")
    print(f"\nSpeed-up: {results[1][0] / results[workers][0]:.2f}x wall. Rows identical (all but the seconds each "
          f"label took): {'yes' if identical else 'NO'}.")


if __name__ == "__main__":
    main()
