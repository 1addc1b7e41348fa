"""The hand-written Go rules on known positions: captures, suicide, ko, passing, area scoring, GTP vertices."""
import numpy as np
import pytest

from zoo_games.go_rules import Go, IllegalMove, area_score, place

GO = Go(9)
EMPTY = ["." * 9] * 9


def position(*rows: str, to_move: int = 1):
    return GO.from_rows(list(rows) + ["." * 9] * (9 - len(rows)), to_move)


def test_a_stone_and_a_group_without_liberties_are_captured():
    # White's stone at B9 (corner side) has one liberty left at C9; Black takes it
    state = position("XO.......", ".X.......")
    after = GO.next(state, GO.parse_vertex("C9"))
    assert after[0][GO.parse_vertex("B9")] == 0 and after[0][GO.parse_vertex("C9")] == 1
    # a group of two white stones, last liberty at D8
    state = position(".XX......", "XOO......", ".XX......")
    before = np.count_nonzero(np.array(state[0]) == -1)
    after = GO.next(state, GO.parse_vertex("D8"))
    assert before == 2 and np.count_nonzero(np.array(after[0]) == -1) == 0


def test_suicide_is_illegal_unless_it_captures():
    state = position(".X.......", "X........", to_move=-1)  # White into A9 has no liberty and takes nothing
    assert not GO.legal(state)[GO.parse_vertex("A9")]
    with pytest.raises(IllegalMove, match="suicide"):
        place(state[0], GO.parse_vertex("A9"), -1, 9, -1)
    # the same point is legal when it captures: the black stones at B9 and A8 are themselves in atari
    state = position(".XO......", "XO.......", "O........", to_move=-1)
    assert GO.legal(state)[GO.parse_vertex("A9")]
    after = GO.next(state, GO.parse_vertex("A9"))
    assert after[0][GO.parse_vertex("B9")] == 0 and after[0][GO.parse_vertex("A8")] == 0


def test_ko_cannot_be_retaken_at_once_but_can_after_a_move_elsewhere():
    # the classic ko shape: Black takes at C8, White may not retake at B8 at once
    state = position(".XO......", "XO.O.....", ".XO......")
    taken = GO.next(state, GO.parse_vertex("C8"))
    assert taken[0][GO.parse_vertex("B8")] == 0 and taken[2] == GO.parse_vertex("B8")
    assert not GO.legal(taken)[GO.parse_vertex("B8")]
    later = GO.next(GO.next(taken, GO.parse_vertex("J1")), GO.parse_vertex("J2"))  # a move each elsewhere
    assert GO.legal(later)[GO.parse_vertex("B8")]


def test_two_passes_end_the_game_and_area_scoring_counts_stones_and_territory():
    state = GO.initial()
    state = GO.next(GO.next(state, GO.pass_action), GO.pass_action)
    assert GO.over(state) and GO.score(state) == -7.0 and GO.result(state) == -1.0  # komi: Black to move lost
    # a wall on the E column: Black owns columns A-D plus its wall (45 points), White F-J (36)
    rows = ["....XO..."] * 9
    board = GO.from_rows(rows)[0]
    assert area_score(board, 9, 7.0) == (5 * 9) - (4 * 9) - 7.0
    # a region touching both colours is nobody's
    assert area_score(GO.from_rows(["X.O......"] + ["." * 9] * 8)[0], 9, 0.0) == 0.0


def test_gtp_vertices_skip_i_and_round_trip():
    assert GO.action_name(0) == "A9" and GO.action_name(8) == "J9" and GO.action_name(80) == "J1"
    assert all(GO.parse_vertex(GO.action_name(a)) == a for a in range(GO.num_actions))
    for bad in ("I5", "K1", "A10", "Z"):
        with pytest.raises(ValueError, match="not a point"):
            GO.parse_vertex(bad)


@pytest.fixture(scope="module")
def go_run(tmp_path_factory):
    """A tiny network trained on a few of the shipped GNU Go games (no games against GNU Go)."""
    from zoo.config import parse_sets
    from zoo.runs import train
    from zoo_games.shipped import go_resource
    from zoo.testing import require

    require(go_resource(1).is_file(), "the shipped GNU Go games are missing: python -m zoo_games.prepare go")
    out = tmp_path_factory.mktemp("go") / "run"
    train("games/go9-gnugo", sets=parse_sets(["epochs=1", "data.games=6", "data.gnugo_levels=", "data.history=2",
                                              "model.channels=8", "model.blocks=1", "batch_size=32",
                                              "grad_stats_every=0"]),
          out=str(out), callbacks=[])
    return out


def test_predict_the_next_move_after_moves_played_and_name_the_bad_ones(go_run):
    from zoo import ZooError
    from zoo.reopen import open_run

    run = open_run(go_run, device="cpu")
    rows = run.predict(["E5 C3", "E5 E5", "Z9", "E5, D4, pass"])
    assert [r["input"] for r in rows] == ["E5 C3", "E5 E5", "Z9", "E5, D4, pass"]
    good = [rows[0], rows[3]]
    for row, played in zip(good, (["E5", "C3"], ["E5", "D4"])):
        assert row["move"] not in played and len(row["policy"].split(",")) == 5 and -1 <= row["value"] <= 1
    assert "move 2 (E5)" in rows[1]["error"] and "not a point" in rows[2]["error"]
    with pytest.raises(ZooError, match="^Z9: .*not a point"):
        run.predict(["Z9"])


