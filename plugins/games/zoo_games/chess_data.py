"""Chess positions labelled by Stockfish, and users' PGN files.

Default data (games/chess-stockfish): positions from
- real games: walks through the opening book in Debian's pychess data (pychess_book.bin, a polyglot book of
  moves from real games, followed by weight), each continued as an *engine playout*: Stockfish's best move
  (its label of the position), or with probability `data.explore` a random legal move;
- puzzles and studies: every position of the PGN files in pychess's learn/ folder (lichess practice studies,
  composed mates in 4), except the mate-in-2 and mate-in-3 puzzles, which are kept for evaluation;
- random playouts: a random number of uniformly random moves from the start.
Every position is analysed by Stockfish to `data.depth` (best move, principal variation, score), in `data.workers`
processes (chess_labels.py: walks seeded by (seed, walk), so the positions are the same whatever the number of
workers). Labels are cached one JSON line per position under $ZOO_CACHE/games/chess/, in a file named by the
engine's version and the depth, written as they come: labelling runs once, and a job stopped midway continues
where it was. A game's positions stay in one split (zoo.data.grouped_split).
Training also takes the positions along each training label's principal variation (`data.pv_plies` of them,
labelled by the next move of that variation; the engine's shallower view of them), never valid or test.
"""
from __future__ import annotations

import io
import logging
import os
import re
import sys
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
from torch.utils.data import Dataset

from zoo import DataMissing, ZooError
from zoo.config import Range
from zoo.data import DataBundle, grouped_split
from zoo.paths import cache_dir

from .chess_labels import LabelCache, Labeller, default_workers, label_path, labelled_rows, show_progress  # noqa: F401 - LabelCache, label_path: re-exported

HELD_OUT_PUZZLES = ("mate_in_2.pgn", "mate_in_3.pgn")


# -- the pychess data ------------------------------------------------------------------------------
def pychess_dir() -> Path:
    """/usr/share/pychess of Debian's pychess package: $ZOO_PYCHESS_DIR, the installed package, or the copy
    `python -m zoo_games.pychess_data` unpacks under $ZOO_CACHE/games/pychess."""
    candidates = [os.environ.get("ZOO_PYCHESS_DIR"), "/usr/share/pychess",
                  str(cache_dir("games", "pychess") / "usr" / "share" / "pychess")]
    for c in candidates:
        if c and (Path(c) / "learn" / "puzzles").is_dir():
            return Path(c)
    raise DataMissing("the PGN files of Debian's pychess package are missing: run `python -m zoo_games.pychess_data` "
                      "(apt-get download pychess && dpkg -x into $ZOO_CACHE/games/pychess; installing the package "
                      "itself pulls in 56 others), or set ZOO_PYCHESS_DIR to a copy of /usr/share/pychess")


# -- reading PGN files -----------------------------------------------------------------------------
@contextmanager
def quiet_pgn():
    """python-chess logs a PGN's errors; we report them ourselves, one line per bad game."""
    logger = logging.getLogger("chess.pgn")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def read_games(path: Path, strict: bool = False, quiet: bool = False) -> list[Any]:
    """The games of a PGN file. A game with an illegal move or a bad FEN is left out with one warning line that
    names the file, the game and the move (the other games are kept; `quiet`: no warning); with `strict`, that
    is an error."""
    import chess.pgn

    games = []
    handle = io.StringIO(pgn_text(path))
    with handle, quiet_pgn():
        number = 0
        while True:
            try:
                game = chess.pgn.read_game(handle)
            except Exception as exc:  # noqa: BLE001 - python-chess fails inside some malformed games
                number += 1
                message = f"{path}, game {number}: unreadable ({type(exc).__name__}: {exc})"
                if strict:
                    raise ZooError(message) from None
                if not quiet:
                    warn(message + "; game left out")
                continue
            if game is None:
                break
            number += 1
            if game.errors:
                plies = len(list(game.mainline_moves()))
                names = f"{game.headers.get('White', '?')} - {game.headers.get('Black', '?')}"
                error = str(game.errors[0]).split(" in ")[0]
                where = (f"move {plies // 2 + 1}{'.' if plies % 2 == 0 else '...'}"
                         if "illegal" in error or "ambiguous" in error else "its FEN header")
                message = f"{path}, game {number} ({names}): {where}: {error}"
                if strict:
                    raise ZooError(message)
                if not quiet:
                    warn(message + "; game left out")
                continue
            games.append(game)
    return games


