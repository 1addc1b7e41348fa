"""Chess: move agreement with Stockfish (the policy head's accuracy on held-out games' positions), mate puzzles
solved by a shallow search that uses the network, games against Stockfish; `zoo predict` of FENs and PGNs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo import ZooError
from zoo.tasks.base import refuse_options

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

    # -- zoo predict --------------------------------------------------------------------------------
    def predict_inputs(self, run, inputs, out_dir, options) -> list[dict[str, Any]]:
        """`zoo predict RUN --fen FEN` or `zoo predict RUN "FEN"`: the network's best moves with their
        probabilities and its evaluation (pawns, White's point of view); `zoo predict RUN game.pgn --out DIR`:
        the games annotated with the network's choice at every move, in DIR/<name>.annotated.pgn."""
        from ..chess_data import read_fen
        from ..chess_play import describe, policy_and_value

        options = dict(options)
        fens = list(options.pop("fen", None) or ())
        refuse_options(options, run.recipe.name)
        items = [("fen", f) for f in fens] + [("pgn" if str(i).lower().endswith(".pgn") else "fen", str(i))
                                              for i in inputs]
        if not items:
            raise ZooError("zoo predict: give a position (--fen FEN, or a FEN or a .pgn file as INPUT)")
        model = run.module
        device = next(model.parameters()).device
        rows = []
        for kind, item in items:
            if kind == "fen":
                board = read_fen(item)
                if board.is_game_over():
                    raise ZooError(f"illegal FEN {item!r}: the game is over ({board.outcome().termination.name.lower()})")
                dists, values = policy_and_value(model, [board], device)
                rows.append({"input": item, **describe(board, dists[0], values[0])})
            else:
                rows.append(annotate_pgn(Path(item), model, device, out_dir))
        return rows


def annotate_pgn(path: Path, model, device, out_dir: Path | None) -> dict[str, Any]:
    """Each game of a PGN with, after every move, the network's choice and evaluation as a comment; games with
    an illegal move are named and left out (the others kept)."""
    import chess.pgn

    from ..chess_data import read_games
    from ..chess_play import describe, policy_and_value

    if not path.is_file():
        raise ZooError(f"{path}: no such file")
    games = read_games(path)
    if not games:
        raise ZooError(f"{path}: no readable game in it")
    agree = total = 0
    for game in games:
        nodes = list(game.mainline())
        boards = [n.parent.board() for n in nodes]
        dists, values = policy_and_value(model, boards, device)
        for node, board, dist, value in zip(nodes, boards, dists, values):
            view = describe(board, dist, value, top=3)
            best = max(dist, key=dist.get)
            agree, total = agree + (best == node.move), total + 1
            note = f"zoo: {board.san(best)} ({dist[best]:.2f}); eval {view['eval']}"
            node.comment = f"{node.comment} {note}".strip() if node.comment else note
    row: dict[str, Any] = {"input": str(path), "games": len(games), "moves": total,
                           "agreement": round(agree / max(total, 1), 4)}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{path.stem}.annotated.pgn"
        with open(target, "w") as fh:
            for game in games:
                print(game, file=fh, end="\n\n")
        row["files"] = [str(target)]
    return row
