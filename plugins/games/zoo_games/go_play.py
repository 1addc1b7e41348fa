"""Go with a trained network: its player (MCTS over the policy and value; it never fills its own one-point eyes),
games against GNU Go (which referees: its final_score), and moves replayed from text. The task is in tasks/go.py,
`zoo gtp RUN_DIR` in gtp.py."""
from __future__ import annotations

import numpy as np

from zoo import ZooError

from .go_rules import Go, neighbours


class GoPlay(Go):
    """Go for the network's search: filling one's own one-point eye is left out of the moves (a point whose
    neighbours are all the mover's stones), as every Go program's playouts do."""

    def legal(self, state):
        mask = super().legal(state)
        board, colour = state[0], state[1]
        nbrs = neighbours(self.size)
        for p in np.flatnonzero(mask[:-1]):
            if all(board[n] == colour for n in nbrs[p]):
                mask[p] = False
        return mask


def NetworkGoPlayer(model, simulations: int, device="cpu", size: int = 9, komi: float = 7.0, history: int = 0):
    """The network's Go player: the shared MCTS player over GoPlay's moves (no filling of its own eyes);
    `history`: the run's data.history (the last moves among its input planes)."""
    from .players import MCTSPlayer

    return MCTSPlayer(model, GoPlay(size, komi, history=history), simulations, device)


def play_gnugo(model, games: int, level: int, simulations: int, device, max_moves: int = 162,
               history: int = 0) -> list[float]:
    """`games` games against GNU Go at `level` (the network Black in the even games), all at once, one GNU Go
    process each; the network's result in each (1 win, 0 loss, 0.5 jigo), by GNU Go's final_score."""
    from .engines import GnuGo
    from .go_data import parse_score

    player = NetworkGoPlayer(model, simulations, device, history=history)
    game = player.game
    game.max_moves = max_moves
    engines = [GnuGo(level=level, seed=i) for i in range(games)]
    states = [game.initial() for _ in range(games)]
    net_black = [i % 2 == 0 for i in range(games)]
    results: list[float | None] = [None] * games
    try:
        for e in engines:
            e.clear()
        while True:
            live = [i for i in range(games) if results[i] is None]
            for i in live:
                if game.over(states[i]):
                    score = parse_score(engines[i].send("final_score"))
                    mine = score if net_black[i] else -score
                    results[i] = 1.0 if mine > 0 else 0.0 if mine < 0 else 0.5
            live = [i for i in live if results[i] is None]
            if not live:
                break
            mine = [i for i in live if (states[i][1] == 1) == net_black[i]]
            for i, action in zip(mine, player.choose([states[i] for i in mine]) if mine else []):
                engines[i].play("black" if states[i][1] == 1 else "white", game.action_name(action))
                states[i] = game.next(states[i], action)
            for i in live:
                if i in mine:
                    continue
                vertex = engines[i].genmove("black" if states[i][1] == 1 else "white")
                if vertex == "RESIGN":
                    results[i] = 1.0
                    continue
                states[i] = game.next(states[i], game.parse_vertex(vertex))
    finally:
        for e in engines:
            e.close()
    return [0.5 if r is None else r for r in results]


def replay(game: Go, text: str):
    from .go_rules import IllegalMove

    state = game.initial()
    for i, vertex in enumerate(text.replace(",", " ").split()):
        try:
            action = game.parse_vertex(vertex)
            state = game.next(state, action)
        except (ValueError, IllegalMove) as exc:
            raise ZooError(f"move {i + 1} ({vertex}): {exc}") from None
    return state
