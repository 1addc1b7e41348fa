"""games/chess-stockfish: what each doubling of labelled training positions buys, on the same held-out positions.

The 12,000 shipped positions (data.positions=12000) are split once (80/10/10 by game); each run keeps only the
first N labelled training positions (data.train_positions=N: whole games in the split's shuffled order, the last
one cut) and is scored on the same test positions: move agreement with Stockfish depth 10 (the policy's likeliest
legal move is Stockfish's), with a 95% interval over games resampled (positions of a game are not independent),
and the paired difference to the run with half the data (bench/paired.py, games resampled). The recipe's other
defaults are kept (8 epochs over what there is, each training label's principal variation added); no games are
played against Stockfish (data.stockfish_skills=""). A straight line in log2(N) through the points says where
40% would be, if the trend held.

Bigger labelled sets: a size L:N labels L positions (data.positions=L: gathered with the same seed, Stockfish
labels cached) and keeps the valid and test of the 12,000 (data.split_of=12000): training takes the first N (0: all)
of the L positions whose game (walk, puzzle or random playout: the same names in both sets) and FEN are in neither
valid nor test of the 12,000, and the positions along their labels' variations that are not held-out FENs either.

CHESS_CURVE_SIZES=2400,4800,0 (default: about a quarter, a half and all, 0, of the ~9,600 training positions;
e.g. 2400,4800,0,24000:0,48000:0 adds the labelled sets of 24,000 and 48,000) picks the sizes; CHESS_CURVE_SETS=epochs=1,... adds settings (a smoke test: its figures mean nothing);
CHESS_CURVE_ROOT=DIR keeps the runs in DIR/n<N> and reuses a run found there instead of training it again (a run
of the recipe's defaults, e.g. bench_games.py's chess run, can stand as DIR/n0: the same training).
Sizes in QUOTED that this command neither trains nor finds are printed from their earlier run, marked quoted
(no paired difference: their per-position hits are gone), and take part in the line through the points.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired import paired_bootstrap, verdict  # noqa: E402

from zoo.reopen import open_run  # noqa: E402
from zoo.runs import train  # noqa: E402

ROOT = Path(os.environ.get("CHESS_CURVE_ROOT") or tempfile.mkdtemp(prefix="bench-chess-data-"))
POSITIONS = 12000
# Earlier runs of this script whose folders are gone (a restart of the machine took them), as RESULTS.md printed
# them on 2026-12-07 (commit 929e329): training positions -> (labelled, agreement, low, high, mate2, mate3, seconds)
QUOTED = {2400: (12000, 0.226, 0.196, 0.267, 0.319, 0.125, 832),
          4800: (12000, 0.294, 0.265, 0.325, 0.325, 0.123, 1641),
          9632: (12000, 0.327, 0.297, 0.363, 0.253, 0.093, 2851)}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@torch.no_grad()
def agreement(run_dir: Path, test: list[dict]) -> np.ndarray:
    """1 where the run's likeliest legal move is the test label's move, else 0, per test position."""
    import chess
    from zoo_games.chess_moves import encode_board, legal_mask, move_index

    model = open_run(run_dir, device="cpu").module.eval()
    hits = []
    for start in range(0, len(test), 256):
        boards = [chess.Board(r["fen"]) for r in test[start:start + 256]]
        planes = torch.from_numpy(np.stack([encode_board(b) for b in boards]))
        legal = torch.from_numpy(np.stack([legal_mask(b) for b in boards]))
        best = model(planes=planes, legal=legal)["policy"].float().masked_fill(~legal, -1e9).argmax(-1)
        wanted = [move_index(chess.Move.from_uci(r["move"]), b.turn) for r, b in zip(test[start:start + 256], boards)]
        hits.extend((best == torch.tensor(wanted)).tolist())
    return np.asarray(hits, dtype=float)


def interval(hits: np.ndarray, groups: list[str]) -> str:
    mean, low, high = paired_bootstrap(hits, np.zeros_like(hits), groups=groups)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def main() -> None:
    from zoo_games.chess_data import default_rows, split_rows

    sizes = [s.strip() for s in os.environ.get("CHESS_CURVE_SIZES", "2400,4800,0").split(",") if s.strip()]
    extra = dict(item.split("=", 1) for item in os.environ.get("CHESS_CURVE_SETS", "").split(",") if item)
    rows = default_rows(POSITIONS, 10, 0, 0.15, 0.1, 0.25)
    train_rows, _, test = split_rows(rows, 0)
    groups = [r["group"] for r in test]
    started = time.perf_counter()
    results, reused = [], []
    for size in sizes:
        labelled, n = (int(x) for x in size.split(":")) if ":" in size else (POSITIONS, int(size))
        out = ROOT / (f"n{n}" if labelled == POSITIONS else f"l{labelled}n{n}")
        if (out / "summary.json").is_file():
            log(f"{size}: reusing the run in {out}")
            fresh = False
            wall = float((out / "wall.txt").read_text()) if (out / "wall.txt").is_file() else float("nan")
        else:
            fresh = True
            sets = {"data.positions": str(labelled), "data.split_of": str(POSITIONS), "data.workers": "1"} \
                if labelled > POSITIONS else {"data.positions": str(POSITIONS)}
            t0, load0 = time.perf_counter(), os.getloadavg()[0]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                train("games/chess-stockfish", sets={"grad_stats_every": "0", **sets, "data.train_positions": str(n),
                                                     "data.stockfish_skills": "", **extra}, out=str(out), callbacks=[])
            wall = time.perf_counter() - t0
            (out / "wall.txt").write_text(f"{wall:.1f}\n")
            (out / "load.txt").write_text(f"{load0:.1f} {os.getloadavg()[0]:.1f}\n")
        load = (out / "load.txt").read_text().split() if (out / "load.txt").is_file() else []
        summary = json.loads((out / "summary.json").read_text())
        kept = json.loads((out / "config.json").read_text()).get("info", {}).get("labelled_train")
        count = n or kept or len(train_rows)
        if not fresh:
            reused.append(count)
        hits = agreement(out, test)
        log(f"{size}: agreement {hits.mean():.3f} (the run's own test figure "
            f"{summary.get('test', {}).get('policy_accuracy', float('nan')):.3f}), {wall:.0f} s")
        results.append((count, hits, summary.get("test", {}), wall, labelled, load))
    bigger = sorted({r[4] for r in results if r[4] > POSITIONS})
    weights = {}
    for labelled in bigger:  # the labelled set, as the shipped file would hold it (labels from the cache)
        from zoo_games.chess_data import default_rows as rows_of
        from zoo_games.shipped import write_resource

        keep = ("fen", "move", "pv", "cp", "mate", "depth", "engine", "seconds", "group", "source")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "rows.jsonl.gz"
            write_resource(path, [{k: r.get(k) for k in keep} for r in rows_of(labelled, 10, 0, 0.15, 0.1, 0.25, 1)])
            weights[labelled] = path.stat().st_size
    print("## games: what more Stockfish-labelled chess positions buy (`games/chess-stockfish`)\n")
    print(f"Same held-out test positions for every row: {len(test)} positions of {len(set(groups))} games, the test "
          f"split of the {POSITIONS:,} shipped positions (labels: Stockfish 15.1, depth 10). Each run on the "
          f"{POSITIONS:,} trains on the first N of the split's {len(train_rows):,} training positions "
          "(data.train_positions=N), plus the positions along each label's principal variation, with the recipe's "
          "other defaults (8 epochs, one torch thread) and no games played. Intervals: 95%, games resampled (2,000 "
          "resamples).\n")
    if bigger:
        print(f"Bigger labelled sets ({', '.join(f'{n:,}' for n in bigger)} positions: the same gathering, seed 0, "
              f"labelled with one worker; data.positions=L, data.split_of={POSITIONS}): valid and test are those of "
              f"the {POSITIONS:,} (data.split_of), and training takes every position of the bigger set whose game "
              "(walk, puzzle or random playout, named alike in both sets) and FEN are in neither, and of the "
              "positions along their variations those that are not held-out FENs (chess_data.held_out_removed; "
              "test: test_games_chess.py::test_a_bigger_set_scored_on_a_smaller_sets_split_never_trains_on_its_"
              "held_out_games_or_fens). As the shipped file (gzipped JSON lines, like the 12,000's 464 KB): "
              f"{', '.join(f'{n:,} positions {weights[n] / 1e6:.1f} MB' for n in bigger)}.\n")
    if reused:
        print(f"Runs trained before and reused from CHESS_CURVE_ROOT (their train time and load: '-' when not "
              f"kept): N = {', '.join(f'{n:,}' for n in reused)}.\n")
    if extra:
        print(f"**Smoke settings** `CHESS_CURVE_SETS={os.environ['CHESS_CURVE_SETS']}`: these figures mean nothing.\n")
    print("| labelled | training positions | move agreement with Stockfish (test) | vs the row above | mate-in-2 "
          "solved | mate-in-3 solved | train + eval s | load (1-min, start/end) |\n|---|---|---|---|---|---|---|---|")
    measured = {r[0] for r in results}
    quoted = {n: q for n, q in QUOTED.items() if n not in measured}
    points = sorted([(n, float(h.mean())) for n, h, *_ in results] + [(n, q[1]) for n, q in quoted.items()])
    rows = sorted([(n, None) for n in quoted] + [(r[0], r) for r in results], key=lambda row: row[0])
    previous = None
    for n, result in rows:
        if result is None:
            labelled, mean, low, high, mate2, mate3, seconds = quoted[n]
            print(f"| {labelled:,} | {n:,} | {mean:.3f} [{low:.3f}, {high:.3f}] (quoted) |  | {mate2:.3f} | "
                  f"{mate3:.3f} | {seconds} | - |")
            previous = None
            continue
        _, hits, test_figures, wall, labelled, load = result
        if previous is not None:
            diff, low, high = paired_bootstrap(hits, previous, groups=groups)
            versus = f"{diff:+.3f} [{low:+.3f}, {high:+.3f}]: {verdict(low, high)}"
        else:
            versus = ""
        print(f"| {labelled:,} | {n:,} | {interval(hits, groups)} | {versus} | "
              f"{test_figures.get('mate2_solved', float('nan')):.3f} | {test_figures.get('mate3_solved', float('nan')):.3f} "
              f"| {'-' if wall != wall else f'{wall:.0f}'} | {' / '.join(load) or '-'} |")
        previous = hits
    if quoted:
        print(f"\nQuoted rows (N = {', '.join(f'{n:,}' for n in sorted(quoted))}): this script's earlier run on "
              "2026-12-07 (commit 929e329), whose folders a restart of the machine took; no paired difference "
              "to or from them.")
    if len(points) >= 2:
        x = np.log2([n for n, _ in points])
        y = np.array([m for _, m in points])
        slope, intercept = np.polyfit(x, y, 1)
        gains = np.diff(y) / np.diff(x)
        print(f"\nAgreement gained per doubling, row to row: {', '.join(f'{g:+.3f}' for g in gains)} (a line in log2 N: "
              f"{slope:+.3f} a doubling).", end=" ")
        if slope > 0:
            need = 2 ** ((0.40 - intercept) / slope)
            print(f"If that held, 40% would take about {need:,.0f} training positions "
                  f"({need / points[-1][0]:.0f}x the largest run here), at these settings (the network's size and the "
                  "epochs kept); an extrapolation over few points, not a measurement.")
        else:
            print("The line does not rise: no extrapolation to 40%.")
    log(f"done in {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
