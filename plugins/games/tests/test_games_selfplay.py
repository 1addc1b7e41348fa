"""AlphaZero self-play on the shared trainer: tic-tac-toe learns to never lose against perfect play (checked
exhaustively over every optimal reply, as X and as O), Connect Four's policy learns to beat a random player."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from zoo.config import parse_sets
from zoo.reopen import open_run
from zoo.runs import train
from zoo_games.games import ConnectFour, TicTacToe
from zoo_games.models import policy_value_net
from zoo_games.players import MCTSPlayer, RandomPlayer, lines_against, play_games, ttt_optimal

TTT = TicTacToe()


def rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def against_random(model, game, simulations: int, games: int = 60) -> float:
    """Win rate of the network (half the games as first player) against uniformly random moves."""
    rng = np.random.default_rng(123)
    net, rand = MCTSPlayer(model, game, simulations), RandomPlayer(game)
    results = play_games(game, [(net, rand)] * (games // 2) + [(rand, net)] * (games // 2), rng)
    return float(np.mean([r == 1.0 for r in results[: games // 2]] + [r == 0.0 for r in results[games // 2:]]))


@pytest.fixture(scope="module")
def tictactoe_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ttt") / "run"
    train("games/tictactoe-alphazero", sets=parse_sets(["epochs=5", "task.eval_budget=10"]), out=str(out), callbacks=[])
    return out


def test_tictactoe_never_loses_against_perfect_play_as_x_or_o(tictactoe_run):
    history = rows(tictactoe_run)
    assert history[-1]["valid_perfect_losses"] == 0
    assert history[0]["epoch"] == 1 and "cpu_minutes" in history[-1] and "generate_seconds" in history[-1]
    summary = json.loads((tictactoe_run / "summary.json").read_text())
    assert summary["test"]["perfect_losses"] == 0 and summary["test"]["any_losses"] == 0
    # the weights `zoo eval` loads, checked again here over every line a perfect opponent can choose
    model = open_run(tictactoe_run, device="cpu").module
    player = MCTSPlayer(model, TTT, 32)
    for first in (True, False):
        wins, draws, losses = lines_against(TTT, player, ttt_optimal, first)
        assert losses == 0 and draws > 0


def test_predict_a_position_takes_the_win_and_names_the_bad_ones(tictactoe_run, tmp_path):
    """`zoo predict RUN POSITION...` through the Predictor: X to move with two in a row takes the third cell;
    a finished game or a board that is not one is named, the others are still predicted."""
    from zoo import ZooError

    run = open_run(tictactoe_run, device="cpu")
    rows = run.predict(["xx.oo....", "xxxoo....", "xo", "..o.x...."], out=tmp_path / "out")
    assert [r["input"] for r in rows] == ["xx.oo....", "xxxoo....", "xo", "..o.x...."]
    assert rows[0]["move"] == "c3" and "c3:" in rows[0]["policy"] and rows[0]["value"] > 0  # cell 2: the top right
    assert rows[1]["error"] == "the game is over" and "9 characters" in rows[2]["error"]
    assert rows[3]["move"] in {TTT.action_name(a) for a in range(9)} - {"c3", "b2"}
    saved = json.loads(Path(rows[0]["files"][0]).read_text())
    assert saved["board"] == "xx.\noo.\n..." and saved["move"] == "c3"
    with pytest.raises(ZooError, match="the game is over"):
        run.predict(["xxxoo...."])


def test_tictactoe_learning_shows_against_an_untrained_network(tictactoe_run):
    torch.manual_seed(0)
    untrained = policy_value_net(3, 3, 3, 9, channels=32, blocks=2).eval()
    trained = open_run(tictactoe_run, device="cpu").module
    # the same search over an untrained network loses many lines against perfect play
    lost = sum(lines_against(TTT, MCTSPlayer(untrained, TTT, 32), ttt_optimal, f)[2] for f in (True, False))
    assert lost >= 10
    # the raw policy (no search) wins far more often against random play once trained
    before, after = against_random(untrained, TTT, 0), against_random(trained, TTT, 0)
    assert after >= before + 0.25 and after >= 0.8, (before, after)


def test_connect_four_policy_learns_to_beat_random_play(tmp_path):
    out = tmp_path / "c4"
    train("games/connect4-alphazero", sets=parse_sets([
        "epochs=3", "task.steps_per_round=30", "batch_size=64", "task.eval_budget=2", "data.games=24", "data.simulations=24",
        "data.eval_simulations=8", "data.opponents=ab1", "model.channels=16", "model.blocks=1", "lr=0.003"]),
        out=str(out), callbacks=[])
    torch.manual_seed(0)
    untrained = policy_value_net(3, 6, 7, 7, channels=16, blocks=1).eval()
    trained = open_run(out, device="cpu").module
    before, after = against_random(untrained, ConnectFour(), 0, 40), against_random(trained, ConnectFour(), 0, 40)
    assert after >= before + 0.2, (before, after)
    assert [r["epoch"] for r in rows(out)] == [1, 2, 3] and "valid_ab1_first" in rows(out)[-1]


def test_connect_four_evaluation_games_start_from_openings_of_their_own():
    """Each evaluation game against an alpha-beta player starts from one of eval_budget distinct random openings,
    and valid and test draw their own: a deterministic network against an opponent that only breaks ties at
    random would otherwise replay nearly the same game."""
    from zoo_games.tasks.board import BoardGameTask

    task = BoardGameTask.__new__(BoardGameTask)  # only `info` is needed to draw openings
    task.info = {"game": "connect4", "eval_openings": 2}
    game = ConnectFour()
    valid, again = task.openings(10, np.random.default_rng(1)), task.openings(10, np.random.default_rng(1))
    test = task.openings(10, np.random.default_rng(2))
    assert len({game.key(s) for s in valid}) == 10 and [game.key(s) for s in valid] == [game.key(s) for s in again]
    assert {game.key(s) for s in valid} != {game.key(s) for s in test}
    assert all(bin(game.key(s)[1]).count("1") == 2 for s in valid), "two stones on the board"


def test_connect_four_evaluation_plays_from_the_openings(monkeypatch):
    """evaluate_model hands every game its opening: each opening once per opponent and side."""
    from types import SimpleNamespace

    from zoo_games import players
    from zoo_games.tasks.board import BoardGameTask

    seen = []

    def record(game, pairs, rng, openings=None):
        seen.extend(openings or [])
        return [0.5] * len(pairs)

    monkeypatch.setattr(players, "play_games", record)
    task = BoardGameTask.__new__(BoardGameTask)
    task.config = SimpleNamespace(eval_limit=0)
    task.info = {"game": "connect4", "eval_openings": 2, "opponents": ["ab1"], "eval_simulations": 0}
    torch.manual_seed(0)
    task.evaluate_model(policy_value_net(3, 6, 7, 7, channels=8, blocks=1).eval(), None, "valid", 3, "cpu")
    game = ConnectFour()
    keys = [game.key(s) for s in seen]
    assert len(keys) == 6 and len(set(keys)) == 3 and keys[:3] == keys[3:]  # first, then second player
    assert all(bin(k[1]).count("1") == 2 for k in keys)
