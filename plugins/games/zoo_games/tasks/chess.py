"""Chess: move agreement with Stockfish (the policy head's accuracy on held-out games' positions), mate puzzles
solved by a shallow search that uses the network, games against Stockfish; `zoo predict` of FENs and PGNs
(the annotated games under --out)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo import ZooError

from .policy import PolicyValueTask


class ChessTask(PolicyValueTask):
    """Figures: `policy_accuracy` is move agreement with Stockfish's best move (illegal moves masked),
    `policy_top3` whether it is among the network's 3 likeliest; on the test split also `mate2_solved` and
    `mate3_solved` (share of the held-out pychess mates found by MateSearch with the network's top
    `data.mate_k` moves, at most `data.puzzles` of each), and `stockfish<S>_score`, the network's score over
    `eval_budget` games against Stockfish at Skill Level S (MCTS with `data.play_simulations` visits a move)."""

    monitor = "policy_accuracy"

    def evaluate_model(self, model, dataset, split, budget, device) -> dict[str, float]:
        if split != "test" or self.info.get("source") != "stockfish":
            return {}
        from zoo import DataMissing

        from ..chess_data import mate_puzzles, warn
        from ..chess_play import MateSearch, play_stockfish, policy_and_value, solve_rate

        out: dict[str, float] = {}
        quick = int(self.config.eval_limit)  # zoo's quick checks: a few puzzles, one short game
        limit = 4 * quick if quick else int(self.info.get("puzzles", 0))
        search = MateSearch(lambda boards: policy_and_value(model, boards, device)[0], k=int(self.info.get("mate_k", 3)))
        try:
            for n, puzzles in mate_puzzles().items():
                found, _ = solve_rate(puzzles[:limit] if limit else puzzles, n, search)
                out[f"mate{n}_solved"] = float(np.mean(found))
        except DataMissing as exc:
            warn(f"mate puzzles not scored: {exc}")
        skills = self.info.get("stockfish_skills", [])
        try:
            for skill in skills[:1] if quick else skills:
                scores = play_stockfish(model, 1 if quick else budget, int(skill),
                                        2 if quick else int(self.info.get("play_simulations", 32)), device,
                                        seed=int(skill), max_plies=10 if quick else 200)
                out[f"stockfish{skill}_score"] = float(np.mean(scores))
        except DataMissing as exc:
            warn(f"games against Stockfish not played: {exc}")
        return out

    # -- zoo predict: FENs (text, or files of them) and PGN files, through the Predictor's hooks --------------
    def prediction_game(self):
        from ..chess_play import ChessGame

        return ChessGame()

    def positions(self, item) -> list:
        return item.boards if isinstance(item, PgnGames) else [item]

    def records(self, item, read) -> list[tuple[str, Any]]:
        """`zoo predict RUN "FEN"`: the position; a .pgn file: its games (one row per file: agreement with the moves
        played, the annotated games under --out); another file: one FEN a line. A folder stands for its files."""
        name = str(item)
        if isinstance(item, (str, Path)) and is_file(name):
            path = Path(name)
            if path.suffix.lower() == ".pgn":
                return [(name, PgnGames.read(path, name))]
            from ..chess_data import fen_lines

            found = fen_lines(path)
            return [(name if len(found) == 1 else f"{name}:{line}", playable(board)) for line, board in found]
        return [(name, playable(read(item)))]

    def predict(self, output) -> list[dict[str, Any]]:
        """A position: the network's best moves with their probabilities (SAN) and its evaluation (pawns, White's
        point of view); a PGN: how often its likeliest move is the one played, each move annotated in the games."""
        from ..chess_moves import legal_moves
        from ..chess_play import describe

        rows = []
        for item, probs, values in self.per_input(output):
            if isinstance(item, PgnGames):
                rows.append(item.annotate(probs, values))
            else:
                dist = {m: float(probs[0][i]) for i, m in legal_moves(item).items()}
                rows.append(describe(item, dist, float(values[0])))
        return rows

    def write_output(self, output, prediction, stem: Path) -> list[Path]:
        """A PGN's games with the network's choice and evaluation after every move, as <name>.annotated.pgn; a
        position's row as JSON."""
        found = [i for i in output["inputs"].items if isinstance(i, PgnGames) and i.name == prediction["input"]]
        if not found:
            return super().write_output(output, prediction, stem)
        target = stem.parent / f"{stem.name}.annotated.pgn"
        with open(target, "w") as fh:
            for game in found[0].games:
                print(game, file=fh, end="\n\n")
        return [target]


def is_file(name: str) -> bool:
    try:
        return Path(name).is_file()
    except OSError:  # a FEN too long to be a file name
        return False


def playable(board):
    """The board, refused in one line when its game is over (there is no move to predict)."""
    if board.is_game_over():
        raise ZooError(f"the game is over ({board.outcome().termination.name.lower()})")
    return board


class PgnGames:
    """The readable games of a PGN file and the position before each move of their main lines."""

    def __init__(self, name: str, games: list):
        self.name, self.games = name, games
        self.nodes = [node for game in games for node in game.mainline()]
        self.boards = [node.parent.board() for node in self.nodes]

    @classmethod
    def read(cls, path: Path, name: str) -> "PgnGames":
        """A PGN file's games; a game with an illegal move is named and left out (the others kept); a file that is
        not a PGN, or whose games have no move, is one line."""
        from ..chess_data import read_games

        games = read_games(path)
        if not games:
            raise ZooError("no readable game in it")
        found = cls(name, games)
        if not found.boards:
            raise ZooError(f"no moves in its {len(games)} game(s)")
        return found

    def annotate(self, probs: np.ndarray, values: np.ndarray) -> dict[str, Any]:
        """After every move, the network's choice and evaluation as a comment; how often its choice was played."""
        from ..chess_moves import legal_moves
        from ..chess_play import describe

        agree = 0
        for node, board, p, value in zip(self.nodes, self.boards, probs, values):
            dist = {m: float(p[i]) for i, m in legal_moves(board).items()}
            view = describe(board, dist, float(value), top=3)
            best = max(dist, key=dist.get)
            agree += best == node.move
            note = f"zoo: {board.san(best)} ({dist[best]:.2f}); eval {view['eval']}"
            node.comment = f"{node.comment} {note}".strip() if node.comment else note
        return {"games": len(self.games), "moves": len(self.nodes), "agreement": round(agree / len(self.nodes), 4)}
