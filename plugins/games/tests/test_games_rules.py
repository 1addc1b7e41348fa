"""The hand-written pieces: rules of tic-tac-toe and Connect Four, the tic-tac-toe solver, alpha-beta, MCTS,
board symmetries, and the self-play generator's state (what exact resume relies on)."""
import numpy as np
import pytest
import torch

from zoo_games.games import ConnectFour, TicTacToe, action_permutations
from zoo_games.mcts import MCTS, pick
from zoo_games.players import (AlphaBeta, PerfectTicTacToe, RandomPlayer, lines_against, play_match, ttt_optimal,
                               ttt_value)

C4 = ConnectFour()
TTT = TicTacToe()


def uniform(game):
    """An evaluator that knows nothing: flat priors, value 0 (MCTS then sees only the rules)."""
    return lambda states: [(np.ones(game.num_actions, dtype=np.float32), 0.0) for _ in states]


def four_by_hand(cells: np.ndarray, who: int) -> bool:
    """Four in a row of `who` on a (6, 7) grid, by looking at every line of four cells."""
    for r in range(6):
        for c in range(7):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (-1, 1)):
                cells_ = [(r + k * dr, c + k * dc) for k in range(4)]
                if all(0 <= rr < 6 and 0 <= cc < 7 and cells[rr, cc] == who for rr, cc in cells_):
                    return True
    return False


@pytest.mark.parametrize("moves", ["1213141", "1122334", "12233434474", "76655454414"])
def test_connect_four_sees_four_in_a_row_in_every_direction(moves):
    state = C4.parse(moves[:-1])
    assert C4.result(state) is None
    after = C4.next(state, int(moves[-1]) - 1)
    assert C4.result(after) == -1.0  # the player to move has lost
    assert four_by_hand(-C4.cells(after), 1)  # cells: 1 for the player to move; the winner is the other


def test_connect_four_bitboards_agree_with_a_check_by_hand_over_random_games():
    rng = np.random.default_rng(0)
    for _ in range(40):
        state = C4.initial()
        while C4.result(state) is None:
            state = C4.next(state, int(rng.choice(np.flatnonzero(C4.legal(state)))))
            cells = C4.cells(state)
            assert (C4.result(state) == -1.0) == four_by_hand(-cells, 1), C4.render(state)
            assert not four_by_hand(cells, 1)  # the player to move never has four already


def test_connect_four_full_columns_draws_and_parsing():
    state = C4.parse("444444")
    assert not C4.legal(state)[3] and C4.legal(state).sum() == 6
    with pytest.raises(ValueError, match="column 4 is full"):
        C4.parse("4444444")
    with pytest.raises(ValueError, match="the game is over"):
        C4.parse("12121212")
    # a full board without four in a row (checked here independently of the bitboards) is a draw
    moves = "666165577462463234152541333211132724554777"
    state = C4.parse(moves[:-1])
    assert C4.result(state) is None
    state = C4.next(state, int(moves[-1]) - 1)
    cells = C4.cells(state)
    lines = [cells[r, c:c + 4] for r in range(6) for c in range(4)] + [cells[r:r + 4, c] for r in range(3) for c in range(7)]
    lines += [np.array([cells[r + k, c + k] for k in range(4)]) for r in range(3) for c in range(4)]
    lines += [np.array([cells[r + 3 - k, c + k] for k in range(4)]) for r in range(3) for c in range(4)]
    assert (cells != 0).all() and not any(abs(line.sum()) == 4 for line in lines)
    assert C4.result(state) == 0.0


def test_tictactoe_solver_and_perfect_player():
    assert ttt_value(TTT.initial()) == 0  # a draw with best play
    assert ttt_value(TTT.parse("xx.oo....")) == 1  # X to move wins at once
    assert ttt_optimal(TTT.parse("xx.oo....")) == [2]
    assert ttt_value(TTT.parse("x...o...x")) == 0 and set(ttt_optimal(TTT.parse("x...o...x"))) == {1, 3, 5, 7}
    rng = np.random.default_rng(0)
    perfect = PerfectTicTacToe()
    assert min(play_match(TTT, perfect, RandomPlayer(TTT), 40, rng)) >= 0.5  # never loses, as X
    assert max(play_match(TTT, RandomPlayer(TTT), perfect, 40, rng)) <= 0.5  # nor as O
    # the perfect player itself never loses a line against perfect play (the yardstick of the exact test)
    assert lines_against(TTT, perfect, ttt_optimal, True)[2] == 0
    assert lines_against(TTT, perfect, ttt_optimal, False)[2] == 0


