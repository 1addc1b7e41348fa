"""Connect Four from random openings: the openings are legal and distinct, the solver that judges them is right on
positions whose value is known, the evaluation forgives only the losses of openings lost with perfect play, and a
tiny training from random openings values won and lost positions better than the untrained network."""
import numpy as np
import pytest
import torch

from zoo.config import parse_sets
from zoo.reopen import open_run
from zoo.runs import train
from zoo_games.connect4_solver import book_value, huffman, opening_values, solve
from zoo_games.games import BOARD_MASK, BOTTOM_ROW, ConnectFour
from zoo_games.mcts import NetEvaluator
from zoo_games.models import policy_value_net
from zoo_games.players import winning_cells
from zoo_games.selfplay import SelfPlay
from zoo_games.tasks.board import BoardGameTask

C4 = ConnectFour()


def task_with(**info) -> BoardGameTask:
    task = BoardGameTask.__new__(BoardGameTask)  # only `info` (and config.eval_limit) are read
    task.info = {"game": "connect4", **info}
    return task


def test_four_ply_openings_are_legal_distinct_and_unfinished():
    openings = task_with(eval_openings=4).openings(40, np.random.default_rng(7))
    keys = [C4.key(s) for s in openings]
    assert len(set(keys)) == 40
    for s in openings:
        assert s[2] == 4 and bin(s[1]).count("1") == 4 and C4.result(s) is None
        cells = C4.cells(s)  # no stone floats: every stone stands on the floor or on another stone
        assert all(cells[r, c] == 0 or r == 0 or cells[r - 1, c] != 0 for r in range(6) for c in range(7))
        assert (cells == 1).sum() == 2 and (cells == -1).sum() == 2  # the first player is to move again


def test_self_play_starts_from_random_openings_of_up_to_its_plies():
    play = SelfPlay(C4, games=1, simulations=1, capacity=10, seed=0, opening_plies=4)
    depths = [play.opening()[2] for _ in range(200)]
    assert set(depths) == {0, 1, 2, 3, 4}
    assert {SelfPlay(C4, 1, 1, 10, seed=0).opening()[2] for _ in range(5)} == {0}


def test_solver_agrees_with_the_known_values_of_the_first_move():
    """Connect Four is a first player's win in the centre column, a draw in the two next to it and a loss in the
    four others (Allis 1988; Allen 1988): the second player's value after each first move."""
    second = [solve(C4.next(C4.initial(), c)) for c in range(7)]
    assert second == [1, 1, 0, -1, 0, 1, 1]


def test_solver_on_hand_made_positions():
    # three in the bottom row with both ends open for the first player, the second player to move: lost for it
    assert solve(C4.parse("4455")) == 1  # the first player to move wins at once: 3 then 6 next
    assert solve(C4.parse("44553")) == -1  # now the second player to move faces an open three
    # a four already on the board: lost for the player to move
    assert solve(C4.parse("1212121")) == -1
    with pytest.raises(ValueError):
        solve(C4.parse("444444333"))  # 9 plies: past the database


def test_huffman_code_of_the_databases_documented_positions():
    """bitbully-databases' README: P1 wins this 8-ply board (not listed), and this other is a draw (listed)."""
    def from_rows(rows):  # top row first, 1 the first player, 2 the second
        first = mask = 0
        for r, row in enumerate(reversed(rows)):
            for c, v in enumerate(row):
                if v:
                    bit = 1 << (c * 7 + r)
                    mask |= bit
                    first |= bit if v == 1 else 0
        return (first, mask, 8, False)

    win = from_rows([[0] * 7, [0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 2, 0, 0, 0], [0, 2, 0, 1, 0, 0, 0],
                     [0, 1, 0, 2, 0, 0, 0], [0, 2, 0, 1, 0, 0, 0]])
    draw = from_rows([[0] * 7, [0, 0, 0, 2, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 2, 0, 0, 0],
                      [0, 0, 0, 1, 0, 2, 0], [0, 0, 1, 2, 0, 1, 0]])
    assert book_value(win) == 1 and book_value(draw) == 0
    assert huffman(win[0], win[1]).bit_length() <= 24 and huffman(win[0], win[1]) % 4 == 0


