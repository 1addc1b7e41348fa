"""`zoo uci RUN_DIR`: a trained chess run as a UCI engine on stdin/stdout, so that chess GUIs and python-chess
(chess.engine.SimpleEngine.popen_uci(["zoo", "uci", RUN_DIR])) can play it.

Supported: uci, isready, ucinewgame, setoption name Simulations value N, position [startpos | fen F] [moves ...],
go (any limits: the move comes from MCTS with the set number of visits), stop, quit. The network is loaded at
the first isready or go, after `uciok`, through the run's Predictor, so the GUI's handshake does not wait
for torch.
"""
from __future__ import annotations

import sys

from .protocols import check_run, open_model


class UciEngine:
    def __init__(self, run_dir: str, simulations: int | None, out=sys.stdout):
        self.config = check_run(run_dir, "zoo_games.tasks.chess:ChessTask", "chess")
        self.run_dir, self.out = run_dir, out
        self.simulations = simulations if simulations is not None else \
            int(self.config["config"].get("data.play_simulations", 32))
        self.player = None
        self.board = None

    def say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def load(self):
        if self.player is None:
            import chess

            from .chess_play import NetworkPlayer

            predictor = open_model(self.run_dir)  # the network through the run's Predictor
            self.player = NetworkPlayer(predictor.model, self.simulations, predictor.device)
            self.board = self.board or chess.Board()
        return self.player

    def position(self, tokens: list[str]) -> None:
        import chess

        try:
            if tokens and tokens[0] == "startpos":
                board, rest = chess.Board(), tokens[1:]
            elif tokens and tokens[0] == "fen":
                end = tokens.index("moves") if "moves" in tokens else len(tokens)
                board, rest = chess.Board(" ".join(tokens[1:end])), tokens[end:]
            else:
                raise ValueError("expected startpos or fen")
            if rest and rest[0] == "moves":
                for uci in rest[1:]:
                    move = chess.Move.from_uci(uci)
                    if move not in board.legal_moves:
                        raise ValueError(f"illegal move {uci} in {board.fen()}")
                    board.push(move)
        except ValueError as exc:
            self.say(f"info string error: position {' '.join(tokens)}: {exc}")
            return
        self.board = board

    def go(self) -> None:
        import chess

        player = self.load()
        board = self.board or chess.Board()
        if board.is_game_over():
            self.say("bestmove 0000")
            return
        move = player.choose([board])[0]
        from .chess_play import policy_and_value
        from .chess_moves import value_to_cp

        _, values = policy_and_value(player.model, [board], player.device)
        self.say(f"info depth 1 score cp {int(round(value_to_cp(values[0])))} pv {move.uci()}")
        self.say(f"bestmove {move.uci()}")

    def run(self, lines) -> None:
        import chess

        for line in lines:
            tokens = line.split()
            if not tokens:
                continue
            cmd, args = tokens[0], tokens[1:]
            if cmd == "uci":
                self.say(f"id name zoo {self.config['recipe']}")
                self.say("id author zoo-games")
                self.say(f"option name Simulations type spin default {self.simulations} min 0 max 100000")
                self.say("uciok")
            elif cmd == "isready":
                self.load()
                self.say("readyok")
            elif cmd == "ucinewgame":
                self.board = chess.Board()
            elif cmd == "setoption":
                if len(args) >= 4 and args[1].lower() == "simulations" and args[2] == "value" and args[3].isdigit():
                    self.simulations = int(args[3])
                    if self.player is not None:
                        self.player.simulations = self.simulations
            elif cmd == "position":
                self.position(args)
            elif cmd == "go":
                self.go()
            elif cmd == "quit":
                return
            elif cmd not in ("stop", "ponderhit", "debug", "register"):
                self.say(f"info string unknown command {cmd}")


def main(run_dir: str, simulations: int | None = None) -> None:
    UciEngine(run_dir, simulations).run(sys.stdin)
