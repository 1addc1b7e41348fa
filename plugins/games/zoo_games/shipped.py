"""The labelled data shipped with the plugin (zoo_games/resources/*.jsonl.gz, made by `python -m zoo_games.prepare`):
where each file lives, reading and writing it."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

RESOURCES = Path(__file__).parent / "resources"


def chess_resource(depth: int) -> Path:
    return RESOURCES / f"chess-stockfish-d{depth}.jsonl.gz"


def chess_labels_resource(cache_name: str) -> Path:
    """Stockfish labels shipped for the label cache named `cache_name` (its engine version and depth, e.g.
    stockfish-15.1-depth10.jsonl): the cache reads them first."""
    return RESOURCES / "labels" / f"{cache_name}.gz"


def go_resource(level: int) -> Path:
    return RESOURCES / f"go9-gnugo-level{level}.jsonl.gz"


def read_resource(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh]


def write_resource(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as raw:  # mtime 0: the same rows give the same bytes
        for row in rows:
            raw.write((json.dumps(row, separators=(",", ":")) + "\n").encode())
