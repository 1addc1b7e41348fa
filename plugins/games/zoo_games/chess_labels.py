"""Stockfish labels for chess positions: cached on disk, made in parallel worker processes.

A label is a function of the position (its FEN), the engine and the depth: each position is analysed from its FEN
alone, after `ucinewgame` (Stockfish's hash and history tables cleared), so the same position gets the same label
whichever process analyses it and in whatever order. The cache is one JSON line per position in
$ZOO_CACHE/games/chess/<engine>-depth<depth>.jsonl (the engine's UCI name, e.g. stockfish-15.1-depth10.jsonl),
appended and flushed as each label comes under a lock: a job killed midway resumes, and concurrent workers share
what the others have labelled (a miss re-reads what was appended since). Labels shipped with the plugin for the
same engine and depth (zoo_games/resources/labels/<the cache's file name>.gz, written by `python -m zoo_games.prepare
chess-labels`) are read first, beneath the cache: the positions they cover are never analysed again.

Engine playouts ("walks") are independent of each other: walk k draws its moves from its own random stream,
seeded by (seed, k), so walks can run in worker processes, each with its own Stockfish, and be put back in walk
order: the positions gathered for a seed are the same whatever the number of workers.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import numpy as np

from zoo.paths import cache_dir


class LabelCache:
    """One JSON line per analysed position, appended and flushed as each label comes (a lock keeps concurrent
    writers apart); reading skips a line cut short by a kill, and a miss first reads what other processes have
    appended since. The labels shipped under the same file name (shipped.chess_labels_resource) come first."""

    def __init__(self, path: Path):
        from .shipped import chess_labels_resource, read_resource

        self.path = Path(path)
        self.labels: dict[str, dict] = {row["fen"]: row for row in read_resource(chess_labels_resource(self.path.name))}
        self.offset = 0
        self.refresh()

    def refresh(self) -> None:
        """Read the lines appended since the last read (whole lines only: a line being written is read later)."""
        try:
            with open(self.path, "rb") as fh:
                fcntl.flock(fh, fcntl.LOCK_SH)
                fh.seek(self.offset)
                chunk = fh.read()
                fcntl.flock(fh, fcntl.LOCK_UN)
        except FileNotFoundError:
            return
        end = chunk.rfind(b"\n") + 1
        for line in chunk[:end].splitlines():
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue  # the last line of a job killed mid-write
            if isinstance(row, dict) and "fen" in row:
                self.labels[row["fen"]] = row
        self.offset += end

    def __contains__(self, fen: str) -> bool:
        return self.get(fen) is not None

    def get(self, fen: str) -> dict | None:
        row = self.labels.get(fen)
        if row is None:
            self.refresh()
            row = self.labels.get(fen)
        return row

    def add(self, row: dict) -> None:
        self.labels[row["fen"]] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)


def label_path(depth: int, engine: str) -> Path:
    """The cache of an engine's labels at a depth: its UCI name ("Stockfish 15.1") is part of the file name."""
    slug = re.sub(r"[^a-z0-9.]+", "-", engine.lower()).strip("-") or "engine"
    return cache_dir("games", "chess") / f"{slug}-depth{depth}.jsonl"


class Labeller:
    """Stockfish labels through the cache: a position already labelled is not analysed again. Without a cache, the
    cache of the engine's version at `depth` (label_path), which starts the engine to ask its name."""

    def __init__(self, depth: int, cache: LabelCache | None = None, timeout: float = 30.0):
        self.depth = depth
        self._cache = cache
        self.timeout = timeout
        self.engine = None
        self.analysed = 0

    def _engine(self):
        if self.engine is None:
            from .engines import Stockfish
            self.engine = Stockfish(timeout=self.timeout)
        return self.engine

    @property
    def cache(self) -> LabelCache:
        if self._cache is None:
            self._cache = LabelCache(label_path(self.depth, self._engine().name()))
        return self._cache

    def label(self, board) -> dict:
        """The label of a board's position (its FEN: the moves that led there are not sent)."""
        import chess

        fen = board.fen()
        row = self.cache.get(fen)
        if row is not None:
            return row
        started = time.perf_counter()
        found = self._engine().analyse(chess.Board(fen), self.depth, new_game=True)
        row = {"fen": fen, **found, "engine": self.engine.name(),
               "seconds": round(time.perf_counter() - started, 4)}
        self.cache.add(row)
        self.analysed += 1
        return row

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None


# -- engine playouts -------------------------------------------------------------------------------
def walk_rows(index: int, seed: int, book, labeller: Labeller, explore: float, plies: int) -> Iterator[dict]:
    """The labelled positions of walk `index`: moves from the opening book (drawn by weight) while it has the
    position, then an engine playout: the label's move, or with probability `explore` a random legal move. Its
    random stream is seeded by (seed, index) alone."""
    import chess

    rng = np.random.default_rng([seed, index])
    board, group, in_book = chess.Board(), f"book#{index}", True
    for _ in range(plies):
        if board.is_game_over():
            break
        entries = list(book.find_all(board)) if in_book else []
        label = labeller.label(board)
        if entries:
            weights = np.array([e.weight for e in entries], dtype=float) + 1e-9
            move, source = entries[int(rng.choice(len(entries), p=weights / weights.sum()))].move, "book"
        else:
            in_book, source = False, "engine playouts"
            moves = list(board.legal_moves)
            move = moves[int(rng.integers(len(moves)))] if rng.random() < explore else chess.Move.from_uci(label["move"])
        yield {**label, "group": group, "source": source}
        board.push(move)


