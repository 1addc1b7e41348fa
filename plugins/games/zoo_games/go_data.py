"""9x9 Go positions labelled by GNU Go (Debian `gnugo`, over GTP).

Games of GNU Go against itself: half from the empty board (a new random seed each game), half after a random
opening of 2 to 10 random legal moves. Every position after the opening is labelled with the move GNU Go chose
there (`data.level`) and, as its value, the game's result for the side to move (GNU Go's final_score, area
scoring, komi 7). Our rules module replays every move and must agree it is legal. Games are cached one JSON
line each under $ZOO_CACHE/games/go/, so they are played once and an interrupted job continues; a game's
positions stay in one split. GNU Go's seed changes little: from the empty board it plays the same game again and
again (of the 1,500 such games that ship, 491 are distinct), so a training position whose board, or one of its 8
turns and mirrors, is also that of a held-out position is left out of training, whichever game it comes from.
"""
from __future__ import annotations

import json
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
from torch.utils.data import Dataset

from zoo import ZooError
from zoo.config import Range
from zoo.data import DataBundle, grouped_split
from zoo.paths import cache_dir

from .go_rules import Go


def parse_score(text: str) -> float:
    """GNU Go's final_score ('B+3.5', 'W+2.5', '0') as Black minus White."""
    t = text.strip().upper()
    if t in ("0", "DRAW"):
        return 0.0
    try:
        return float(t[2:]) * (1 if t[0] == "B" else -1)
    except (ValueError, IndexError):
        raise ZooError(f"gnugo gave a score that is not one: {text!r}") from None


def play_game(engine, index: int, size: int = 9, max_moves: int = 162) -> dict:
    """One game of GNU Go against itself (after a random opening for odd `index`), as actions and its score."""
    game = Go(size, max_moves=max_moves)
    rng = np.random.default_rng(10_000 + index)
    engine.clear()
    engine.send(f"set_random_seed {index}")
    state = game.initial()
    opening: list[int] = []
    if index % 2 == 1:
        for _ in range(int(rng.integers(2, 11))):
            moves = np.flatnonzero(game.legal(state)[:-1])
            action = int(rng.choice(moves))
            engine.play("black" if state[1] == 1 else "white", game.action_name(action))
            opening.append(action)
            state = game.next(state, action)
    labelled: list[int] = []
    resigned = None
    while not game.over(state):
        colour = "black" if state[1] == 1 else "white"
        vertex = engine.genmove(colour)
        if vertex == "RESIGN":
            resigned = state[1]
            break
        action = game.parse_vertex(vertex)
        if not game.legal(state)[action]:
            raise ZooError(f"gnugo played {vertex} in game {index}, which our rules call illegal:\n{game.render(state)}")
        labelled.append(action)
        state = game.next(state, action)
    score = -resigned * 100.0 if resigned is not None else parse_score(engine.send("final_score"))
    return {"index": index, "opening": opening, "moves": labelled, "score": score}


def games_path(level: int, size: int) -> Path:
    return cache_dir("games", "go") / f"gnugo-level{level}-{size}x{size}.jsonl"


