"""games/go9-gnugo: what more GNU Go games buy, on the same held-out positions.

Every run is scored on the test split of the first 300 games (data.games=300, split 80/10/10 by game): move
agreement with GNU Go level 1 (the policy's likeliest legal move is GNU Go's), with a 95% interval over games
resampled (a game's positions are not independent), and the paired difference to the row above (bench/paired.py,
games resampled). A run of G games (G > 300) keeps that valid and test (data.split_of=300) and trains on the
300's training games plus every game from the 301st to the G-th (GNU Go's games are played from their own seeds,
cached, and the shipped ones are not played again). The recipe's other defaults are kept (8 epochs, the board's
8 symmetries as augmentation); no games are played against GNU Go (data.gnugo_levels=""). A straight line in
log2(training positions) says where 40% would be, if the trend held.

GO_CURVE_SIZES=300,1200,3000 (default) picks the numbers of games (at least 300); a size may end in @CxBxE to train another
network: C channels, B residual blocks, E epochs (e.g. 3000@64x6x8; the recipe's is 48x4x8), and in +hK to give
the network K planes of the last moves (data.history=K; e.g. 3000+h2).
GO_CURVE_THREADS=T gives each run T torch threads (default 1: the recipe's; speed only).
GO_CURVE_SETS=epochs=1,... adds settings (a smoke test: its figures mean nothing).
GO_CURVE_ROOT=DIR keeps the runs in DIR/g<G> and reuses a run found there instead of training it again.
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

ROOT = Path(os.environ.get("GO_CURVE_ROOT") or tempfile.mkdtemp(prefix="bench-go-data-"))
GAMES = 300  # the recipe's data.games until 2026-12-07: its split is every run's valid and test
RECIPE_NET = (48, 4, 8)  # the recipe's model.channels, model.blocks, epochs


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_size(size: str) -> tuple[int, tuple[int, int, int], int]:
    """'G[@CxBxE][+hK]' -> (games, (channels, blocks, epochs), history planes)."""
    size, _, history = size.partition("+h")
    games, _, net = size.partition("@")
    return int(games), tuple(int(x) for x in net.split("x")) if net else RECIPE_NET, int(history or 0)


def net_name(net: tuple[int, int, int], history: int) -> str:
    return ("{}x{}, {} epochs".format(*net) + (" (the recipe's)" if net == RECIPE_NET else "")
            + (f"; the last {history} moves' planes" if history else ""))


@torch.no_grad()
def agreement(run_dir: Path, test) -> np.ndarray:
    """1 where the run's likeliest legal move is GNU Go's, else 0, per test position."""
    model = open_run(run_dir, device="cpu").module.eval()
    hits = []
    for start in range(0, len(test), 256):
        items = [test[i] for i in range(start, min(start + 256, len(test)))]
        planes = torch.stack([x["planes"] for x, _ in items])
        legal = torch.stack([x["legal"] for x, _ in items])
        best = model(planes=planes, legal=legal)["policy"].float().masked_fill(~legal, -1e9).argmax(-1)
        hits.extend((best == torch.stack([y["policy"] for _, y in items])).tolist())
    return np.asarray(hits, dtype=float)


def train_or_reuse(games: int, net: tuple[int, int, int], history: int, extra: dict, threads: str) -> tuple[Path, bool]:
    """The run's folder under ROOT, trained now unless a finished run is there; and whether it was trained now."""
    name = f"g{games}" if net == RECIPE_NET else f"g{games}-{net[0]}x{net[1]}x{net[2]}"
    out = ROOT / (f"{name}-h{history}" if history else name)
    if (out / "summary.json").is_file():
        log(f"{out.name}: reusing the run in {out}")
        return out, False
    sets = {"data.games": str(games), "data.gnugo_levels": "", "data.history": str(history), "grad_stats_every": "0",
            "threads": threads}
    if games > GAMES:
        sets["data.split_of"] = str(GAMES)
    if net != RECIPE_NET:
        sets.update({"model.channels": str(net[0]), "model.blocks": str(net[1]), "epochs": str(net[2])})
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train("games/go9-gnugo", sets={**sets, **extra}, out=str(out), callbacks=[])
    (out / "wall.txt").write_text(f"{time.perf_counter() - t0:.1f}\n")
    (out / "load.txt").write_text(f"{load0:.1f} {os.getloadavg()[0]:.1f}\n")
    return out, True