def test_alpha_beta_wins_blocks_and_deeper_is_stronger():
    rng = np.random.default_rng(0)
    ab = AlphaBeta(2)
    assert ab.choose([C4.parse("112233")], rng) == [3]  # completes 4 in a row
    assert ab.choose([C4.parse("12131")], rng) == [0]  # blocks the vertical three
    assert np.mean(play_match(C4, AlphaBeta(2), RandomPlayer(C4), 10, rng)) >= 0.9
    # a deeper search beats depth 1, as either side
    assert np.mean(play_match(C4, AlphaBeta(2), AlphaBeta(1), 10, rng)) >= 0.7
    assert np.mean(play_match(C4, AlphaBeta(1), AlphaBeta(2), 10, rng)) <= 0.3
    assert np.mean(play_match(C4, AlphaBeta(4), AlphaBeta(1), 10, rng)) >= 0.7


def test_mcts_finds_a_win_and_a_block_from_the_rules_alone():
    for game, text, move in ((TTT, "xx.oo....", 2), (TTT, "x.xo.....", 1), (C4, "112233", 3), (C4, "121213", 0)):
        mcts = MCTS(game, uniform(game), noise=0.0)
        root = mcts.root(game.parse(text))
        mcts.search([root], 400)
        assert pick(root, 0.0, None) == move, (text, root.n)


def test_mcts_proves_game_ends_and_never_plays_a_move_proved_lost():
    rng = np.random.default_rng(0)
    for _ in range(40):  # near the end of tic-tac-toe the search proves each position's exact value
        s = TTT.initial()
        while np.count_nonzero(TTT.legal(s)) > 4 and TTT.result(s) is None:
            s = TTT.next(s, int(rng.choice(np.flatnonzero(TTT.legal(s)))))
        if TTT.result(s) is None:
            mcts = MCTS(TTT, uniform(TTT), noise=0.0, solve=True)
            root = mcts.root(s)
            mcts.search([root], 1000)
            assert root.proven == ttt_value(s), TTT.render(s)

    def fond_of_corner(states):  # a network sure of the corner 2, which loses to a fork
        prior = np.full(9, 0.01, dtype=np.float32)
        prior[2] = 1.0
        return [(prior, 0.0) for _ in states]

    mcts = MCTS(TTT, fond_of_corner, noise=0.0, solve=True)
    root = mcts.root(TTT.parse("x...o...x"))
    mcts.search([root], 50)  # the corner still has the most visits here
    assert root.exact[list(root.actions).index(2)] == -1
    assert pick(root, 0.0, None) in ttt_optimal(root.state)


def test_symmetries_permute_the_policy_with_the_board():
    perms = action_permutations(TTT)
    assert perms.shape == (8, 9) and all(sorted(p) == list(range(9)) for p in perms)
    assert action_permutations(C4).tolist() == [[0, 1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1, 0]]
    from zoo_games.selfplay import Symmetries

    rng = np.random.default_rng(1)
    states = []
    for _ in range(64):
        s = TTT.initial()
        for _ in range(int(rng.integers(0, 6))):
            if TTT.result(s) is not None:
                break
            s = TTT.next(s, int(rng.choice(np.flatnonzero(TTT.legal(s)))))
        states.append(s)
    planes = torch.tensor(np.stack([TTT.encode(s) for s in states]))
    legal = torch.tensor(np.stack([TTT.legal(s) for s in states]))
    policy = legal.float() / legal.float().sum(1, keepdim=True)
    x, y = Symmetries(TTT)({"planes": planes, "legal": legal}, {"policy": policy, "value": torch.zeros(64)})
    empty = (x["planes"][:, 0] + x["planes"][:, 1] == 0).reshape(64, -1)
    assert torch.equal(empty, x["legal"]) and torch.equal(y["policy"] > 0, x["legal"])
    assert not torch.equal(x["planes"], planes)  # some were turned


def test_self_play_state_round_trip_gives_the_same_next_round():
    from zoo_games.data import tictactoe
    from zoo_games.models import policy_value_net

    torch.manual_seed(0)
    model = policy_value_net(3, 3, 3, 9, channels=8, blocks=1).eval()
    a = tictactoe(games=6, simulations=8).generator
    a.generate(model, 0, "cpu")
    b = tictactoe(games=6, simulations=8, seed=5).generator
    b.load_state_dict(a.state_dict())
    a.generate(model, 1, "cpu")
    b.generate(model, 1, "cpu")
    assert torch.equal(a.buffer.y["value"], b.buffer.y["value"])
    assert torch.equal(a.buffer.y["policy"], b.buffer.y["policy"])
    assert a.played == b.played == 12
    # visit distributions sum to one and sit on legal moves; values are outcomes mixed with search values
    assert torch.allclose(a.buffer.y["policy"].sum(1), torch.ones(len(a.buffer)))
    assert not (a.buffer.y["policy"] > 0)[~a.buffer.x["legal"]].any()
    assert a.buffer.y["value"].abs().max() <= 1