def gnugo_games(count: int, level: int, size: int = 9, progress: bool = True, known: list[dict] = ()) -> list[dict]:
    """`count` games (cached; only the missing ones are played); `known`: games already at hand (the shipped ones),
    not played again."""
    from .engines import GnuGo

    path = games_path(level, size)
    games: dict[int, dict] = {row["index"]: row for row in known}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            games[row["index"]] = row
    missing = [i for i in range(count) if i not in games]
    if missing:
        started = last = time.perf_counter()
        with GnuGo(level=level, size=size) as engine:
            for n, i in enumerate(missing):
                row = play_game(engine, i, size)
                row["seconds"] = round(time.perf_counter() - started, 2)
                games[i] = row
                with open(path, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                if progress and time.perf_counter() - last > 30:
                    last = time.perf_counter()
                    print(f"go games: {n + 1}/{len(missing)} played by gnugo level {level} "
                          f"({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return [games[i] for i in range(count)]


def board_key(state, size: int = 9) -> tuple:
    """What makes two positions the same for the network's move: stones, side to move and ko point, up to the
    board's 8 symmetries (training turns boards by them, so a turned held-out board would be trained on)."""
    board, colour, ko = np.asarray(state[0], dtype=np.int8), state[1], state[2]
    return min((board[perm].tobytes(), colour, int(where[ko]) if ko >= 0 else -1)
               for perm, where in _symmetries(size))


@lru_cache(maxsize=None)
def _symmetries(size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(perm, where) for each symmetry: the turned board is board[perm]; a point p lands on where[p]."""
    from .games import action_permutations

    points = size * size  # the pass, the last action, stays where it is
    return [(perm[:points], np.argsort(perm[:points])) for perm in action_permutations(Go(size))]


def positions(games: list[dict], size: int = 9) -> list[dict]:
    """Every labelled position: (state, GNU Go's move, the result for the side to move, game index)."""
    game = Go(size)
    rows = []
    for g in games:
        state = game.initial()
        for a in g["opening"]:
            state = game.next(state, a)
        sign = np.sign(g["score"])
        for a in g["moves"]:
            rows.append({"state": state, "move": a, "value": float(sign * state[1]), "group": g["index"]})
            state = game.next(state, a)
    return rows


class GoPositions(Dataset):
    def __init__(self, rows: list[dict], size: int = 9, history: int = 0):
        self.rows, self.game = rows, Go(size, history=history)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        row = self.rows[i]
        state = row["state"]
        x = {"planes": torch.from_numpy(self.game.encode(state)), "legal": torch.from_numpy(self.game.legal(state))}
        return x, {"policy": torch.tensor(row["move"]), "value": torch.tensor(row["value"])}


def go9_gnugo(data=None, seed: int = 0, games: int = 3000, level: int = 1, play_simulations: int = 64,
              gnugo_levels: str = "1,5", symmetries: bool = True,
              split_of: Annotated[int, Range(0)] = 0, history: Annotated[int, Range(0, 2)] = 0) -> DataBundle:
    """Positions of `games` GNU Go games (level `level`) on 9x9; see the module's docstring. `split_of` (fewer than
    `games`; 0: off): valid and test are those of data.games=split_of, and every game after the first split_of
    trains, so runs with more games are scored on the same held-out games. A training position whose board_key is
    that of a valid or test position is left out, whichever game it comes from. `history`: input planes marking
    where the last 0-2 moves were played."""
    if data is not None:
        raise ZooError(f"--data {data}: games/go9-gnugo labels its own positions with GNU Go; it takes no files")
    if games < 3:
        raise ZooError(f"--set data.games: at least 3 games (one per split), got {games}")
    if split_of and not 3 <= split_of < games:
        raise ZooError(f"--set data.split_of: at least 3 and fewer than data.games={games}, got {split_of}")
    from .shipped import go_resource, read_resource

    shipped = read_resource(go_resource(level))  # made by `python -m zoo_games.prepare go`
    found = shipped[:games] if len(shipped) >= games else gnugo_games(games, level, known=shipped)
    held = found[:split_of] if split_of else found
    rows = positions(held)
    parts = grouped_split([r["group"] for r in rows], (0.8, 0.1, 0.1), seed)
    train, valid, test = ([rows[i] for i in part] for part in parts)
    if split_of:
        train += positions(found[split_of:])
    # GNU Go repeats itself (from the empty board, 1,500 games hold 491 distinct ones): a training position whose
    # board, or a turn or mirror of it, is that of a valid or test position would be scored as seen: it does not train
    held_out = {board_key(r["state"]) for r in valid + test}
    kept = [r for r in train if board_key(r["state"]) not in held_out]
    removed, train = len(train) - len(kept), kept
    game = Go(9, history=history)
    info = {"game": "go9", "num_classes": game.num_actions, "target_dims": 1, "play_simulations": play_simulations,
            "gnugo_levels": [int(s) for s in str(gnugo_levels).split(",") if s.strip()], "label_level": level,
            "labelled_train": len(train), "held_out_removed": removed, "history": history}
    return DataBundle(train=GoPositions(train, history=history), valid=GoPositions(valid, history=history),
                      test=GoPositions(test, history=history) if test else None,
                      augment=IndexSymmetries(game) if symmetries else None,
                      model_args={"in_planes": game.planes, "height": 9, "width": 9, "num_actions": game.num_actions},
                      info=info)


class IndexSymmetries:
    """The board's 8 symmetries for positions whose policy target is one move index (not a distribution)."""

    def __init__(self, game: Go):
        from .selfplay import Symmetries

        self.inner = Symmetries(game)
        self.perms = self.inner.perms

    def __call__(self, x, y):
        # turn the index into a one-hot, let Symmetries permute it with the planes, and turn it back
        onehot = torch.nn.functional.one_hot(y["policy"], x["legal"].shape[1]).float()
        x2, y2 = self.inner(x, {**y, "policy": onehot})
        return x2, {**y, "policy": y2["policy"].argmax(-1)}
