"""Players that are not trained (random, perfect tic-tac-toe, alpha-beta Connect Four), the network's player
(MCTS over its priors and values), and matches between two players, many games at once.

A player's `choose(states, rng)` returns one action per state (all states have the same player to move).
Alpha-beta and the tic-tac-toe solver are written by hand: a few dozen lines each, and a fixed, documented
opponent is what the win rates are measured against.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from .games import BOARD_MASK, BOTTOM_ROW, CENTRE_FIRST, COLS, H1, ROWS, ConnectFour, Game, TicTacToe
from .mcts import MCTS, NetEvaluator, pick


class Player:
    name = "player"

    def choose(self, states: list, rng: np.random.Generator) -> list[int]:
        raise NotImplementedError


class RandomPlayer(Player):
    name = "random"

    def __init__(self, game: Game):
        self.game = game

    def choose(self, states, rng):
        return [int(rng.choice(np.flatnonzero(self.game.legal(s)))) for s in states]


# -- tic-tac-toe, solved -------------------------------------------------------------------------
TTT = TicTacToe()


@lru_cache(maxsize=None)
def ttt_value(state: tuple) -> int:
    """The game-theoretic value for the player to move: 1 win, 0 draw, -1 loss (full negamax, memoized)."""
    r = TTT.result(state)
    if r is not None:
        return int(r)
    return max(-ttt_value(TTT.next(state, a)) for a in range(9) if state[a] == 0)


def ttt_optimal(state: tuple) -> list[int]:
    """Every move that keeps the game-theoretic value."""
    best = ttt_value(state)
    return [a for a in range(9) if state[a] == 0 and -ttt_value(TTT.next(state, a)) == best]


class PerfectTicTacToe(Player):
    """Perfect play: a move of the best game-theoretic value, at random among those."""

    name = "perfect"

    def choose(self, states, rng):
        return [int(rng.choice(ttt_optimal(s))) if rng is not None else ttt_optimal(s)[0] for s in states]


# -- Connect Four alpha-beta ---------------------------------------------------------------------
def _windows() -> list[int]:
    """The 69 lines of four cells of the board, as bitmasks."""
    out = []
    for c in range(COLS):
        for r in range(ROWS):
            for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
                cells = [(c + k * dc, r + k * dr) for k in range(4)]
                if all(0 <= cc < COLS and 0 <= rr < ROWS for cc, rr in cells):
                    out.append(sum(1 << (cc * H1 + rr) for cc, rr in cells))
    return out


WINDOWS = _windows()
WEIGHTS = (0, 1, 5, 25, 0)  # a line with 1, 2 or 3 stones of one side and none of the other
WIN = 100_000


def heuristic(cur: int, mask: int) -> int:
    """Open lines of the player to move minus those of the other (weighted by how full they are)."""
    opp = cur ^ mask
    score = 0
    for w in WINDOWS:
        a, b = cur & w, opp & w
        if not b:
            if a:
                score += WEIGHTS[a.bit_count()]
        elif not a:
            score -= WEIGHTS[b.bit_count()]
    return score


def winning_cells(pos: int, mask: int) -> int:
    """Empty cells where the stones `pos` would make four (Pascal Pons's bitboard formula)."""
    r = (pos << 1) & (pos << 2) & (pos << 3)  # vertical: only upwards
    for shift in (H1, H1 - 1, H1 + 1):
        p = (pos << shift) & (pos << 2 * shift)
        r |= p & (pos << 3 * shift)
        r |= p & (pos >> shift)
        p = (pos >> shift) & (pos >> 2 * shift)
        r |= p & (pos << shift)
        r |= p & (pos >> 3 * shift)
    return r & (BOARD_MASK ^ mask)


def leaf(cur: int, mask: int) -> int:
    """A leaf's score for the player to move: a win now, or a loss to two threats it cannot both stop, are scored
    as such (half of a won game, so that wins found by the search come first); else `heuristic`."""
    playable = (mask + BOTTOM_ROW) & BOARD_MASK
    if winning_cells(cur, mask) & playable:
        return WIN // 2
    threats = winning_cells(cur ^ mask, mask) & playable
    if threats & (threats - 1):  # two or more cells where the opponent wins next
        return -WIN // 2
    return heuristic(cur, mask)


def negamax(state, depth: int, alpha: int, beta: int, c4: ConnectFour, counter: list[int]) -> int:
    counter[0] += 1
    if state[3]:
        return -WIN - depth  # the last move won; a sooner loss is worse
    if state[2] == ROWS * COLS:
        return 0
    if depth == 0:
        return leaf(state[0], state[1])
    best = -10 * WIN
    for col in CENTRE_FIRST:
        if state[1] & (1 << (col * H1 + ROWS - 1)):
            continue
        v = -negamax(c4.next(state, col), depth - 1, -beta, -alpha, c4, counter)
        if v > best:
            best = v
        if v > alpha:
            alpha = v
        if alpha >= beta:
            break
    return best


class AlphaBeta(Player):
    """Negamax with alpha-beta pruning to `depth` plies, centre columns first; leaves scored by `leaf` (a win on
    the next move, or two threats against, else open lines of 1, 2, 3 stones weighing 1, 5, 25), a win as 100000
    (sooner is better). Among moves of equal
    value it picks at random, so games against it differ."""

    def __init__(self, depth: int):
        self.depth = depth
        self.name = f"ab{depth}"
        self.game = ConnectFour()
        self.nodes = 0

    def values(self, state) -> dict[int, int]:
        """The exact value of every move at least as good as the best (others: an upper bound below it)."""
        counter = [0]
        out, best = {}, -10 * WIN
        for col in CENTRE_FIRST:
            if not self.game.can_play(state, col):
                continue
            v = -negamax(self.game.next(state, col), self.depth - 1, -10 * WIN, -(best - 1), self.game, counter)
            out[col] = v
            best = max(best, v)
        self.nodes += counter[0]
        return out

    def choose(self, states, rng):
        moves = []
        for s in states:
            values = self.values(s)
            best = max(values.values())
            moves.append(int(rng.choice(sorted(c for c, v in values.items() if v == best))))
        return moves


# -- the network's player --------------------------------------------------------------------------
class MCTSPlayer(Player):
    """The network through MCTS (`simulations` per move, no noise: the most visited move; with `solve`, game ends
    the search reaches are proved back up, see mcts.py), or its raw policy's most likely legal move with
    simulations=0."""

    def __init__(self, model: torch.nn.Module, game: Game, simulations: int, device="cpu", c_puct: float = 1.5,
                 name: str = "network", solve: bool = False):
        self.game, self.simulations, self.name = game, simulations, name
        self.evaluate = NetEvaluator(model, game, device)
        self.mcts = MCTS(game, self.evaluate, c_puct=c_puct, noise=0.0, solve=solve)

    def choose(self, states, rng=None):
        if self.simulations <= 0:
            return [int(np.argmax(np.where(self.game.legal(s), probs, -1.0)))
                    for s, (probs, _) in zip(states, self.evaluate(states))]
        roots = [self.mcts.root(s) for s in states]
        self.mcts.search(roots, self.simulations)
        return [pick(r, 0.0, None) for r in roots]


def play_games(game: Game, pairs: list[tuple[Player, Player]], rng: np.random.Generator,
               openings: list | None = None) -> list[float]:
    """One game per (first, second) pair, all at once: each ply, every player is asked for all the games where it
    is to move in one call (the network's leaves are evaluated together). `first` is to move at the start (the
    empty board, or each opening, cycled). The result of each game for its `first`: 1 win, 0.5 draw, 0 loss."""
    games = len(pairs)
    states = [openings[i % len(openings)] if openings else game.initial() for i in range(games)]
    results: list[float | None] = [None] * games
    ply = 0
    while True:
        live = []
        for i in range(games):
            if results[i] is not None:
                continue
            r = game.result(states[i])
            if r is None:
                live.append(i)
            else:  # r is for the player to move, who is `first` at even plies
                mine = r if ply % 2 == 0 else -r
                results[i] = (mine + 1) / 2
        if not live:
            return results  # type: ignore[return-value]
        groups: dict[int, list[int]] = {}
        movers: dict[int, Player] = {}
        for i in live:
            mover = pairs[i][ply % 2]
            groups.setdefault(id(mover), []).append(i)
            movers[id(mover)] = mover
        for key, group in groups.items():
            for i, a in zip(group, movers[key].choose([states[i] for i in group], rng)):
                states[i] = game.next(states[i], a)
        ply += 1


def play_match(game: Game, first: Player, second: Player, games: int, rng: np.random.Generator,
               openings: list | None = None) -> list[float]:
    """`games` games of `first` (to move at the start) against `second`; the result of each for `first`."""
    return play_games(game, [(first, second)] * games, rng, openings)


def lines_against(game: Game, player: Player, replies, player_first: bool) -> tuple[int, int, int]:
    """Every line of play where `player` (deterministic) meets an opponent that tries each move `replies(state)`
    allows (every optimal move: perfect play; every legal move: any opponent). (wins, draws, losses) of `player`,
    counted over the lines."""
    frontier, ply = [game.initial()], 0
    wins = draws = losses = 0
    while frontier:
        live = []
        for s in frontier:
            r = game.result(s)
            if r is None:
                live.append(s)
                continue
            mine = r if (ply % 2 == 0) == player_first else -r
            wins, draws, losses = wins + (mine > 0), draws + (mine == 0), losses + (mine < 0)
        if (ply % 2 == 0) == player_first:
            unique = list(dict.fromkeys(live))
            chosen = dict(zip(unique, player.choose(unique, None))) if unique else {}
            frontier = [game.next(s, chosen[s]) for s in live]
        else:
            frontier = [game.next(s, a) for s in live for a in replies(s)]
        ply += 1
    return wins, draws, losses
