"""The board games by name (`info["game"]`, data.game): tic-tac-toe and Connect Four (zoo_games.games), Go on 9x9
(zoo_games.go_rules)."""
from __future__ import annotations

from .games import ConnectFour, Game, TicTacToe
from .go_rules import Go

GAMES = {"tictactoe": TicTacToe, "connect4": ConnectFour}


def get_game(name: str) -> Game:
    if name == "go9":
        return Go(9)
    if name not in GAMES:
        raise ValueError(f"unknown game {name!r}; known: {', '.join([*GAMES, 'go9'])}")
    return GAMES[name]()
