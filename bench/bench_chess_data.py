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
e.g. 2400,4800,0,24000:0,48000:0 adds the labelled sets of 24,000 and 48,000) picks the sizes; a size may end in
@CxBxE to train another network on it: C channels, B residual blocks, E epochs (e.g. 96000:0@64x6x3; the default
is the recipe's 48x4x8); a final +pK trains on K positions along each label's variation (data.pv_plies; the
recipe's 4: e.g. 96000:0@64x6x10+p0). CHESS_CURVE_THREADS=T gives each run T torch threads (default 1: the recipe's; speed only).
CHESS_CURVE_SETS=epochs=1,... adds settings (a smoke test: its figures mean nothing);
CHESS_CURVE_ROOT=DIR keeps the runs in DIR/n<N> and reuses a run found there instead of training it again (a run
of the recipe's defaults, e.g. bench_games.py's chess run, can stand as DIR/n0: the same training).
Runs in QUOTED that this command neither trains nor finds are printed from their earlier run, marked quoted
(no paired difference: their per-position hits are gone); those of the recipe's network take part in the line
through the points, which is drawn through the recipe's network's rows only.
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
RECIPE_NET = (48, 4, 8, 4)  # the recipe's model.channels, model.blocks, epochs, data.pv_plies
# Earlier runs whose folders are gone (a restart of the machine took them), as RESULTS.md (or HAND-RUNS.md, for
# the one without an interval) printed them: (labelled, training positions, (channels, blocks, epochs, pv plies)) ->
# (agreement, low, high, mate2, mate3, seconds, where it came from)
QUOTED = {
    (12000, 2400, RECIPE_NET): (0.226, 0.196, 0.267, 0.319, 0.125, 832, "929e329"),
    (12000, 4800, RECIPE_NET): (0.294, 0.265, 0.325, 0.325, 0.123, 1641, "929e329"),
    (12000, 9632, RECIPE_NET): (0.327, 0.297, 0.363, 0.253, 0.093, 2851, "929e329"),
    (24000, 21632, RECIPE_NET): (0.343, 0.319, 0.372, 0.247, 0.125, 1193, "a0b7342"),
    (48000, 45632, RECIPE_NET): (0.356, 0.330, 0.387, 0.277, 0.107, 2821, "a0b7342"),
    (48000, 45632, (64, 6, 3, 4)): (0.372, None, None, 0.193, None, 2160, "HAND-RUNS, bcf5e94"),
    (96000, 93632, (64, 6, 3, 4)): (0.380, 0.350, 0.413, 0.205, 0.136, 3435, "47363fd"),
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_size(size: str) -> tuple[int, int, tuple[int, int, int, int]]:
    """'[L:]N[@CxBxE][+pK]' -> (labelled, training positions kept (0: all), (channels, blocks, epochs, pv plies))."""
    size, _, pv = size.partition("+p")
    size, _, net = size.partition("@")
    labelled, n = (int(x) for x in size.split(":")) if ":" in size else (POSITIONS, int(size))
    channels, blocks, epochs = (int(x) for x in net.split("x")) if net else RECIPE_NET[:3]
    return labelled, n, (channels, blocks, epochs, int(pv) if pv else RECIPE_NET[3])


def net_name(net: tuple[int, int, int, int]) -> str:
    plies = "" if net[3] == RECIPE_NET[3] else f", {net[3]} plies of each variation (data.pv_plies)"
    return "{}x{}, {} epochs".format(*net) + plies + (" (the recipe's)" if net == RECIPE_NET else "")


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


def share(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.3f}"


def interval(hits: np.ndarray, groups: list[str]) -> str:
    mean, low, high = paired_bootstrap(hits, np.zeros_like(hits), groups=groups)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def train_or_reuse(labelled: int, n: int, net: tuple[int, int, int, int], extra: dict, threads: str) -> tuple[Path, bool]:
    """The run's folder under ROOT, trained now unless a finished run is there; and whether it was trained now."""
    name = f"n{n}" if labelled == POSITIONS else f"l{labelled}n{n}"
    if net[:3] != RECIPE_NET[:3]:
        name += f"-{net[0]}x{net[1]}x{net[2]}"
    out = ROOT / (name if net[3] == RECIPE_NET[3] else f"{name}-p{net[3]}")
    if (out / "summary.json").is_file():
        log(f"{out.name}: reusing the run in {out}")
        return out, False
    sets = {"data.positions": str(labelled), "data.split_of": str(POSITIONS), "data.workers": "1"} \
        if labelled > POSITIONS else {"data.positions": str(POSITIONS)}
    if net[:3] != RECIPE_NET[:3]:
        sets.update({"model.channels": str(net[0]), "model.blocks": str(net[1]), "epochs": str(net[2])})
    if net[3] != RECIPE_NET[3]:
        sets["data.pv_plies"] = str(net[3])
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train("games/chess-stockfish", sets={"grad_stats_every": "0", "threads": threads, **sets,
                                             "data.train_positions": str(n), "data.stockfish_skills": "", **extra},
              out=str(out), callbacks=[])
    (out / "wall.txt").write_text(f"{time.perf_counter() - t0:.1f}\n")
    (out / "load.txt").write_text(f"{load0:.1f} {os.getloadavg()[0]:.1f}\n")
    return out, True


def shipped_size(labelled: int) -> int:
    """Bytes of the labelled set as the shipped file would hold it (gzipped JSON lines; labels from the cache)."""
    from zoo_games.chess_data import default_rows
    from zoo_games.shipped import write_resource

    keep = ("fen", "move", "pv", "cp", "mate", "depth", "engine", "seconds", "group", "source")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.jsonl.gz"
        write_resource(path, [{k: r.get(k) for k in keep} for r in default_rows(labelled, 10, 0, 0.15, 0.1, 0.25, 1)])
        return path.stat().st_size


def main() -> None:
    from zoo_games.chess_data import default_rows, split_rows

    sizes = [parse_size(s.strip()) for s in os.environ.get("CHESS_CURVE_SIZES", "2400,4800,0").split(",") if s.strip()]
    extra = dict(item.split("=", 1) for item in os.environ.get("CHESS_CURVE_SETS", "").split(",") if item)
    threads = os.environ.get("CHESS_CURVE_THREADS", "1")
    rows = default_rows(POSITIONS, 10, 0, 0.15, 0.1, 0.25)
    train_rows, _, test = split_rows(rows, 0)
    groups = [r["group"] for r in test]
    started = time.perf_counter()
    results, reused = {}, []
    for labelled, n, net in sizes:
        out, fresh = train_or_reuse(labelled, n, net, extra, threads)
        wall = float((out / "wall.txt").read_text()) if (out / "wall.txt").is_file() else float("nan")
        load = (out / "load.txt").read_text().split() if (out / "load.txt").is_file() else []
        summary = json.loads((out / "summary.json").read_text())
        kept = json.loads((out / "config.json").read_text()).get("info", {}).get("labelled_train")
        count = n or kept or len(train_rows)
        if not fresh:
            reused.append(out.name)
        hits = agreement(out, test)
        log(f"{out.name}: agreement {hits.mean():.3f} (the run's own test figure "
            f"{summary.get('test', {}).get('policy_accuracy', float('nan')):.3f}), {wall:.0f} s")
        results[(labelled, count, net)] = (hits, summary.get("test", {}), wall, load)
    bigger = sorted({key[0] for key in results if key[0] > POSITIONS})
    print("## games: what more Stockfish-labelled chess positions buy (`games/chess-stockfish`)\n")
    print(f"Same held-out test positions for every row: {len(test)} positions of {len(set(groups))} games, the test "
          f"split of the {POSITIONS:,} shipped positions (labels: Stockfish 15.1, depth 10). Each run on the "
          f"{POSITIONS:,} trains on the first N of the split's {len(train_rows):,} training positions "
          "(data.train_positions=N), plus the positions along each label's principal variation, with the recipe's "
          f"other defaults and no games played; the network is the recipe's (48 channels, 4 residual blocks, 8 "
          f"epochs) unless the row says otherwise; {threads} torch thread(s). Intervals: 95%, games resampled (2,000 "
          "resamples).\n")
    if bigger:
        print(f"Bigger labelled sets ({', '.join(f'{n:,}' for n in bigger)} positions: the same gathering, seed 0; "
              f"data.positions=L, data.split_of={POSITIONS}): valid and test are those of "
              f"the {POSITIONS:,} (data.split_of), and training takes every position of the bigger set whose game "
              "(walk, puzzle or random playout, named alike in both sets) and FEN are in neither, and of the "
              "positions along their variations those that are not held-out FENs (chess_data.held_out_removed; "
              "test: test_games_chess.py::test_a_bigger_set_scored_on_a_smaller_sets_split_never_trains_on_its_"
              "held_out_games_or_fens). As the shipped file (gzipped JSON lines, like the 12,000's 464 KB): "
              f"{', '.join(f'{n:,} positions {shipped_size(n) / 1e6:.1f} MB' for n in bigger)}.\n")
    if reused:
        print(f"Runs trained before and reused from CHESS_CURVE_ROOT (their train time and load: '-' when not "
              f"kept): {', '.join(reused)}.\n")
    if extra:
        print(f"**Smoke settings** `CHESS_CURVE_SETS={os.environ['CHESS_CURVE_SETS']}`: these figures mean nothing.\n")
    print("| labelled | training positions | network (channels x blocks, epochs) | move agreement with Stockfish (test) "
          "| vs the row above | mate-in-2 solved | mate-in-3 solved | train + eval s | load (1-min, start/end) |\n"
          "|---|---|---|---|---|---|---|---|---|")
    quoted = {key: q for key, q in QUOTED.items() if key not in results}
    order = sorted([*quoted, *results], key=lambda key: (key[1], key[2] != RECIPE_NET, key[2]))
    previous = None
    for key in order:
        labelled, n, net = key
        if key in quoted:
            mean, low, high, mate2, mate3, seconds, source = quoted[key]
            figure = f"{mean:.3f} [{low:.3f}, {high:.3f}] (quoted: {source})" if low is not None else \
                f"{mean:.3f} (quoted: {source}; the run's own figure, no interval)"
            print(f"| {labelled:,} | {n:,} | {net_name(net)} | {figure} |  | {share(mate2)} | {share(mate3)} | "
                  f"{seconds} | - |")
            previous = None
            continue
        hits, test_figures, wall, load = results[key]
        if previous is not None:
            diff, low, high = paired_bootstrap(hits, previous, groups=groups)
            versus = f"{diff:+.3f} [{low:+.3f}, {high:+.3f}]: {verdict(low, high)}"
        else:
            versus = ""
        print(f"| {labelled:,} | {n:,} | {net_name(net)} | {interval(hits, groups)} | {versus} | "
              f"{share(test_figures.get('mate2_solved'))} | {share(test_figures.get('mate3_solved'))} "
              f"| {'-' if wall != wall else f'{wall:.0f}'} | {' / '.join(load) or '-'} |")
        previous = hits
    if quoted:
        print(f"\nQuoted rows: earlier runs of this script (or, where named, of HAND-RUNS.md) at the commit shown, whose "
              "folders a restart of the machine took; no paired difference to or from them.")
    points = sorted((key[1], float(results[key][0].mean()) if key in results else quoted[key][0])
                    for key in order if key[2] == RECIPE_NET)
    if len(points) >= 2:
        x = np.log2([n for n, _ in points])
        y = np.array([m for _, m in points])
        slope, intercept = np.polyfit(x, y, 1)
        gains = np.diff(y) / np.diff(x)
        print(f"\nThe recipe's network: agreement gained per doubling, row to row: {', '.join(f'{g:+.3f}' for g in gains)} "
              f"(a line in log2 N: {slope:+.3f} a doubling).", end=" ")
        if slope > 0:
            need = 2 ** ((0.40 - intercept) / slope)
            print(f"If that held, 40% would take about {need:,.0f} training positions "
                  f"({need / points[-1][0]:.0f}x the largest run here), at that network and its 8 epochs; an "
                  "extrapolation over few points, not a measurement.")
        else:
            print("The line does not rise: no extrapolation to 40%.")
    log(f"done in {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