def test_losses_are_forgiven_only_in_openings_lost_for_the_networks_side():
    won = C4.parse("4455")  # won for the first player (to move)
    lost = next(s for s in task_with(eval_openings=4).openings(50, np.random.default_rng(0)) if solve(s) == -1)
    assert opening_values([won, lost, won]) == [1, -1, 1]
    task = task_with(eval_openings=4)
    openings = [won, lost, lost]
    labels = ["ab4_first"] * 3 + ["ab4_second"] * 3
    # the network loses every game: as first, the won opening is a failure and the two lost ones are forgiven; as
    # second, the opening won for the first player is forgiven and the two others are failures
    out = task.judged_by_solver(openings, [0.0] * 3 + [1.0] * 3, labels)
    assert out["ab4_first_solved"] == pytest.approx(2 / 3) and out["ab4_second_solved"] == pytest.approx(1 / 3)
    # and every win counts, in any opening
    out = task.judged_by_solver(openings, [1.0] * 3 + [0.0] * 3, labels)
    assert out["ab4_first_solved"] == 1.0 and out["solved_win_rate"] == 1.0
    assert out["openings_won_first"] == pytest.approx(1 / 3) and out["openings_drawn"] == 0.0
    # a draw is no win: it fails wherever the opening is not lost for the network's side
    out = task.judged_by_solver(openings, [0.5] * 6, labels)
    assert out["ab4_first_solved"] == pytest.approx(2 / 3) and out["ab4_second_solved"] == pytest.approx(1 / 3)
    assert task_with(eval_openings=0).judged_by_solver([C4.initial()], [1.0], ["ab4_first"]) == {}


def decided_positions(count: int) -> tuple[list, list]:
    """Positions reached by random play from random 4-ply openings where the player to move wins at once, and where
    it has no win but its opponent threatens two (lost)."""
    rng, won, lost = np.random.default_rng(3), {}, {}
    for state in task_with(eval_openings=4).openings(400, rng):
        while C4.result(state) is None:
            playable = (state[1] + BOTTOM_ROW) & BOARD_MASK
            mine, theirs = (winning_cells(state[0], state[1]) & playable,
                            winning_cells(state[0] ^ state[1], state[1]) & playable)
            if mine:
                won.setdefault(C4.key(state), state)
            elif theirs & (theirs - 1):
                lost.setdefault(C4.key(state), state)
            state = C4.next(state, int(rng.choice(np.flatnonzero(C4.legal(state)))))
    return list(won.values())[:count], list(lost.values())[:count]


def test_training_from_openings_teaches_the_value_of_won_and_lost_positions(tmp_path):
    """A tiny self-play training (the recipe's random openings) against the untrained network: how often its value
    ranks a position won at once above one lost to a double threat (0.5 is chance)."""
    out = tmp_path / "c4"
    train("games/connect4-alphazero", sets=parse_sets([
        "epochs=3", "task.steps_per_round=150", "batch_size=64", "task.eval_budget=2", "data.games=24",
        "data.simulations=24",
        "data.eval_simulations=0", "data.opponents=ab1", "model.channels=16", "model.blocks=1", "lr=0.005"]),
        out=str(out), callbacks=[])
    won, lost = decided_positions(200)
    assert len(won) == len(lost) == 200

    def ranking(model) -> tuple[float, float]:
        evaluate = NetEvaluator(model, C4)
        a, b = (np.array([v for _, v in evaluate(group)]) for group in (won, lost))
        return float((a[:, None] > b[None, :]).mean()), float(a.mean() - b.mean())

    torch.manual_seed(0)
    before = ranking(policy_value_net(3, 6, 7, 7, channels=16, blocks=1).eval())
    after = ranking(open_run(out, device="cpu").module)
    assert after[0] >= 0.6 and after[0] >= before[0] + 0.08, (before, after)
    assert after[1] >= 0.15, (before, after)
