"""Chess positions as network input and moves as action indices (AlphaZero's encoding), on python-chess.

Input: 19 planes of 8x8 seen from the side to move (its pieces first, ranks flipped for Black): 6 own piece
types, 6 of the opponent, 4 castling rights, the en-passant square, the halfmove clock / 100, a plane of ones.
Moves: 73 planes x 64 from-squares = 4672 actions: 56 queen-like moves (8 directions x 7 distances; queen
promotions, king moves and castling, as the king's two-square move, included), 8 knight moves, 9
underpromotions (3 directions x knight, bishop, rook). Index = plane * 64 + from-square (oriented).
"""
from __future__ import annotations

import chess
import numpy as np

PLANES = 19
ACTIONS = 73 * 64
POLICY_PLANES = 73
QUEEN_DIRS = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))  # (files, ranks)
KNIGHT = ((1, 2), (2, 1), (2, -1), (1, -2), (-1, -2), (-2, -1), (-2, 1), (-1, 2))
UNDER = (chess.KNIGHT, chess.BISHOP, chess.ROOK)
PIECES = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN, chess.KING)


def _bits(bb: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bb.to_bytes(8, "little"), dtype=np.uint8), bitorder="little")


def encode_board(board: chess.Board) -> np.ndarray:
    """float32 (19, 8, 8): row = rank (from the side to move), column = file."""
    me, them = board.turn, not board.turn
    flip = (lambda bb: chess.flip_vertical(bb)) if me == chess.BLACK else (lambda bb: bb)
    planes = np.zeros((PLANES, 64), dtype=np.float32)
    for i, piece in enumerate(PIECES):
        planes[i] = _bits(flip(board.pieces_mask(piece, me)))
        planes[6 + i] = _bits(flip(board.pieces_mask(piece, them)))
    planes[12] = board.has_kingside_castling_rights(me)
    planes[13] = board.has_queenside_castling_rights(me)
    planes[14] = board.has_kingside_castling_rights(them)
    planes[15] = board.has_queenside_castling_rights(them)
    if board.ep_square is not None and board.has_legal_en_passant():
        planes[16, orient(board.ep_square, me)] = 1
    planes[17] = min(board.halfmove_clock, 100) / 100
    planes[18] = 1
    return planes.reshape(PLANES, 8, 8)


def orient(square: int, color: bool) -> int:
    return square if color == chess.WHITE else chess.square_mirror(square)


def move_index(move: chess.Move, color: bool) -> int:
    """The action index of a move played by `color`."""
    f, t = orient(move.from_square, color), orient(move.to_square, color)
    df = chess.square_file(t) - chess.square_file(f)
    dr = chess.square_rank(t) - chess.square_rank(f)
    if move.promotion and move.promotion != chess.QUEEN:
        plane = 64 + (df + 1) * 3 + UNDER.index(move.promotion)
    elif (df, dr) in KNIGHT:
        plane = 56 + KNIGHT.index((df, dr))
    else:
        dist = max(abs(df), abs(dr))
        plane = QUEEN_DIRS.index(((df > 0) - (df < 0), (dr > 0) - (dr < 0))) * 7 + dist - 1
    return plane * 64 + f


def legal_moves(board: chess.Board) -> dict[int, chess.Move]:
    """Every legal move by its action index."""
    return {move_index(m, board.turn): m for m in board.legal_moves}


def legal_mask(board: chess.Board) -> np.ndarray:
    mask = np.zeros(ACTIONS, dtype=bool)
    mask[[move_index(m, board.turn) for m in board.legal_moves]] = True
    return mask


# -- evaluations: centipawns <-> a value in [-1, 1] ----------------------------------------------------
def cp_to_value(cp: float) -> float:
    """Expected score from the side to move's point of view, rescaled to [-1, 1] (400 cp ~ 0.82)."""
    return float(np.tanh(cp * np.log(10) / 800))


def value_to_cp(value: float) -> float:
    v = float(np.clip(value, -0.999, 0.999))
    return float(np.arctanh(v) * 800 / np.log(10))
