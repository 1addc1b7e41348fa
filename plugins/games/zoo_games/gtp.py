"""`zoo gtp RUN_DIR`: a trained Go run as a GTP engine on stdin/stdout, for Go GUIs (GoGui, Sabaki) and gnugo's
twogtp. The network is opened through the run's Predictor at the first genmove."""
from __future__ import annotations

import sys

from .go_play import GoPlay, NetworkGoPlayer
from .go_rules import Go, IllegalMove
from .protocols import check_run, open_model


class GtpEngine:
    """`zoo gtp RUN_DIR`: the network as a GTP engine (protocol_version, name, version, known_command,
    list_commands, boardsize 9, clear_board, komi, play, genmove, final_score, showboard, quit)."""

    COMMANDS = ("protocol_version", "name", "version", "known_command", "list_commands", "boardsize", "clear_board",
                "komi", "play", "genmove", "final_score", "showboard", "quit")

    def __init__(self, run_dir: str, simulations: int | None, out=sys.stdout):
        self.config = check_run(run_dir, "zoo_games.tasks.go:GoTask", "Go")
        self.run_dir, self.out = run_dir, out
        self.simulations = simulations if simulations is not None else \
            int(self.config["config"].get("data.play_simulations", 64))
        self.player = None
        self.game = GoPlay(9, history=int(self.config.get("info", {}).get("history", 0)))
        self.state = self.game.initial()

    def load(self):
        if self.player is None:
            predictor = open_model(self.run_dir)
            self.player = NetworkGoPlayer(predictor.model, self.simulations, predictor.device, komi=self.game.komi,
                                          history=self.game.history)
            self.player.game = self.game
            self.player.mcts.game = self.game
        return self.player

    def reply(self, ident: str, text: str, ok: bool = True) -> None:
        self.out.write(f"{'=' if ok else '?'}{ident} {text}".rstrip() + "\n\n")
        self.out.flush()

    def handle(self, cmd: str, args: list[str]) -> tuple[bool, str]:
        if cmd == "protocol_version":
            return True, "2"
        if cmd == "name":
            return True, f"zoo {self.config['recipe']}"
        if cmd == "version":
            return True, "0.1"
        if cmd == "known_command":
            return True, "true" if args and args[0] in self.COMMANDS else "false"
        if cmd == "list_commands":
            return True, "\n".join(self.COMMANDS)
        if cmd == "boardsize":
            return (True, "") if args == ["9"] else (False, "unacceptable size")
        if cmd == "clear_board":
            self.state = self.game.initial()
            return True, ""
        if cmd == "komi":
            try:
                self.game.komi = float(args[0])
            except (IndexError, ValueError):
                return False, "syntax error"
            return True, ""
        if cmd == "play":
            if len(args) != 2 or args[0].lower() not in ("b", "w", "black", "white"):
                return False, "syntax error"
            colour = 1 if args[0].lower().startswith("b") else -1
            try:
                action = self.game.parse_vertex(args[1])
                self.state = Go.next(self.game, (self.state[0], colour, *self.state[2:]), action)
            except (ValueError, IllegalMove) as exc:
                return False, f"illegal move ({exc})"
            return True, ""
        if cmd == "genmove":
            if not args or args[0].lower() not in ("b", "w", "black", "white"):
                return False, "syntax error"
            colour = 1 if args[0].lower().startswith("b") else -1
            state = (self.state[0], colour, *self.state[2:])  # GTP may ask either colour to move
            action = self.load().choose([state])[0]
            self.state = self.game.next(state, action)
            return True, self.game.action_name(action)
        if cmd == "final_score":
            s = self.game.score(self.state)
            return True, "0" if s == 0 else f"{'B' if s > 0 else 'W'}+{abs(s):g}"
        if cmd == "showboard":
            return True, "\n" + self.game.render(self.state)
        return False, "unknown command"

    def run(self, lines) -> None:
        for line in lines:
            tokens = line.split("#")[0].split()
            if not tokens:
                continue
            ident = tokens[0] if tokens[0].isdigit() else ""
            if ident:
                tokens = tokens[1:]
            if not tokens:
                continue
            ok, text = self.handle(tokens[0].lower(), tokens[1:])
            self.reply(ident, text, ok)
            if tokens[0].lower() == "quit":
                return


def gtp_main(run_dir: str, simulations: int | None = None) -> None:
    GtpEngine(run_dir, simulations).run(sys.stdin)