# -- the worker processes --------------------------------------------------------------------------
WORKER: dict = {}


def _start_worker(depth: int, cache_path: str | None, timeout: float, book_path: str) -> None:
    from multiprocessing.util import Finalize

    import chess.polyglot

    cache = LabelCache(Path(cache_path)) if cache_path else None
    WORKER["labeller"] = Labeller(depth, cache, timeout)
    WORKER["book"] = chess.polyglot.open_reader(book_path)
    # the engine is closed when the worker ends, before Python waits for threads (python-chess's engine thread
    # would otherwise keep the worker from ending: atexit runs too late)
    Finalize(None, WORKER["labeller"].close, exitpriority=10)


def _label_fens(fens: list[str]) -> tuple[list[dict], int]:
    import chess

    labeller = WORKER["labeller"]
    before = labeller.analysed
    return [labeller.label(chess.Board(fen)) for fen in fens], labeller.analysed - before


def _walk(index: int, seed: int, explore: float, plies: int) -> tuple[list[dict], int]:
    labeller = WORKER["labeller"]
    before = labeller.analysed
    rows = list(walk_rows(index, seed, WORKER["book"], labeller, explore, plies))
    return rows, labeller.analysed - before


# -- gathering: planned positions, then walks, in order ---------------------------------------------
def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def labelled_rows(planned: list[tuple[str, str, str]], count: int, seed: int, book_path: Path, explore: float,
                  plies: int, labeller: Labeller, workers: int = 1, chunk: int = 32) -> Iterator[tuple[dict, int]]:
    """(row, positions analysed by Stockfish so far) for the planned positions (fen, group, source), in order,
    then for the positions of walks 0, 1, 2... not seen before, until `count` rows: the same rows whatever
    `workers` is (walks are computed ahead in worker processes, and assembled in walk order)."""
    seen: set[str] = set()
    done = 0
    if workers <= 1:
        import chess
        import chess.polyglot

        for fen, group, source in planned:
            if done >= count:
                return
            seen.add(fen)
            done += 1
            yield {**labeller.label(chess.Board(fen)), "group": group, "source": source}, labeller.analysed
        with chess.polyglot.open_reader(book_path) as book:
            index = 0
            while done < count:
                for row in walk_rows(index, seed, book, labeller, explore, plies):
                    if row["fen"] not in seen:
                        seen.add(row["fen"])
                        done += 1
                        yield row, labeller.analysed
                        if done >= count:
                            return
                index += 1
        return

    import multiprocessing

    # fork where there is one (as torch's DataLoader does): the workers start at once, without importing the main
    # module again; they use no torch
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    cache_path = str(labeller._cache.path) if labeller._cache is not None else None
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method), initializer=_start_worker,
                               initargs=(labeller.depth, cache_path, labeller.timeout, str(book_path)))
    analysed = 0
    try:
        planned = planned[:count]
        chunks = [(pool.submit(_label_fens, [p[0] for p in planned[i:i + chunk]]), planned[i:i + chunk])
                  for i in range(0, len(planned), chunk)]
        ahead = 2 * workers  # walks in flight
        walks: list[Future] = [pool.submit(_walk, k, seed, explore, plies) for k in range(ahead)]
        for future, part in chunks:
            labels, fresh = future.result()
            analysed += fresh
            for label, (fen, group, source) in zip(labels, part):
                seen.add(fen)
                done += 1
                yield {**label, "group": group, "source": source}, analysed
        index = 0
        while done < count:
            rows, fresh = walks[index].result()
            analysed += fresh
            walks.append(pool.submit(_walk, len(walks), seed, explore, plies))
            for row in rows:
                if row["fen"] not in seen:
                    seen.add(row["fen"])
                    done += 1
                    yield row, analysed
                    if done >= count:
                        break
            index += 1
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def show_progress(rows: Iterator[tuple[dict, int]], count: int, enabled: bool = True, every: float = 30.0,
                  stream=None) -> list[dict]:
    """The rows, with the progress shown in this process: a rich bar with the time left on a terminal, else a
    line every `every` seconds with the time left at the pace so far."""
    from zoo.progress import track

    stream = stream or sys.stderr
    out: list[dict] = []
    analysed = 0
    started = last = time.perf_counter()
    items = track(rows, "chess positions", total=count, stream=stream, lines=False) if enabled else rows
    for row, analysed in items:
        out.append(row)
        now = time.perf_counter()
        if enabled and not stream.isatty() and now - last > every:
            last, spent = now, now - started
            left = spent / len(out) * (count - len(out))  # at the pace so far (cached labels come faster)
            print(f"chess positions: {len(out)}/{count} ({analysed} analysed by stockfish, {spent:.0f} s, "
                  f"about {left / 60:.0f} min left)", file=stream, flush=True)
    return out