def main() -> None:
    from zoo_games.go_data import GoPositions, go9_gnugo

    sizes = [parse_size(s.strip()) for s in os.environ.get("GO_CURVE_SIZES", "300,1200,3000").split(",") if s.strip()]
    extra = dict(item.split("=", 1) for item in os.environ.get("GO_CURVE_SETS", "").split(",") if item)
    threads = os.environ.get("GO_CURVE_THREADS", "1")
    if any(games < GAMES for games, *_ in sizes):
        raise SystemExit(f"GO_CURVE_SIZES: at least {GAMES} games a run (the held-out games are those of {GAMES})")
    held = go9_gnugo(games=GAMES, gnugo_levels="")
    test = held.test
    groups = [r["group"] for r in test.rows]
    started = time.perf_counter()
    results, reused = [], []
    for games, net, history in sizes:
        out, fresh = train_or_reuse(games, net, history, extra, threads)
        if not fresh:
            reused.append(out.name)
        wall = float((out / "wall.txt").read_text()) if (out / "wall.txt").is_file() else float("nan")
        load = (out / "load.txt").read_text().split() if (out / "load.txt").is_file() else []
        summary = json.loads((out / "summary.json").read_text())
        count = json.loads((out / "config.json").read_text()).get("info", {}).get("labelled_train")
        hits = agreement(out, GoPositions(test.rows, history=history))  # the same positions, as this run reads them
        log(f"{out.name}: agreement {hits.mean():.3f} (the run's own test figure "
            f"{summary.get('test', {}).get('policy_accuracy', float('nan')):.3f}), {wall:.0f} s")
        results.append((games, (net, history), count, hits, wall, load))
    print("## games: what more GNU Go games buy (`games/go9-gnugo`)\n")
    print(f"Same held-out test positions for every row: {len(test)} positions of {len(set(groups))} games, the test "
          f"split of the first {GAMES} games of GNU Go level 1 against itself (9x9, komi 7; half after a random "
          f"opening of 2-10 moves). A run of more games keeps that split (data.split_of={GAMES}) and trains on every "
          f"later game too. The recipe's other defaults (the board's 8 symmetries as augmentation); the network is the "
          f"recipe's (48 channels, 4 residual blocks, 8 epochs) unless the row says otherwise; {threads} torch "
          "thread(s); no games played against GNU Go. Intervals: 95%, games resampled (2,000 resamples).\n")
    if reused:
        print(f"Runs trained before and reused from GO_CURVE_ROOT: {', '.join(reused)}.\n")
    if extra:
        print(f"**Smoke settings** `GO_CURVE_SETS={os.environ['GO_CURVE_SETS']}`: these figures mean nothing.\n")
    print("| games | training positions | network (channels x blocks, epochs; input) | move agreement with GNU Go (test) | "
          "vs the row above | train + eval s | load (1-min, start/end) |\n|---|---|---|---|---|---|---|")
    previous = None
    for games, net, count, hits, wall, load in results:
        mean, low, high = paired_bootstrap(hits, np.zeros_like(hits), groups=groups)
        versus = ""
        if previous is not None:
            diff, dlow, dhigh = paired_bootstrap(hits, previous, groups=groups)
            versus = f"{diff:+.3f} [{dlow:+.3f}, {dhigh:+.3f}]: {verdict(dlow, dhigh)}"
        print(f"| {games:,} | {count:,} | {net_name(*net)} | {mean:.3f} [{low:.3f}, {high:.3f}] | {versus} | "
              f"{'-' if wall != wall else f'{wall:.0f}'} | {' / '.join(load) or '-'} |")
        previous = hits
    points = sorted((count, float(hits.mean())) for _, net, count, hits, *_ in results if net == (RECIPE_NET, 0))
    if len(points) >= 2:
        x, y = np.log2([n for n, _ in points]), np.array([m for _, m in points])
        slope, intercept = np.polyfit(x, y, 1)
        print(f"\nThe recipe's network, board planes only: agreement gained per doubling of training positions, "
              f"row to row: {', '.join(f'{g:+.3f}' for g in np.diff(y) / np.diff(x))} (a line in log2 N: {slope:+.3f} a "
              "doubling).", end=" ")
        if slope > 0 and points[-1][1] < 0.40:
            need = 2 ** ((0.40 - intercept) / slope)
            print(f"If that held, 40% would take about {need:,.0f} training positions ({need / points[-1][0]:.0f}x "
                  "the largest run here); an extrapolation over few points, not a measurement.")
        else:
            print()
    log(f"done in {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
