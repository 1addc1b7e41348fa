"""`python -m zoo_games.prepare chess|go`: make the default labelled data once and ship it with the plugin.

chess: gathers and labels data.positions positions with Stockfish at data.depth (resumable: the label cache under
$ZOO_CACHE/games/chess keeps every label as it comes) and writes zoo_games/resources/chess-stockfish-d<depth>.jsonl.gz,
which games/chess-stockfish reads, so training and the tests need neither Stockfish nor an hour of labelling.
chess-labels: the same gathering of --positions positions, but ships only their labels, under
zoo_games/resources/labels/ (named like the label cache: engine version and depth), which the cache reads first:
data.positions=N up to that many then gathers the same positions without analysing them (Stockfish is only asked
its version: the labels serve that engine and depth alone; with several workers, the few walks computed ahead and
then not needed are analysed).
go: plays data.games games of GNU Go (cached under $ZOO_CACHE/games/go) and writes
zoo_games/resources/go9-gnugo-level<level>.jsonl.gz.
"""
from __future__ import annotations

import argparse
import time

from .shipped import chess_resource, go_resource, read_resource, write_resource


def children_cpu() -> float:
    """CPU seconds of the child processes waited for (the labelling workers, and the engines they waited for)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m zoo_games.prepare", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["chess", "chess-labels", "go"])
    parser.add_argument("--positions", type=int, default=12000, help="chess: positions to label")
    parser.add_argument("--depth", type=int, default=10, help="chess: Stockfish depth")
    parser.add_argument("--workers", type=int, default=0,
                        help="chess: labelling processes, each with its own Stockfish (default 0: one per core)")
    parser.add_argument("--games", type=int, default=300, help="go: games to play")
    parser.add_argument("--level", type=int, default=1, help="go: GNU Go level")
    args = parser.parse_args(argv)
    started = time.time()
    if args.what == "chess-labels":
        from .chess_data import default_workers, gather, label_path
        from .shipped import chess_labels_resource

        rows = gather(args.positions, args.depth, seed=0, workers=args.workers or default_workers())
        name = label_path(args.depth, rows[0]["engine"]).name  # the cache these labels came through
        keep = ("fen", "move", "pv", "cp", "mate", "depth", "engine", "seconds")
        labels = {r["fen"]: {k: r.get(k) for k in keep} for r in rows}
        write_resource(chess_labels_resource(name), list(labels.values()))
        print(f"{len(labels)} labels of {len(rows)} positions -> {chess_labels_resource(name)}")
    elif args.what == "chess":
        from .chess_data import default_workers, gather

        workers = args.workers or default_workers()
        cpu = time.process_time(), children_cpu()
        rows = gather(args.positions, args.depth, seed=0, workers=workers)
        keep = ("fen", "move", "pv", "cp", "mate", "depth", "engine", "seconds", "group", "source")
        write_resource(chess_resource(args.depth), [{k: r.get(k) for k in keep} for r in rows])
        used = time.process_time() - cpu[0] + children_cpu() - cpu[1]
        print(f"{len(rows)} positions, {sum(r['seconds'] for r in rows) / 60:.1f} min of Stockfish, {workers} "
              f"workers: {(time.time() - started) / 60:.1f} min wall, {used / 60:.1f} min CPU (this process, its "
              f"workers and their engines) -> {chess_resource(args.depth)}")
    else:
        from .go_data import gnugo_games

        # the games shipped already are kept, not played again: a bigger file extends the smaller one
        games = gnugo_games(args.games, args.level, known=read_resource(go_resource(args.level)))
        write_resource(go_resource(args.level), games)
        print(f"{len(games)} games ({(time.time() - started) / 60:.1f} min now) -> {go_resource(args.level)}")


if __name__ == "__main__":
    main()
