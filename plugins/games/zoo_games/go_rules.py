"""The rules of Go on a small board, written by hand (tested on known positions in plugins/games/tests/test_games_go.py):
placing a stone, capturing groups left without liberties, suicide forbidden, simple ko, passing, and area
scoring (stones plus empty regions that touch only one colour, komi for White), as GNU Go's Chinese rules.

No maintained Python package implements the rules (GNU Go does, but as a process: it labels and referees;
the network and MCTS need the rules in-process, thousands of times a second). A state is immutable:
(board: tuple of size*size values 1 black / -1 white / 0 empty, to_move 1 or -1, ko point or -1, passes in a
row, moves played, the last two actions, latest first, -1 before there were any).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .games import DIHEDRAL, Game

COLUMNS = "ABCDEFGHJKLMNOPQRST"  # GTP skips I


@lru_cache(maxsize=None)
def neighbours(size: int) -> tuple[tuple[int, ...], ...]:
    out = []
    for p in range(size * size):
        r, c = divmod(p, size)
        out.append(tuple(q for q, ok in ((p - size, r > 0), (p + size, r < size - 1), (p - 1, c > 0),
                                         (p + 1, c < size - 1)) if ok))
    return tuple(out)


def group(board, p: int, size: int) -> tuple[set[int], set[int]]:
    """The stones of p's group and its liberties."""
    colour, nbrs = board[p], neighbours(size)
    stones, liberties, stack = {p}, set(), [p]
    while stack:
        q = stack.pop()
        for n in nbrs[q]:
            v = board[n]
            if v == 0:
                liberties.add(n)
            elif v == colour and n not in stones:
                stones.add(n)
                stack.append(n)
    return stones, liberties


class IllegalMove(ValueError):
    pass


def place(board: tuple, p: int, colour: int, size: int, ko: int) -> tuple[tuple, int]:
    """The board after `colour` plays at p, and the new ko point (-1 if none); IllegalMove when the point is taken,
    is the ko point, or the move is suicide."""
    if board[p] != 0:
        raise IllegalMove("the point is taken")
    if p == ko:
        raise IllegalMove("ko: the stone just captured cannot be retaken at once")
    cells = list(board)
    cells[p] = colour
    captured: list[int] = []
    for n in neighbours(size)[p]:
        if cells[n] == -colour:
            stones, liberties = group(cells, n, size)
            if not liberties:
                captured.extend(stones)
                for s in stones:
                    cells[s] = 0
    stones, liberties = group(cells, p, size)
    if not liberties:
        raise IllegalMove("suicide")
    new_ko = -1
    if len(captured) == 1 and len(stones) == 1 and len(liberties) == 1:
        new_ko = captured[0]  # a single stone took a single stone and sits in atari: the classic ko
    return tuple(cells), new_ko


def area_score(board: tuple, size: int, komi: float) -> float:
    """Black's area (stones and the empty regions that reach only black) minus White's, minus komi."""
    score = float(sum(board))
    seen: set[int] = set()
    nbrs = neighbours(size)
    for p in range(size * size):
        if board[p] != 0 or p in seen:
            continue
        region, borders, stack = {p}, set(), [p]
        while stack:
            q = stack.pop()
            for n in nbrs[q]:
                if board[n] == 0 and n not in region:
                    region.add(n)
                    stack.append(n)
                elif board[n] != 0:
                    borders.add(board[n])
        seen |= region
        if len(borders) == 1:
            score += len(region) * borders.pop()
    return score - komi


