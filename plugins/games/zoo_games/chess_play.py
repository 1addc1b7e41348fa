"""Playing chess with a trained network: the position as a game for MCTS, the network's player, the shallow mate
search the puzzles are scored with, and games against Stockfish at a skill level."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .chess_moves import ACTIONS, PLANES, encode_board, legal_mask, legal_moves, move_index, value_to_cp
from .games import Game


class ChessGame(Game):
    """python-chess boards as states for mcts.py (a state is a chess.Board never changed after it is made)."""

    name = "chess"
    height = width = 8
    num_actions = ACTIONS
    planes = PLANES

    def initial(self):
        import chess
        return chess.Board()

    def first_to_move(self, state):
        return state.turn

    def legal(self, state):
        return legal_mask(state)

    def next(self, state, action):
        board = state.copy(stack=False)
        board.push(legal_moves(state)[action])
        return board

    def result(self, state):
        if state.is_checkmate():
            return -1.0
        if state.is_stalemate() or state.is_insufficient_material() or state.halfmove_clock >= 100 \
                or state.is_repetition(3):
            return 0.0
        return None

    def encode(self, state):
        return encode_board(state)

    def key(self, state):
        return state._transposition_key()

    def action_name(self, action):
        return str(action)


@torch.inference_mode()
def policy_and_value(model, boards: list, device) -> tuple[list[dict], list[float]]:
    """For each board: {move: probability} over its legal moves, and the value for the side to move."""
    if not boards:
        return [], []
    planes = torch.from_numpy(np.stack([encode_board(b) for b in boards])).to(device)
    legal = torch.from_numpy(np.stack([legal_mask(b) for b in boards])).to(device)
    out = model(planes=planes, legal=legal)
    probs = out["policy"].float().masked_fill(~legal, -1e9).softmax(-1).cpu().numpy()
    values = out["value"].float().reshape(-1).cpu().tolist()
    dists = []
    for b, p in zip(boards, probs):
        dists.append({m: float(p[i]) for i, m in legal_moves(b).items()})
    return dists, values


class NetworkPlayer:
    """The network's move: MCTS with `simulations` visits (no noise, the most visited move), or with 0 the
    policy's most likely legal move."""

    def __init__(self, model, simulations: int = 32, device="cpu"):
        from .mcts import MCTS, NetEvaluator

        self.game = ChessGame()
        self.simulations = simulations
        self.model, self.device = model, torch.device(device)
        self.evaluate = NetEvaluator(model, self.game, device)
        self.mcts = MCTS(self.game, self.evaluate, noise=0.0)

    def choose(self, boards: list) -> list:
        from .mcts import pick

        states = [b.copy() for b in boards]
        if self.simulations <= 0:
            out = []
            for b, (probs, _) in zip(states, self.evaluate(states)):
                moves = legal_moves(b)
                out.append(moves[max(moves, key=lambda i: probs[i])])
            return out
        roots = [self.mcts.root(b) for b in states]
        self.mcts.search(roots, self.simulations)
        return [legal_moves(b)[pick(r, 0.0, None)] for b, r in zip(states, roots)]


# -- mate puzzles --------------------------------------------------------------------------------------
def mate_in_one(board) -> Any:
    """A move that mates at once, or None (only checking moves are tried)."""
    for move in board.legal_moves:
        if board.gives_check(move):
            board.push(move)
            mate = board.is_checkmate()
            board.pop()
            if mate:
                return move
    return None


