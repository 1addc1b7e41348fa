"""The solved value of Connect Four openings: which side wins an opening of up to 8 plies with perfect play.

Exact, not estimated: a negamax with alpha-beta searches every line from the opening down to the 8th ply, where
John Tromp's 8-ply database (as packaged by `bitbully-databases`, MIT; 34,515 positions with 8 stones, no four yet,
first player to move: the draws and the first player's losses, every position not listed being a first player's
win) gives the value of each position reached. A four made before the 8th ply ends a line where it is made. Written
by hand (the search is a few lines; the database reader is the documented format of the package's
`book_8ply.dat`, read here into a set of integers so that a look-up is one hash probe).

Values are for the player to move: 1 a win, 0 a draw, -1 a loss.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from zoo import ZooError

from .games import COLS, H1, ROWS, ConnectFour

BOOK_PLIES = 8
CENTRE_FIRST = (3, 2, 4, 1, 5, 0, 6)
C4 = ConnectFour()


@lru_cache(maxsize=1)
def book() -> tuple[frozenset, frozenset]:
    """(draws, losses) of the first player in the 8-ply database, as Huffman codes (see `huffman`)."""
    try:
        from bitbully_databases import BitBullyDatabases
    except ImportError as e:  # pragma: no cover - a dependency of the plugin
        raise ZooError("the solved Connect Four openings need the 8-ply database: pip install bitbully-databases") from e
    data = open(BitBullyDatabases.get_database_path("8-ply"), "rb").read()
    if len(data) % 3:
        raise ZooError(f"{BitBullyDatabases.get_database_path('8-ply')}: not a 8-ply database (3-byte records)")
    codes = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int64)
    codes = (codes[:, 0] << 16) | (codes[:, 1] << 8) | codes[:, 2]
    value = codes & 3  # 0: a draw, 1: a loss of the first player (the two low bits; the code's own are 0)
    keys = codes & ~3
    return frozenset(keys[value == 0].tolist()), frozenset(keys[value == 1].tolist())


def huffman(first: int, mask: int, mirror: bool = False) -> int:
    """The database's code of a position: column by column from the left (the right with `mirror`), each cell from
    the bottom: '10' a first player's stone, '11' the second's, '0' closes the column (a full one too); one '0'
    ends it. `first`: the first player's stones as a bitboard."""
    code = 0
    for c in (range(COLS - 1, -1, -1) if mirror else range(COLS)):
        for r in range(ROWS):
            bit = 1 << (c * H1 + r)
            if not mask & bit:
                break
            code = (code << 2) | (2 if first & bit else 3)
        code <<= 1
    return code << 1


def book_value(state) -> int:
    """The value for the player to move (the first player) of a position of exactly 8 plies without a four."""
    cur, mask, n, done = state
    if n != BOOK_PLIES or done:
        raise ValueError("the database holds positions of 8 plies, no four made")
    draws, losses = book()
    for mirror in (False, True):
        code = huffman(cur, mask, mirror)
        if code in draws:
            return 0
        if code in losses:
            return -1
    return 1


def solve(state) -> int:
    """The exact value for the player to move of a position of at most 8 plies (1 win, 0 draw, -1 loss)."""
    if state[2] > BOOK_PLIES:
        raise ValueError(f"solved values are known for openings of up to {BOOK_PLIES} plies, not {state[2]}")
    table: dict = {}

    def negamax(s, alpha: int, beta: int) -> int:
        if s[3]:
            return -1  # the last move made four
        if s[2] == BOOK_PLIES:
            return book_value(s)
        key = (s[0], s[1])
        if key in table:
            return table[key]  # exact: stored only when found inside the window
        best, start = -2, alpha
        for col in CENTRE_FIRST:
            if s[1] & (1 << (col * H1 + ROWS - 1)):
                continue
            v = -negamax(C4.next(s, col), -beta, -alpha)
            best = max(best, v)
            alpha = max(alpha, v)
            if alpha >= beta:
                break
        if start < best < beta:
            table[key] = best
        return best

    return negamax(state, -1, 1) if not state[3] else -1


def opening_values(states: list) -> list[int]:
    """`solve` of each opening, the same position solved once."""
    found: dict = {}
    for s in states:
        if C4.key(s) not in found:
            found[C4.key(s)] = solve(s)
    return [found[C4.key(s)] for s in states]


def move_values(state) -> dict[int, int]:
    """The solved value of each legal move of a position of at most 7 plies, for the player making it."""
    return {c: -solve(C4.next(state, c)) for c in range(COLS) if C4.can_play(state, c)}


def best_moves(state) -> list[int]:
    """The moves that keep the position's solved value (every move of a lost position)."""
    values = move_values(state)
    best = max(values.values())
    return [c for c, v in values.items() if v == best]
