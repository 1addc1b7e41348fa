"""Two-player board games for self-play: the interface MCTS, the self-play generator and the players use, and the
rules of tic-tac-toe and Connect Four (written by hand: a few lines each, and bitboards keep Connect Four fast
enough for tree search in Python).

A state is an immutable value. Values are always from the point of view of the player to move: `result(state)`
is +1 if the player to move has won, -1 if it has lost (its opponent's last move won), 0 for a draw, None while
the game goes on. `encode(state)` gives the network's input planes, also from the player to move's side.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class Game:
    """What a board game tells MCTS, the network and the players."""

    name = "game"
    height = width = 0
    num_actions = 0
    planes = 0
    # board symmetries that leave the rules unchanged, as names of transforms of the (H, W) grid (see `transform`)
    symmetries: tuple[str, ...] = ("identity",)

    def initial(self) -> Any:
        raise NotImplementedError

    def legal(self, state) -> np.ndarray:
        """A bool mask over the actions."""
        raise NotImplementedError

    def next(self, state, action: int) -> Any:
        raise NotImplementedError

    def result(self, state) -> float | None:
        raise NotImplementedError

    def encode(self, state) -> np.ndarray:
        """float32 planes (planes, height, width) seen from the player to move."""
        raise NotImplementedError

    def first_to_move(self, state) -> bool:
        """Whether the player to move is the one who moved first."""
        raise NotImplementedError

    def key(self, state) -> Any:
        """A hashable key of the position (for caching network evaluations)."""
        return state

    def action_grid(self) -> np.ndarray:
        """Where each board action sits on a grid the symmetries transform (cells: (H, W); columns: (1, W))."""
        return np.arange(self.height * self.width).reshape(self.height, self.width)

    def action_name(self, action: int) -> str:
        return str(action)

    def render(self, state) -> str:
        raise NotImplementedError


def transform(grid, name: str):
    """One symmetry of a grid (numpy array or torch tensor) on its last two dimensions."""
    if isinstance(grid, np.ndarray):
        ops = {"hflip": lambda g: g[..., ::-1], "vflip": lambda g: g[..., ::-1, :],
               "rot": lambda g, k: np.rot90(g, k, (-2, -1)), "transpose": lambda g: np.swapaxes(g, -2, -1)}
    else:
        ops = {"hflip": lambda g: g.flip(-1), "vflip": lambda g: g.flip(-2),
               "rot": lambda g, k: g.rot90(k, (-2, -1)), "transpose": lambda g: g.transpose(-2, -1)}
    if name == "identity":
        return grid
    if name.startswith("rot"):
        return ops["rot"](grid, int(name[3:]) // 90)
    if name == "antitranspose":
        return ops["rot"](ops["transpose"](grid), 2)
    return ops[name](grid)


DIHEDRAL = ("identity", "rot90", "rot180", "rot270", "hflip", "vflip", "transpose", "antitranspose")


def action_permutations(game: Game) -> np.ndarray:
    """(symmetries, actions) indices: the policy of a transformed position is policy[:, perm[s]].

    Actions beyond the grid (Go's pass) stay where they are.
    """
    grid = game.action_grid()
    rest = np.arange(grid.size, game.num_actions)
    return np.stack([np.concatenate([np.ascontiguousarray(transform(grid, s)).reshape(-1), rest])
                     for s in game.symmetries]).astype(np.int64)


# -- tic-tac-toe ---------------------------------------------------------------------------------
LINES3 = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


class TicTacToe(Game):
    """State: a tuple of 9 cells (1: X, -1: O, 0: empty), row by row; X moves first."""

    name = "tictactoe"
    height = width = 3
    num_actions = 9
    planes = 3
    symmetries = DIHEDRAL

    def initial(self):
        return (0,) * 9

    @staticmethod
    def to_move(state) -> int:
        return 1 if state.count(1) == state.count(-1) else -1

    def first_to_move(self, state) -> bool:
        return self.to_move(state) == 1

    def legal(self, state):
        return np.array([c == 0 for c in state], dtype=bool)

    def next(self, state, action):
        if state[action] != 0:
            raise ValueError(f"cell {action} is taken")
        cells = list(state)
        cells[action] = self.to_move(state)
        return tuple(cells)

    @staticmethod
    def winner(state) -> int:
        for a, b, c in LINES3:
            if state[a] and state[a] == state[b] == state[c]:
                return state[a]
        return 0

    def result(self, state):
        w = self.winner(state)
        if w:
            return float(w * self.to_move(state))  # the last mover won: -1 for the player to move
        return 0.0 if 0 not in state else None

    def encode(self, state):
        me = self.to_move(state)
        b = np.array(state, dtype=np.int8).reshape(3, 3)
        first = np.full((3, 3), float(me == 1), dtype=np.float32)
        return np.stack([(b == me), (b == -me), first]).astype(np.float32)

    def action_name(self, action):
        return "abc"[action % 3] + str(3 - action // 3)

    def render(self, state):
        return "\n".join("".join(".xo"[state[r * 3 + c]] for c in range(3)) for r in range(3))

    def parse(self, text: str):
        """'x...o....': x, o or . for each cell, row by row (the top row first)."""
        cells = {"x": 1, "o": -1, ".": 0}
        t = text.strip().lower()
        if len(t) != 9 or set(t) - set(cells):
            raise ValueError(f"{text!r}: a board is 9 characters of x, o and . (row by row)")
        state = tuple(cells[c] for c in t)
        if state.count(1) - state.count(-1) not in (0, 1):
            raise ValueError(f"{text!r}: X moves first, so X has as many marks as O or one more")
        return state


# -- Connect Four ---------------------------------------------------------------------------------
ROWS, COLS = 6, 7
H1 = ROWS + 1  # bits per column: 6 cells and a sentinel
BOTTOM = [1 << (c * H1) for c in range(COLS)]
TOP = [1 << (c * H1 + ROWS - 1) for c in range(COLS)]
BOTTOM_ROW = sum(BOTTOM)
BOARD_MASK = BOTTOM_ROW * ((1 << ROWS) - 1)
CENTRE_FIRST = (3, 2, 4, 1, 5, 0, 6)


def four(bits: int) -> bool:
    """Whether a bitboard holds four in a row (vertical, horizontal, both diagonals)."""
    for shift in (1, H1, H1 - 1, H1 + 1):
        m = bits & (bits >> shift)
        if m & (m >> (2 * shift)):
            return True
    return False


class ConnectFour(Game):
    """7 columns of 6; state: (stones of the player to move, all stones, moves played, whether the last move
    made four). Bit c*7+r is column c, row r from the bottom (Pascal Pons's layout)."""

    name = "connect4"
    height, width = ROWS, COLS
    num_actions = COLS
    planes = 3
    symmetries = ("identity", "hflip")

    def initial(self):
        return (0, 0, 0, False)

    def first_to_move(self, state):
        return state[2] % 2 == 0

    def legal(self, state):
        mask = state[1]
        return np.array([not (mask & TOP[c]) for c in range(COLS)], dtype=bool)

    def can_play(self, state, col: int) -> bool:
        return not (state[1] & TOP[col])

    def next(self, state, action):
        cur, mask, n, _ = state
        if mask & TOP[action]:
            raise ValueError(f"column {action} is full")
        new_mask = mask | (mask + BOTTOM[action])
        mover = cur | (new_mask ^ mask)
        return (mover ^ new_mask, new_mask, n + 1, four(mover))

    def result(self, state):
        if state[3]:
            return -1.0
        return 0.0 if state[2] == ROWS * COLS else None

    def key(self, state):
        return (state[0], state[1])

    def cells(self, state) -> np.ndarray:
        """(6, 7) int8: 1 for the player to move, -1 for the other, row 0 at the bottom."""
        cur, mask = state[0], state[1]
        out = np.zeros((ROWS, COLS), dtype=np.int8)
        for c in range(COLS):
            for r in range(ROWS):
                bit = 1 << (c * H1 + r)
                if mask & bit:
                    out[r, c] = 1 if cur & bit else -1
        return out

    def encode(self, state):
        b = self.cells(state)
        first = np.full((ROWS, COLS), float(self.first_to_move(state)), dtype=np.float32)
        return np.stack([b == 1, b == -1, first]).astype(np.float32)

    def action_grid(self):
        return np.arange(COLS).reshape(1, COLS)

    def action_name(self, action):
        return str(action + 1)

    def render(self, state):
        b = self.cells(state)
        me = "x" if self.first_to_move(state) else "o"
        other = "o" if me == "x" else "x"
        rows = ["".join({1: me, -1: other, 0: "."}[int(v)] for v in b[r]) for r in range(ROWS - 1, -1, -1)]
        return "\n".join(rows) + "\n1234567"

    def parse(self, text: str):
        """Columns played, 1 to 7 ('4453'), from the empty board."""
        state = self.initial()
        for i, ch in enumerate(text.strip()):
            if ch not in "1234567":
                raise ValueError(f"{text!r}: move {i + 1} is {ch!r}; moves are the columns 1 to 7")
            if self.result(state) is not None:
                raise ValueError(f"{text!r}: the game is over before move {i + 1}")
            if not self.can_play(state, int(ch) - 1):
                raise ValueError(f"{text!r}: move {i + 1}: column {ch} is full")
            state = self.next(state, int(ch) - 1)
        return state