def test_gtp_opens_the_network_through_the_predictor_and_plays_legal_moves(go_run, monkeypatch):
    import io

    from zoo.testing import count_predictors
    from zoo_games.gtp import GtpEngine

    made = count_predictors(monkeypatch)
    out = io.StringIO()
    engine = GtpEngine(str(go_run), 4, out=out)
    engine.run(["1 name", "2 play black E5", "3 genmove white", "4 genmove black", "5 play white E5", "quit"])
    replies = out.getvalue().split("\n\n")
    assert made == [str(go_run)] and replies[0] == "=1 zoo games/go9-gnugo"
    white, black = replies[2].split()[1], replies[3].split()[1]
    assert white != "E5" and black not in ("E5", white) and replies[4].startswith("?5 illegal move")


def test_more_games_scored_on_a_smaller_sets_split_keep_its_held_out_games_and_train_on_the_rest():
    from zoo.errors import ZooError
    from zoo_games.go_data import go9_gnugo
    from zoo_games.shipped import go_resource
    from zoo.testing import require

    require(go_resource(1).is_file(), "the shipped GNU Go games are missing: python -m zoo_games.prepare go")
    small, big = go9_gnugo(games=20), go9_gnugo(games=40, split_of=20)
    for part in ("valid", "test"):
        assert [r["group"] for r in getattr(big, part).rows] == [r["group"] for r in getattr(small, part).rows]
    held_out = {r["group"] for r in small.valid.rows} | {r["group"] for r in small.test.rows}
    trained = {r["group"] for r in big.train.rows}
    assert {r["group"] for r in small.train.rows} <= trained <= set(range(40)) - held_out
    assert trained > {r["group"] for r in small.train.rows}
    assert big.info["labelled_train"] == len(big.train.rows) > len(small.train.rows)
    with pytest.raises(ZooError, match="data.split_of"):
        go9_gnugo(games=20, split_of=20)


def test_games_at_hand_are_not_played_again(monkeypatch, tmp_path):
    import zoo_games.engines as engines
    from zoo_games.go_data import gnugo_games
    from zoo_games.shipped import go_resource, read_resource
    from zoo.testing import require

    require(go_resource(1).is_file(), "the shipped GNU Go games are missing: python -m zoo_games.prepare go")
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path))

    def no_engine(*args, **kwargs):
        raise AssertionError("GNU Go was started for games at hand")

    monkeypatch.setattr(engines, "GnuGo", no_engine)
    shipped = read_resource(go_resource(1))[:5]
    assert gnugo_games(5, 1, known=shipped) == shipped


def test_the_last_two_moves_have_their_own_planes_and_a_pass_marks_nothing():
    game = Go(9, history=2)
    state = game.initial()
    assert game.encode(state).shape == (14, 9, 9) and not game.encode(state)[12:].any()
    for vertex in ("E5", "C3"):
        state = game.next(state, game.parse_vertex(vertex))
    planes = game.encode(state)
    assert planes[12].reshape(-1).nonzero()[0].tolist() == [game.parse_vertex("C3")]
    assert planes[13].reshape(-1).nonzero()[0].tolist() == [game.parse_vertex("E5")]
    after_pass = game.encode(game.next(state, game.pass_action))
    assert not after_pass[12].any() and after_pass[13].reshape(-1).nonzero()[0].tolist() == [game.parse_vertex("C3")]
    assert Go(9).encode(state).shape == (12, 9, 9)  # history=0: the planes of runs made before it existed


def test_a_board_held_out_never_trains_even_from_another_game():
    from zoo_games.go_data import board_key, go9_gnugo
    from zoo_games.shipped import go_resource
    from zoo.testing import require

    require(go_resource(1).is_file(), "the shipped GNU Go games are missing: python -m zoo_games.prepare go")
    bundle = go9_gnugo(games=300, split_of=100)
    held_out = {board_key(r["state"]) for r in bundle.valid.rows + bundle.test.rows}
    assert not any(board_key(r["state"]) in held_out for r in bundle.train.rows)
    assert bundle.info["held_out_removed"] > 0  # the empty board at least: every even game starts from it
    # training turns boards by the 8 symmetries: a turned or mirrored held-out board is the same board
    c3 = GO.next(GO.next(GO.initial(), GO.parse_vertex("C3")), GO.parse_vertex("D7"))
    for turned in (("G7", "F3"), ("C7", "D3"), ("G3", "F7"), ("C7", "G6")):
        assert board_key(GO.next(GO.next(GO.initial(), GO.parse_vertex(turned[0])), GO.parse_vertex(turned[1]))) \
            == board_key(c3)
    assert board_key(GO.next(GO.next(GO.initial(), GO.parse_vertex("C3")), GO.parse_vertex("D6"))) != board_key(c3)
