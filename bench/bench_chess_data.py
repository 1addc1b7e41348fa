"""games/chess-stockfish: what each doubling of labelled training positions buys, on the same held-out positions.

The 12,000 shipped positions (data.positions=12000) are split once (80/10/10 by game); each run keeps only the
first N labelled training positions (data.train_positions=N: whole games in the split's shuffled order, the last
one cut) and is scored on the same test positions: move agreement with Stockfish depth 10 (the policy's likeliest
legal move is Stockfish's), with a 95% interval over games resampled (positions of a game are not independent),
and the paired difference to the run with half the data (bench/paired.py, games resampled). The recipe's other
defaults are kept (8 epochs over what there is, each training label's principal variation added); no games are
played against Stockfish (data.stockfish_skills=""). A straight line in log2(N) through the points says where
40% would be, if the trend held.

CHESS_CURVE_SIZES=2400,4800,0 (default: about a quarter, a half and all, 0, of the ~9,600 training positions)
picks the sizes; CHESS_CURVE_SETS=epochs=1,... adds settings (a smoke test: its figures mean nothing);
CHESS_CURVE_ROOT=DIR keeps the runs in DIR/n<N> and reuses a run found there instead of training it again (a run
of the recipe's defaults, e.g. bench_games.py's chess run, can stand as DIR/n0: the same training).
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

    sizes = [int(s) for s in os.environ.get("CHESS_CURVE_SIZES", "2400,4800,0").split(",") if s]
    extra = dict(item.split("=", 1) for item in os.environ.get("CHESS_CURVE_SETS", "").split(",") if item)
    rows = default_rows(POSITIONS, 10, 0, 0.15, 0.1, 0.25)
    train_rows, _, test = split_rows(rows, 0)
    groups = [r["group"] for r in test]
    started = time.perf_counter()
    results, reused = [], []
    for n in sizes:
        out = ROOT / f"n{n}"
        if (out / "summary.json").is_file():
            log(f"N={n}: reusing the run in {out}")
            reused.append(n or len(train_rows))
            wall = float((out / "wall.txt").read_text()) if (out / "wall.txt").is_file() else float("nan")
        else:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                train("games/chess-stockfish", sets={"grad_stats_every": "0", "data.positions": str(POSITIONS),
                                                     "data.train_positions": str(n), "data.stockfish_skills": "",
                                                     **extra}, out=str(out), callbacks=[])
            wall = time.perf_counter() - t0
            (out / "wall.txt").write_text(f"{wall:.1f}\n")
        summary = json.loads((out / "summary.json").read_text())
        hits = agreement(out, test)
        log(f"N={n}: agreement {hits.mean():.3f} (the run's own test figure "
            f"{summary.get('test', {}).get('policy_accuracy', float('nan')):.3f}), {wall:.0f} s")
        results.append((n or len(train_rows), hits, summary.get("test", {}), wall))
    print("## games: what more Stockfish-labelled chess positions buy (`games/chess-stockfish`)\n")
    print(f"Same held-out test positions for every row: {len(test)} positions of {len(set(groups))} games, the test "
          f"split of the {POSITIONS:,} shipped positions (labels: Stockfish 15.1, depth 10). Each run trains on the "
          f"first N of the split's {len(train_rows):,} training positions (data.train_positions=N, plus the "
          "positions along each label's principal variation), with the recipe's other defaults (8 epochs, one torch "
          "thread) and no games played. Intervals: 95%, games resampled (2,000 resamples).\n")
    if reused:
        print(f"Runs trained before and reused from CHESS_CURVE_ROOT (their train time: '-' when it was not kept): "
              f"N = {', '.join(f'{n:,}' for n in reused)}.\n")
    if extra:
        print(f"**Smoke settings** `CHESS_CURVE_SETS={os.environ['CHESS_CURVE_SETS']}`: these figures mean nothing.\n")
    print("| training positions | move agreement with Stockfish (test) | vs the row above | mate-in-2 solved | "
          "mate-in-3 solved | train + eval s |\n|---|---|---|---|---|---|")
    previous = None
    for n, hits, test_figures, wall in results:
        if previous is not None:
            diff, low, high = paired_bootstrap(hits, previous[1], groups=groups)
            versus = f"{diff:+.3f} [{low:+.3f}, {high:+.3f}]: {verdict(low, high)}"
        else:
            versus = ""
        print(f"| {n:,} | {interval(hits, groups)} | {versus} | {test_figures.get('mate2_solved', float('nan')):.3f} | "
              f"{test_figures.get('mate3_solved', float('nan')):.3f} | {'-' if wall != wall else f'{wall:.0f}'} |")
        previous = (n, hits)
    if len(results) >= 2:
        x = np.log2([n for n, *_ in results])
        y = np.array([h.mean() for _, h, *_ in results])
        slope, intercept = np.polyfit(x, y, 1)
        gains = np.diff(y) / np.diff(x)
        print(f"\nAgreement gained per doubling, row to row: {', '.join(f'{g:+.3f}' for g in gains)} (a line in log2 N: "
              f"{slope:+.3f} a doubling).", end=" ")
        if slope > 0:
            need = 2 ** ((0.40 - intercept) / slope)
            print(f"If that held, 40% would take about {need:,.0f} training positions "
                  f"({need / results[-1][0]:.0f}x the largest run here), at these settings (the network's size and the "
                  "epochs kept); an extrapolation over few points, not a measurement.")
        else:
            print("The line does not rise: no extrapolation to 40%.")
    log(f"done in {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