class MateSearch:
    """Does the side to move force mate within n moves? A shallow search that uses the network: at the attacker's
    nodes only its policy's `k` most likely moves are tried (all moves for the last, mating move), every defence
    is tried at the defender's nodes. `policy(boards)` gives {move: probability} per board; with None the k
    moves are drawn at random (the baseline without a network)."""

    def __init__(self, policy, k: int = 3, rng: np.random.Generator | None = None):
        self.policy, self.k, self.rng = policy, k, rng or np.random.default_rng(0)
        self.nodes = 0

    def candidates(self, boards: list) -> list[list]:
        if self.policy is None:
            out = []
            for b in boards:
                moves = list(b.legal_moves)
                order = self.rng.permutation(len(moves))[: self.k]
                out.append([moves[i] for i in order])
            return out
        return [sorted(d, key=d.get, reverse=True)[: self.k] for d in self.policy(boards)]

    def solve(self, board, n: int, moves=None) -> Any:
        """A first move that forces mate in at most n, or None."""
        self.nodes += 1
        if n == 1:
            return mate_in_one(board)
        quick = mate_in_one(board)
        if quick is not None:
            return quick
        for move in moves if moves is not None else self.candidates([board])[0]:
            board.push(move)
            replies = list(board.legal_moves)
            forced = bool(replies) and not board.is_game_over()
            if forced:
                children = []
                for reply in replies:
                    child = board.copy(stack=False)
                    child.push(reply)
                    children.append(child)
                # the defender's replies are tried in turn; the attacker's candidates of all come in one batch
                options = self.candidates(children) if n > 2 else [None] * len(children)
                for child, opts in zip(children, options):
                    if self.solve(child, n - 1, opts) is None:
                        forced = False
                        break
            board.pop()
            if forced:
                return move
        return None


def solve_rate(puzzles: list[tuple[str, list[str]]], n: int, search: MateSearch) -> tuple[list[bool], list[bool]]:
    """For each puzzle: whether the search found a forced mate in n, and whether its first move is the key."""
    import chess

    found, key = [], []
    for fen, solution in puzzles:
        board = chess.Board(fen)
        move = search.solve(board, n)
        found.append(move is not None)
        key.append(move is not None and bool(solution) and move.uci() == solution[0])
    return found, key


# -- games against Stockfish -------------------------------------------------------------------------
def play_stockfish(model, games: int, skill: int, simulations: int, device, seed: int = 0,
                   max_plies: int = 200, move_time: float = 0.05) -> list[float]:
    """`games` games against Stockfish at `Skill Level` skill (the network White in the even games), all played at
    once; the network's score in each: 1 win, 0.5 draw (or no result after max_plies), 0 loss."""
    import chess
    import chess.engine

    from .engines import Stockfish

    player = NetworkPlayer(model, simulations, device)
    boards = [chess.Board() for _ in range(games)]
    net_white = [g % 2 == 0 for g in range(games)]
    rng = np.random.default_rng(seed)
    results: list[float | None] = [None] * games
    with Stockfish({"Skill Level": skill}) as engine:
        for ply in range(max_plies):
            live = [i for i in range(games) if results[i] is None]
            for i in live:
                if boards[i].is_game_over(claim_draw=True):
                    outcome = boards[i].outcome(claim_draw=True)
                    if outcome.winner is None:
                        results[i] = 0.5
                    else:
                        results[i] = 1.0 if outcome.winner == (chess.WHITE if net_white[i] else chess.BLACK) else 0.0
            live = [i for i in live if results[i] is None]
            if not live:
                break
            mine = [i for i in live if boards[i].turn == (chess.WHITE if net_white[i] else chess.BLACK)]
            for i, move in zip(mine, player.choose([boards[i] for i in mine]) if mine else []):
                boards[i].push(move)
            for i in live:
                if i not in mine:
                    if ply < 2:  # a random first move for Stockfish: games differ even at the same skill
                        moves = list(boards[i].legal_moves)
                        boards[i].push(moves[int(rng.integers(len(moves)))])
                    else:
                        boards[i].push(engine.play(boards[i], chess.engine.Limit(time=move_time)))
    return [0.5 if r is None else r for r in results]


def describe(board, dist: dict, value: float, top: int = 5) -> dict:
    """The network's view of a position: best moves with probabilities (SAN) and the evaluation."""
    best = sorted(dist, key=dist.get, reverse=True)[:top]
    cp = value_to_cp(value)
    white_cp = cp if board.turn else -cp
    return {"best": best[0].uci() if best else None,
            "moves": ", ".join(f"{board.san(m)} {dist[m]:.3f}" for m in best),
            "value": round(value, 4), "eval": f"{white_cp / 100:+.2f}"}


def move_index_of(board, move) -> int:
    return move_index(move, board.turn)
