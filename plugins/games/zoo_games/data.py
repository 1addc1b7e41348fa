"""Dataset factories: what each recipe trains on.

- tictactoe, connect4: self-play (a DataGenerator; no fixed data).
- chess_stockfish (chess_data.py): positions labelled by Stockfish, or a user's PGN files.
- go9_gnugo (go_data.py): 9x9 positions labelled by GNU Go.
- pong_games (atari_data.py): Atari Pong frames labelled by a scripted player that reads the RAM (a DataGenerator:
  behaviour cloning, then DAgger).
"""
from __future__ import annotations

from zoo import ZooError
from zoo.data import DataBundle


def _no_data(data, name: str) -> None:
    if data is not None:
        raise ZooError(f"--data {data}: games/{name} makes its own data by self-play; it takes no files")


def _opponents(text: str) -> list[str]:
    names = [t.strip() for t in str(text).split(",") if t.strip()]
    for n in names:
        if n not in ("random", "perfect") and not (n.startswith("ab") and n[2:].isdigit()):
            raise ZooError(f"--set data.opponents: unknown opponent {n!r} (random, perfect, or abN: alpha-beta to depth N)")
    return names


def self_play(game_name: str, data, seed: int, games: int, simulations: int, capacity: int, temperature_moves: int,
              c_puct: float, dirichlet_alpha: float, noise: float, q_weight: float, eval_simulations: int,
              opponents: str, symmetries: bool, random_plies: int, eval_openings: int = 0,
              opening_plies: int = 0) -> DataBundle:
    from .catalog import get_game
    from .selfplay import SelfPlay, Symmetries

    _no_data(data, game_name)
    for key, value in (("games", games), ("simulations", simulations), ("capacity", capacity)):
        if value < 1:
            raise ZooError(f"--set data.{key}: must be at least 1, got {value}")
    if opening_plies < 0:
        raise ZooError(f"--set data.opening_plies: at least 0, got {opening_plies}")
    if eval_openings < 0 or eval_openings % 2:
        raise ZooError(f"--set data.eval_openings: an even number of plies (the first player moves next), "
                       f"got {eval_openings}")
    game = get_game(game_name)
    generator = SelfPlay(game, games, simulations, capacity, seed, temperature_moves, c_puct, dirichlet_alpha, noise,
                         q_weight, random_plies=random_plies, opening_plies=opening_plies)
    info = {"game": game.name, "opponents": _opponents(opponents), "eval_simulations": eval_simulations,
            "eval_openings": eval_openings, "num_classes": game.num_actions, "target_dims": 1}
    return DataBundle(train=None, valid=None, generator=generator, augment=Symmetries(game) if symmetries else None,
                      model_args={"in_planes": game.planes, "height": game.height, "width": game.width,
                                  "num_actions": game.num_actions},
                      info=info)


def tictactoe(data=None, seed: int = 0, games: int = 64, simulations: int = 32, capacity: int = 3000,
              temperature_moves: int = 9, c_puct: float = 1.5, dirichlet_alpha: float = 0.5, noise: float = 0.25,
              q_weight: float = 0.5, eval_simulations: int = 32, opponents: str = "random",
              symmetries: bool = True, random_plies: int = 1) -> DataBundle:
    """Tic-tac-toe self-play: `games` games a round, `simulations` MCTS visits per move."""
    return self_play("tictactoe", data, seed, games, simulations, capacity, temperature_moves, c_puct, dirichlet_alpha,
                     noise, q_weight, eval_simulations, opponents, symmetries, random_plies)


def connect4(data=None, seed: int = 0, games: int = 64, simulations: int = 64, capacity: int = 40000,
             temperature_moves: int = 8, c_puct: float = 1.5, dirichlet_alpha: float = 1.0, noise: float = 0.25,
             q_weight: float = 0.5, eval_simulations: int = 100, opponents: str = "ab1,ab2,ab4,ab6",
             symmetries: bool = True, random_plies: int = 1, eval_openings: int = 4,
             opening_plies: int = 4) -> DataBundle:
    """Connect Four self-play: `games` games a round, `simulations` MCTS visits per move, each game from a random
    opening of 0 to `opening_plies` plies. Evaluation games start after `eval_openings` random plies (each opening
    played with both colours and judged against its solved value; 0: the empty board)."""
    return self_play("connect4", data, seed, games, simulations, capacity, temperature_moves, c_puct, dirichlet_alpha,
                     noise, q_weight, eval_simulations, opponents, symmetries, random_plies, eval_openings,
                     opening_plies)