PGN_SIGNS = re.compile(r'^\s*\[\w+\s+"|(?:^|\s)1\.\s*(?:[KQRBN]?[a-h]?[1-8]?x?[a-h][1-8]|O-O)', re.M)


def text_of(path: Path, what: str) -> str:
    """A text file's contents, refused in one line when it cannot be read or holds binary data (NUL bytes or
    control characters); UTF-8, else ISO 8859-1 (PGN's own character set)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ZooError(f"{path}: cannot read ({exc.strerror})") from None
    sample = raw[:65536]
    control = sum(b < 9 or 13 < b < 32 or b == 127 for b in sample)
    if b"\0" in sample or control > 0.01 * len(sample):
        raise ZooError(f"{path}: not {what} (binary data)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def pgn_text(path: Path) -> str:
    """A PGN file's text, refused in one line when it is binary or has neither a tag pair ([Event "..."]) nor a
    numbered first move (1. e4): python-chess reads prose or noise as a game without moves, silently."""
    text = text_of(path, "a PGN file")
    if text.strip() and not PGN_SIGNS.search(text):
        raise ZooError(f"{path}: not a PGN file (no tag pair like [Event \"...\"] and no numbered move like 1. e4)")
    return text


ENGINE_COMMENT = re.compile(r"(?<![\w.])([+-]?\d+\.\d+)/\d+")  # "+0.31/12": pawns from White's side, at depth 12


def node_eval(node) -> float | None:
    """An engine's evaluation after a move, in centipawns from White's point of view: [%eval ...] or '+0.31/12'."""
    score = node.eval()
    if score is not None:
        return float(score.white().score(mate_score=10000))
    found = ENGINE_COMMENT.search(node.comment or "")
    return float(found.group(1)) * 100 if found else None


# -- the default positions -------------------------------------------------------------------------
def puzzle_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "learn").rglob("*.pgn") if p.name not in HELD_OUT_PUZZLES)


@lru_cache(maxsize=4)
def puzzle_games(root: Path) -> list[tuple[str, Any]]:
    """(group, game) of every training puzzle and study (read once per process)."""
    return [(f"{path.name}#{i}", game) for path in puzzle_files(root) for i, game in enumerate(read_games(path, quiet=True))]


def mate_puzzles(root: Path | None = None) -> dict[int, list[tuple[str, list[str]]]]:
    """The held-out mates: {2: [(fen, solution moves in UCI), ...], 3: [...]}."""
    root = root or pychess_dir()
    out: dict[int, list[tuple[str, list[str]]]] = {}
    for n, name in ((2, "mate_in_2.pgn"), (3, "mate_in_3.pgn")):
        out[n] = []
        for game in read_games(root / "learn" / "puzzles" / name, quiet=True):
            out[n].append((game.board().fen(), [m.uci() for m in game.mainline_moves()]))
    return out


def plan_positions(count: int, rng, puzzle_share: float, random_share: float) -> list[tuple[str, str, str]]:
    """(fen, group, source) of the positions that do not depend on labels, in order: every position of each
    puzzle's and study's main line (games in a seeded order, until `puzzle_share` of `count`), then
    `random_share` of `count` random playouts (a random number of uniformly random moves from the start).
    Positions seen before and finished games are left out."""
    import chess

    planned: list[tuple[str, str, str]] = []
    seen: set[str] = set()

    def add(board, group: str, source: str) -> None:
        fen = board.fen()
        if fen not in seen and not board.is_game_over():
            seen.add(fen)
            planned.append((fen, group, source))

    games = puzzle_games(pychess_dir())
    for k in rng.permutation(len(games)):
        group, game = games[int(k)]
        if len(planned) >= puzzle_share * count:
            break
        board = game.board()
        add(board, group, "puzzles")
        for move in game.mainline_moves():
            board.push(move)
            add(board, group, "puzzles")
    puzzles, target_random, walk = len(planned), int(random_share * count), 0
    while len(planned) - puzzles < target_random:
        board = chess.Board()
        for _ in range(int(rng.integers(2, 60))):
            moves = list(board.legal_moves)
            if not moves:
                break
            board.push(moves[int(rng.integers(len(moves)))])
        add(board, f"random#{walk}", "random playouts")
        walk += 1
    return planned


def gather(count: int, depth: int, seed: int, explore: float = 0.15, playout_plies: int = 60,
           random_share: float = 0.1, puzzle_share: float = 0.25, labeller: Labeller | None = None,
           progress: bool = True, workers: int = 1) -> list[dict]:
    """`count` labelled positions (dicts with fen, move, cp, mate, pv, group, source), the same for a seed whatever
    the number of `workers` (processes, each with its own Stockfish): the puzzles and random playouts first
    (plan_positions), then engine playouts from the opening book (chess_labels.walk_rows), each walk seeded by
    (seed, walk) alone and assembled in walk order."""
    rng = np.random.default_rng(seed)
    labeller = labeller or Labeller(depth)
    try:
        planned = plan_positions(count, rng, puzzle_share, random_share)
        rows = labelled_rows(planned, count, seed, pychess_dir() / "pychess_book.bin", explore, playout_plies,
                             labeller, workers=workers)
        return show_progress(rows, count, enabled=progress)
    finally:
        labeller.close()


def pv_positions(rows: list[dict], plies: int) -> list[dict]:
    """Positions along each label's principal variation, labelled by the variation's next move and the score
    (its sign turned each ply): more training positions at no engine cost."""
    import chess

    out = []
    for row in rows:
        pv = row.get("pv") or []
        board = chess.Board(row["fen"])
        cp, mate = row.get("cp"), row.get("mate")
        for k in range(min(plies, len(pv) - 1)):
            board.push(chess.Move.from_uci(pv[k]))
            if board.is_game_over():
                break
            sign = -1 if k % 2 == 0 else 1
            out.append({"fen": board.fen(), "move": pv[k + 1], "cp": None if cp is None else sign * cp,
                        "mate": None if mate is None else sign * mate, "group": row["group"], "source": "pv"})
    return out


def row_value(row: dict) -> float:
    from .chess_moves import cp_to_value

    if row.get("mate") is not None:
        return 1.0 if row["mate"] > 0 else -1.0
    if row.get("cp") is not None:
        return cp_to_value(row["cp"])
    return float(row.get("value", 0.0))


class ChessPositions(Dataset):
    """(fen, best move, value) rows; items are ({planes, legal}, {policy: move index, value})."""

    def __init__(self, rows: list[dict]):
        self.fens = [r["fen"] for r in rows]
        self.moves = [r["move"] for r in rows]
        self.values = [row_value(r) for r in rows]
        self.sources = [r.get("source", "") for r in rows]

    def __len__(self) -> int:
        return len(self.fens)

    def __getitem__(self, i: int):
        import chess

        from .chess_moves import encode_board, legal_mask, move_index

        board = chess.Board(self.fens[i])
        move = chess.Move.from_uci(self.moves[i])
        x = {"planes": torch.from_numpy(encode_board(board)), "legal": torch.from_numpy(legal_mask(board))}
        return x, {"policy": torch.tensor(move_index(move, board.turn)), "value": torch.tensor(self.values[i])}


def bundle(train_rows, valid_rows, test_rows, info: dict) -> DataBundle:
    from .chess_moves import ACTIONS, PLANES, POLICY_PLANES

    if not train_rows or not valid_rows:
        raise ZooError("chess: too few games to make a train and a valid split (need at least 3 games)")
    info = {**info, "num_classes": ACTIONS, "target_dims": 1}
    return DataBundle(train=ChessPositions(train_rows), valid=ChessPositions(valid_rows),
                      test=ChessPositions(test_rows) if test_rows else None,
                      model_args={"in_planes": PLANES, "height": 8, "width": 8, "num_actions": ACTIONS,
                                  "policy_planes": POLICY_PLANES},
                      info=info)


def split_rows(rows: list[dict], seed: int) -> tuple[list[dict], list[dict], list[dict]]:
    parts = grouped_split([r["group"] for r in rows], (0.8, 0.1, 0.1), seed)
    return tuple([rows[i] for i in part] for part in parts)  # type: ignore[return-value]


def chess_stockfish(data=None, seed: int = 0, positions: int = 12000, depth: int = 10, explore: float = 0.15,
                    random_share: float = 0.1, puzzle_share: float = 0.25, pv_plies: int = 4, play_simulations: int = 32,
                    mate_k: int = 3, stockfish_skills: str = "0,1,2,3", workers: Annotated[int, Range(0)] = 0,
                    train_positions: Annotated[int, Range(0)] = 0, split_of: Annotated[int, Range(0)] = 0) -> DataBundle:
    """Stockfish-labelled positions (see the module's docstring), or a user's PGN files with --data. `workers`:
    labelling processes, each with its own Stockfish (0: one per core; the positions are the same whatever it is).
    `train_positions`: keep only the first that many labelled training positions, games in the split's shuffled
    order (0: all); valid and test are unchanged, so runs with different amounts of data are scored on the same positions.
    `split_of` (fewer than `positions`; 0: off): valid and test are those of data.positions=split_of (e.g. the 12,000
    shipped), and training takes every other position of the `positions` whose game and FEN are in neither (a
    bigger set is gathered in another order, so its own split would put held-out games in training): runs on more
    data are scored on the same held-out positions."""
    skills = [int(s) for s in str(stockfish_skills).split(",") if s.strip()]
    info = {"play_simulations": play_simulations, "mate_k": mate_k, "stockfish_skills": skills, "depth": depth}
    if data is not None:
        return bundle(*user_games(Path(data), seed), {**info, "source": "pgn"})
    if positions < 30:
        raise ZooError(f"--set data.positions: at least 30 positions, got {positions}")
    rows = default_rows(positions, depth, seed, explore, random_share, puzzle_share, workers or default_workers())
    if split_of:
        if not 30 <= split_of < positions:
            raise ZooError(f"--set data.split_of: at least 30 and fewer than data.positions={positions}, got {split_of}")
        _, valid, test = split_rows(default_rows(split_of, depth, seed, explore, random_share, puzzle_share,
                                                 workers or default_workers()), seed)
        train = held_out_removed(rows, valid + test, seed)
    else:
        train, valid, test = split_rows(rows, seed)
    if train_positions:
        if train_positions > len(train):
            raise ZooError(f"--set data.train_positions: at most the {len(train)} training positions of "
                           f"data.positions={positions}, got {train_positions}")
        train = train[:train_positions]  # games come in the split's shuffled order: a random subset of games
    # a variation can run into a held-out position (39 of the 35,613 for the 12,000's default split)
    extra = held_out_removed(pv_positions(train, pv_plies), valid + test, None)
    info = {**info, "source": "stockfish", "labelled_train": len(train)}
    return bundle(train + extra, valid, test, info)


def held_out_removed(rows: list[dict], held_out: list[dict], seed: int | None) -> list[dict]:
    """The rows whose game (group) and FEN are those of no held-out row; with a seed, whole games in a seeded
    shuffled order (as a split's), else in their order."""
    groups, fens = {r["group"] for r in held_out}, {r["fen"] for r in held_out}
    kept = [r for r in rows if r["group"] not in groups and r["fen"] not in fens]
    if seed is None:
        return kept
    names = list(dict.fromkeys(r["group"] for r in kept))
    rank = {names[k]: i for i, k in enumerate(np.random.default_rng(seed).permutation(len(names)))}
    return sorted(kept, key=lambda r: rank[r["group"]])  # stable: a game's positions keep their order


def default_rows(positions: int, depth: int, seed: int, explore: float, random_share: float,
                 puzzle_share: float, workers: int = 1) -> list[dict]:
    """The labelled default positions: those shipped with the plugin (zoo_games/resources, made by
    `python -m zoo_games.prepare chess` with the default settings) when they are what is asked for, else gathered
    and labelled here by `workers` processes (Stockfish needed; labels cached)."""
    from .shipped import chess_resource, read_resource

    defaults = (seed, explore, random_share, puzzle_share) == (0, 0.15, 0.1, 0.25)
    shipped = read_resource(chess_resource(depth)) if defaults else []
    if len(shipped) >= positions:
        return shipped[:positions]
    return gather(positions, depth, seed, explore=explore, random_share=random_share, puzzle_share=puzzle_share,
                  workers=workers)


# -- users' own games --------------------------------------------------------------------------------
def pgn_paths(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pgn")
        if not found:
            raise ZooError(f"--data {path}: no .pgn files in this folder")
        return found
    if path.suffix.lower() != ".pgn":
        raise ZooError(f"--data {path}: expected a .pgn file or a folder of them")
    return [path]


RESULTS = {"1-0": 1.0, "0-1": -1.0, "1/2-1/2": 0.0}


def user_games(path: Path, seed: int) -> tuple[list[dict], list[dict], list[dict]]:
    """Positions of a user's games: the move played is the policy label; the value is the engine's evaluation
    in the move's comment when there is one ([%eval 0.35] or +0.35/12), else the game's result for the side to
    move (a game without a result gives no value: 0)."""
    from .chess_moves import cp_to_value

    rows = []
    for file in pgn_paths(path):
        for i, game in enumerate(read_games(file)):
            result = RESULTS.get(game.headers.get("Result", "*"))
            board = game.board()
            for node in game.mainline():
                move = node.move
                white_cp = node_eval(node)  # the evaluation after this move
                if white_cp is not None:
                    value = cp_to_value(white_cp if board.turn else -white_cp)
                elif result is not None:
                    value = result if board.turn else -result
                else:
                    value = 0.0
                rows.append({"fen": board.fen(), "move": move.uci(), "value": value, "group": f"{file}#{i}",
                             "source": "pgn"})
                board.push(move)
    if not rows:
        raise ZooError(f"--data {path}: no moves in its games")
    return split_rows(rows, seed)


def read_fen(text: str, info=None):
    """A FEN (the reader of `zoo predict`), or a file holding one, refused in one line when illegal; a folder or a
    path that is not there is never read as a FEN."""
    from zoo.predictor import missing_file

    text = str(text)
    try:
        path = Path(text)
        if path.is_dir():
            raise ZooError(f"{text}: a folder, not a FEN")
        if path.is_file():
            found = fen_lines(path)
            if len(found) != 1:
                raise ZooError(f"{text}: {len(found)} FENs in it, where one was expected")
            return found[0][1]
    except OSError:  # too long to be a file name: text
        pass
    missing = missing_file(text)
    if missing:
        raise ZooError(f"{text}: {missing}")
    return fen_board(text)


def fen_board(text: str):
    """A FEN's board, refused in one line when the FEN is illegal."""
    import chess

    try:
        board = chess.Board(text.strip())
    except ValueError as exc:
        raise ZooError(f"illegal FEN {text.strip()!r}: {exc}") from None
    status = board.status()
    if status != chess.STATUS_VALID:
        problems = [name.lower().replace("_", " ") for name, flag in chess.Status.__members__.items()
                    if flag and status & flag]
        raise ZooError(f"illegal FEN {text.strip()!r}: {', '.join(problems)}")
    return board


def fen_lines(path: Path) -> list[tuple[int, Any]]:
    """(line number, board) for each FEN of a text file (one a line; empty lines and # comments skipped); the
    first bad line is one error naming it."""
    found = []
    for number, line in enumerate(text_of(path, "a file of FENs").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            found.append((number, fen_board(line)))
        except ZooError as exc:
            raise ZooError(f"{path}, line {number}: {exc}") from None
    if not found:
        raise ZooError(f"{path}: no FEN in it")
    return found
