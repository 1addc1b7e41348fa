"""Go with a trained network: its player (MCTS over the policy and value; it never fills its own one-point eyes),
games against GNU Go (which referees: its final_score), the task's evaluation and `zoo gtp RUN_DIR`."""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from zoo import ZooError

from .go_rules import Go, neighbours
from .tasks import PolicyValueTask


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


def NetworkGoPlayer(model, simulations: int, device="cpu", size: int = 9, komi: float = 7.0):
    """The network's Go player: the shared MCTS player over GoPlay's moves (no filling of its own eyes)."""
    from .players import MCTSPlayer

    return MCTSPlayer(model, GoPlay(size, komi), simulations, device)


def play_gnugo(model, games: int, level: int, simulations: int, device, max_moves: int = 162) -> list[float]:
    """`games` games against GNU Go at `level` (the network Black in the even games), all at once, one GNU Go
    process each; the network's result in each (1 win, 0 loss, 0.5 jigo), by GNU Go's final_score."""
    from .engines import GnuGo
    from .go_data import parse_score

    player = NetworkGoPlayer(model, simulations, device)
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


class GoTask(PolicyValueTask):
    """`policy_accuracy` is move agreement with GNU Go on held-out games; on the test split also
    `gnugo<L>_win_rate`, the network's wins over `eval_budget` games against GNU Go at each level of
    `data.gnugo_levels` (MCTS with `data.play_simulations` visits a move)."""

    monitor = "policy_accuracy"

    def evaluate_model(self, model, dataset, split, budget, device) -> dict[str, float]:
        if split != "test":
            return {}
        from zoo import DataMissing

        from .chess_data import warn

        quick = int(self.config.eval_limit)  # zoo's quick checks: one short game
        out = {}
        levels = self.info.get("gnugo_levels", [])
        try:
            for level in levels[:1] if quick else levels:
                scores = play_gnugo(model, 1 if quick else budget, int(level),
                                    2 if quick else int(self.info.get("play_simulations", 64)), device,
                                    max_moves=12 if quick else 162)
                out[f"gnugo{level}_win_rate"] = float(np.mean([s == 1.0 for s in scores]))
        except DataMissing as exc:
            warn(f"games against GNU Go not played: {exc}")
        return out

    def predict_inputs(self, run, inputs, out_dir, options) -> list[dict[str, Any]]:
        """`zoo predict RUN "E5 C3 ..."`: the moves played from the empty board (GTP vertices); the network's
        likeliest moves and its value for the side to move."""
        from zoo.tasks.base import refuse_options

        refuse_options(options, run.recipe.name)
        if not inputs:
            raise ZooError("zoo predict: give the moves played so far, e.g. \"E5 C3\" (an empty string: the empty board)")
        model = run.module
        device = next(model.parameters()).device
        player = NetworkGoPlayer(model, 0, device)
        rows = []
        for text in inputs:
            state = replay(player.game, str(text))
            probs, value = player.evaluate([state])[0]
            top = np.argsort(-probs)[:5]
            rows.append({"input": str(text), "move": player.game.action_name(int(top[0])),
                         "policy": ",".join(f"{player.game.action_name(int(a))}:{probs[a]:.3f}" for a in top),
                         "value": round(float(value), 4)})
        return rows


def replay(game: Go, text: str):
    from .go_rules import IllegalMove

    state = game.initial()
    for i, vertex in enumerate(text.replace(",", " ").split()):
        try:
            action = game.parse_vertex(vertex)
            state = game.next(state, action)
        except (ValueError, IllegalMove) as exc:
            raise ZooError(f"{text!r}: move {i + 1} ({vertex}): {exc}") from None
    return state


# -- zoo gtp -------------------------------------------------------------------------------------------
class GtpEngine:
    """`zoo gtp RUN_DIR`: the network as a GTP engine (protocol_version, name, version, known_command,
    list_commands, boardsize 9, clear_board, komi, play, genmove, final_score, showboard, quit)."""

    COMMANDS = ("protocol_version", "name", "version", "known_command", "list_commands", "boardsize", "clear_board",
                "komi", "play", "genmove", "final_score", "showboard", "quit")

    def __init__(self, run_dir: str, simulations: int | None, out=sys.stdout):
        from .uci import check_run

        self.config = check_run(run_dir, ("zoo_games.go_play:GoTask",), "Go")
        self.run_dir, self.out = run_dir, out
        self.simulations = simulations if simulations is not None else \
            int(self.config["config"].get("data.play_simulations", 64))
        self.player = None
        self.game = GoPlay(9)
        self.state = self.game.initial()

    def load(self):
        if self.player is None:
            from zoo.reopen import open_run

            run = open_run(self.run_dir, device="cpu")
            self.player = NetworkGoPlayer(run.module, self.simulations, "cpu", komi=self.game.komi)
            self.player.game = self.game
            self.player.mcts.game = self.game
        return self.player

    def reply(self, ident: str, text: str, ok: bool = True) -> None:
        self.out.write(f"{'=' if ok else '?'}{ident} {text}".rstrip() + "\n\n")
        self.out.flush()

    def handle(self, cmd: str, args: list[str]) -> tuple[bool, str]:
        from .go_rules import IllegalMove

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
                board, _, ko, passes, moves = self.state
                self.state = Go.next(self.game, (board, colour, ko, passes, moves), action)
            except (ValueError, IllegalMove) as exc:
                return False, f"illegal move ({exc})"
            return True, ""
        if cmd == "genmove":
            if not args or args[0].lower() not in ("b", "w", "black", "white"):
                return False, "syntax error"
            colour = 1 if args[0].lower().startswith("b") else -1
            board, _, ko, passes, moves = self.state
            state = (board, colour, ko, passes, moves)
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