class Go(Game):
    """Go on a size x size board; actions are the points (row-major from the top-left, as GTP's A9 on 9x9) and
    the pass (the last action). The game ends after two passes in a row, or after `max_moves` moves; it is
    scored by area with `komi` (7 by default, as GNU Go's Chinese rules). The network's input has 12 planes, and
    `history` more (0-2): where each of the last moves was played (GNU Go, like a person, often answers the move
    just played, which the board alone does not show)."""

    symmetries = DIHEDRAL

    def __init__(self, size: int = 9, komi: float = 7.0, max_moves: int | None = None, history: int = 0):
        if not 0 <= history <= 2:
            raise ValueError(f"history: 0, 1 or 2 moves, got {history}")
        self.size, self.komi = size, komi
        self.name = f"go{size}"
        self.height = self.width = size
        self.num_actions = size * size + 1
        self.pass_action = size * size
        self.history = history
        self.planes = 12 + history
        self.max_moves = max_moves or 2 * size * size

    def initial(self):
        return (tuple([0] * (self.size * self.size)), 1, -1, 0, 0, (-1, -1))

    def first_to_move(self, state):
        return state[1] == 1

    def legal(self, state):
        board, colour, ko = state[0], state[1], state[2]
        mask = np.zeros(self.num_actions, dtype=bool)
        mask[self.pass_action] = True
        nbrs = neighbours(self.size)
        for p in range(self.size * self.size):
            if board[p] != 0 or p == ko:
                continue
            if any(board[n] == 0 for n in nbrs[p]):
                mask[p] = True  # an empty neighbour: never suicide
                continue
            try:
                place(board, p, colour, self.size, ko)
                mask[p] = True
            except IllegalMove:
                pass
        return mask

    def next(self, state, action):
        board, colour, ko, passes, moves, recent = state
        recent = (action, recent[0])
        if action == self.pass_action:
            return (board, -colour, -1, passes + 1, moves + 1, recent)
        board, ko = place(board, action, colour, self.size, ko)
        return (board, -colour, ko, 0, moves + 1, recent)

    def over(self, state) -> bool:
        return state[3] >= 2 or state[4] >= self.max_moves

    def score(self, state) -> float:
        """Area score, Black minus White minus komi."""
        return area_score(state[0], self.size, self.komi)

    def result(self, state):
        if not self.over(state):
            return None
        s = self.score(state) * state[1]  # for the player to move
        return 1.0 if s > 0 else -1.0 if s < 0 else 0.0

    def encode(self, state):
        board, colour, ko = np.array(state[0], dtype=np.int8), state[1], state[2]
        n = self.size
        planes = np.zeros((self.planes, n * n), dtype=np.float32)
        planes[0] = board == colour
        planes[1] = board == -colour
        planes[2] = board == 0
        if ko >= 0:
            planes[3, ko] = 1
        planes[4] = float(colour == 1)  # Black to move (komi favours White)
        seen: set[int] = set()
        for p in range(n * n):
            if board[p] == 0 or p in seen:
                continue
            stones, liberties = group(state[0], p, n)
            seen |= stones
            k = min(len(liberties), 3) - 1
            idx = list(stones)
            planes[5 + k if board[p] == colour else 8 + k, idx] = 1
        planes[11] = 1
        for k, action in enumerate(state[5][:self.history]):
            if 0 <= action < n * n:  # not a pass, not before the first move
                planes[12 + k, action] = 1
        return planes.reshape(self.planes, n, n)

    def key(self, state):
        # the network's input tells positions apart by their last moves too (history planes)
        return (state[0], state[1], state[2], state[3] > 0, state[5][:self.history])

    # -- names of moves: GTP vertices -------------------------------------------------------------
    def action_name(self, action: int) -> str:
        if action == self.pass_action:
            return "PASS"
        r, c = divmod(action, self.size)
        return f"{COLUMNS[c]}{self.size - r}"

    def parse_vertex(self, text: str) -> int:
        t = text.strip().upper()
        if t == "PASS":
            return self.pass_action
        if len(t) < 2 or t[0] not in COLUMNS[: self.size] or not t[1:].isdigit():
            raise ValueError(f"{text!r} is not a point of a {self.size}x{self.size} board")
        c, row = COLUMNS.index(t[0]), int(t[1:])
        if not 1 <= row <= self.size:
            raise ValueError(f"{text!r} is not a point of a {self.size}x{self.size} board")
        return (self.size - row) * self.size + c

    def render(self, state) -> str:
        n = self.size
        rows = [f"{n - r:2d} " + " ".join(".XO"[state[0][r * n + c]] for c in range(n)) for r in range(n)]
        return "\n".join(rows) + "\n   " + " ".join(COLUMNS[:n])

    def from_rows(self, rows: list[str], to_move: int = 1) -> tuple:
        """A position from text rows ('X' black, 'O' white, '.' empty), top row first (for tests)."""
        cells = [{"X": 1, "O": -1, ".": 0}[ch] for row in rows for ch in row.replace(" ", "")]
        if len(cells) != self.size * self.size:
            raise ValueError(f"expected {self.size} rows of {self.size} points")
        return (tuple(cells), to_move, -1, 0, 0, (-1, -1))
