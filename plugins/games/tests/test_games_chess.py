"""Chess: the move encoding, Stockfish labelling (cached, resumable, surviving a crashing or hanging engine),
users' PGN files with bad games, bad FENs, and a network distilled from Stockfish labels that learns, speaks
UCI and annotates PGNs."""
import json
import os
import sys
import threading
import time
from pathlib import Path

import chess
import numpy as np
import pytest

from zoo import DataMissing, ZooError
from zoo.testing import require
from zoo_games.chess_moves import ACTIONS, encode_board, legal_moves, move_index

HERE = Path(__file__).parent
FAKE = f"{sys.executable} {HERE / 'fake_uci.py'}"
BAD_PGN = """[Event "one"]
[White "A"]
[Black "B"]
[Result "1-0"]

1. e4 e5 2. Nf3 Nc6 3. Bb5 a6 1-0

[Event "two"]
[White "C"]
[Black "D"]
[Result "0-1"]

1. e4 e5 2. Ke3 Nc6 0-1

[Event "three"]
[FEN "not a fen"]
[SetUp "1"]
[Result "*"]

1. e4 *

[Event "four"]
[White "E"]
[Black "F"]
[Result "1/2-1/2"]

1. d4 { [%eval 0.25] } d5 { +0.31/12 } 2. c4 {[%eval -1.5]} 1/2-1/2
"""


def have_pychess() -> bool:
    from zoo_games.chess_data import pychess_dir
    try:
        pychess_dir()
        return True
    except DataMissing:
        return False


def test_every_legal_move_has_its_own_action_and_planes_face_the_side_to_move():
    rng = np.random.default_rng(0)
    for _ in range(150):
        board = chess.Board()
        for _ in range(int(rng.integers(0, 90))):
            moves = list(board.legal_moves)
            if not moves:
                break
            board.push(moves[int(rng.integers(len(moves)))])
        actions = legal_moves(board)
        assert len(actions) == board.legal_moves.count() and all(0 <= a < ACTIONS for a in actions)
    # under-promotions, castling and the mirror for Black
    board = chess.Board("r3k2r/1P6/8/8/8/8/p7/R3K2R w KQkq - 0 1")
    white = {m.uci() for m in legal_moves(board).values()}
    assert {"b7b8n", "b7b8b", "b7b8r", "b7b8q", "e1g1", "e1c1", "b7a8q", "b7a8n"} <= white
    black = board.copy()
    black.turn = chess.BLACK
    # the same move seen from each side gets the same index: e1g1 for White is e8g8 for Black
    assert move_index(chess.Move.from_uci("e1g1"), chess.WHITE) == move_index(chess.Move.from_uci("e8g8"), chess.BLACK)
    planes = encode_board(chess.Board())
    flipped = encode_board(chess.Board("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR b KQkq - 0 1"))
    assert planes.shape == (19, 8, 8) and np.array_equal(planes[:12], flipped[:12])  # symmetric start
    assert planes[0, 1].sum() == 8 and planes[6, 6].sum() == 8  # own pawns on rank 2, theirs on rank 7


def test_illegal_fen_and_game_over_are_one_line_errors():
    from zoo_games.chess_data import read_fen

    with pytest.raises(ZooError, match="illegal FEN 'not a fen'"):
        read_fen("not a fen")
    with pytest.raises(ZooError, match="too many kings"):
        read_fen("K6K/8/8/8/8/8/8/k7 w - - 0 1")
    assert read_fen(" 8/8/8/8/8/8/8/K1k5 w - - 0 1 ").fen().startswith("8/8")


def test_a_pgn_with_an_illegal_move_names_the_game_and_move_and_keeps_the_others(tmp_path, capsys):
    from zoo_games.chess_data import user_games

    path = tmp_path / "mine.pgn"
    path.write_text(BAD_PGN)
    train, valid, test = user_games(path, seed=0)
    err = capsys.readouterr().err
    assert f"{path}, game 2 (C - D): move 2.: illegal san: 'Ke3'; game left out" in err
    assert f"{path}, game 3 (? - ?): its FEN header" in err
    rows = train + valid + test
    assert len(rows) == 6 + 3  # games one and four
    # engine comments give the value, for the side to move before the move: [%eval 0.25] after 1. d4 is +0.25 for
    # White; +0.31/12 after 1... d5 is White's +0.31, so Black's -; [%eval -1.5] after 2. c4 is -1.5 for White
    values = {r["move"]: r["value"] for r in rows if r["group"].endswith("#1")}
    assert values["d2d4"] > 0 and values["d7d5"] < 0 and values["c2c4"] < 0  # +0.25, +0.31 for White, -1.5
    with pytest.raises(ZooError, match="expected a .pgn file"):
        user_games(tmp_path / "x.txt", 0)


def test_labels_are_cached_and_an_interrupted_job_does_not_redo_them(tmp_path, monkeypatch):
    require(have_pychess(), "pychess data missing: python -m zoo_games.pychess_data")
    from zoo_games.chess_data import LabelCache, Labeller, gather

    log = tmp_path / "goes.log"
    monkeypatch.setenv("ZOO_STOCKFISH", FAKE)
    monkeypatch.setenv("FAKE_LOG", str(log))

    class Interrupted(Labeller):
        def label(self, board):
            if self.analysed == 7 and board.fen() not in self.cache:
                raise KeyboardInterrupt  # a job stopped midway
            return super().label(board)

    with pytest.raises(KeyboardInterrupt):
        gather(16, 1, seed=0, labeller=Interrupted(1, LabelCache(tmp_path / "a.jsonl")), progress=False)
    assert sum(1 for _ in open(log)) == 7
    resumed = gather(16, 1, seed=0, labeller=Labeller(1, LabelCache(tmp_path / "a.jsonl")), progress=False)
    first_run = sum(1 for _ in open(log))
    whole = gather(16, 1, seed=0, labeller=Labeller(1, LabelCache(tmp_path / "b.jsonl")), progress=False)
    assert first_run - 7 == sum(1 for _ in open(log)) - first_run - 7  # the resumed job did only the rest
    assert [r["fen"] for r in resumed] == [r["fen"] for r in whole] and len(resumed) == 16
    assert {r["source"] for r in whole} >= {"puzzles", "book", "random playouts"}


def test_parallel_labelling_gives_the_serial_rows_and_shares_one_cache(tmp_path, monkeypatch):
    require(have_pychess(), "pychess data missing: python -m zoo_games.pychess_data")
    from zoo_games.chess_data import LabelCache, Labeller, gather

    log = tmp_path / "goes.log"
    monkeypatch.setenv("ZOO_STOCKFISH", FAKE)
    monkeypatch.setenv("FAKE_LOG", str(log))
    def run(cache: str, workers: int = 1) -> list[dict]:  # walks of 16 plies: several walks in 60 positions
        return gather(60, 1, seed=0, playout_plies=16, labeller=Labeller(1, LabelCache(tmp_path / cache)),
                      progress=False, workers=workers)

    serial, parallel = run("serial.jsonl"), run("parallel.jsonl", workers=2)
    same = ("fen", "move", "pv", "cp", "mate", "engine", "group", "source")  # all but the seconds each took
    assert [[r[k] for k in same] for r in parallel] == [[r[k] for k in same] for r in serial]
    assert {r["source"] for r in serial} >= {"puzzles", "random playouts", "book", "engine playouts"}
    assert len({r["group"] for r in serial if r["group"].startswith("book#")}) >= 2  # several walks were assembled
    assert {r["engine"] for r in serial} == {"fake"}
    # the workers wrote one cache: a serial run on it asks the engine nothing
    before = sum(1 for _ in open(log))
    again = run("parallel.jsonl")
    assert sum(1 for _ in open(log)) == before and [r["fen"] for r in again] == [r["fen"] for r in serial]


def test_the_label_cache_is_named_by_engine_version_and_depth_and_reads_what_others_append(tmp_path, monkeypatch):
    from zoo_games.chess_data import LabelCache, label_path

    monkeypatch.setenv("ZOO_CACHE", str(tmp_path))
    assert label_path(10, "Stockfish 15.1").name == "stockfish-15.1-depth10.jsonl"
    assert label_path(12, "Stockfish 16").name == "stockfish-16-depth12.jsonl"
    mine, theirs = LabelCache(tmp_path / "c.jsonl"), LabelCache(tmp_path / "c.jsonl")
    theirs.add({"fen": "a", "move": "e2e4"})
    with open(tmp_path / "c.jsonl", "a") as fh:
        fh.write('{"fen": "b", "mo')  # a line still being written (or cut by a kill) is not read
    assert mine.get("a") == {"fen": "a", "move": "e2e4"} and "b" not in mine


def test_labels_shipped_for_the_caches_engine_and_depth_are_read_first_and_never_analysed_again(tmp_path,
                                                                                              monkeypatch):
    from zoo_games import shipped
    from zoo_games.chess_data import LabelCache, Labeller

    monkeypatch.setattr(shipped, "RESOURCES", tmp_path / "resources")
    start = chess.Board().fen()
    shipped.write_resource(shipped.chess_labels_resource("stockfish-9-depth1.jsonl"), [{"fen": start, "move": "d2d4"}])
    monkeypatch.setenv("ZOO_STOCKFISH", "/nonexistent/stockfish")  # any analysis would fail
    labeller = Labeller(1, LabelCache(tmp_path / "stockfish-9-depth1.jsonl"))
    assert labeller.label(chess.Board())["move"] == "d2d4" and labeller.analysed == 0
    assert start not in LabelCache(tmp_path / "stockfish-9-depth2.jsonl")  # another depth: not these labels


def test_the_shipped_labels_give_the_shipped_positions_their_moves():
    from zoo_games.shipped import chess_labels_resource, chess_resource, read_resource

    require(chess_resource(10).is_file(), "the shipped Stockfish labels are missing: python -m zoo_games.prepare chess")
    labels = {r["fen"]: r["move"] for r in read_resource(chess_labels_resource("stockfish-15.1-depth10.jsonl"))}
    assert len(labels) >= 96000
    assert all(labels[r["fen"]] == r["move"] for r in read_resource(chess_resource(10)))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_missing_stockfish_is_one_line_when_labelling_in_any_number_of_processes(tmp_path, monkeypatch, workers):
    require(have_pychess(), "pychess data missing: python -m zoo_games.pychess_data")
    from zoo_games.chess_data import LabelCache, Labeller, gather

    monkeypatch.setenv("ZOO_STOCKFISH", "/nonexistent/stockfish")
    with pytest.raises(DataMissing, match="^ZOO_STOCKFISH=/nonexistent/stockfish: no such program$"):
        gather(40, 1, seed=3, labeller=Labeller(1, LabelCache(tmp_path / "a.jsonl")), progress=False, workers=workers)


def test_the_cli_names_a_missing_stockfish_in_one_line_with_labelling_workers(tmp_path):
    require(have_pychess(), "pychess data missing: python -m zoo_games.pychess_data")
    from zoo.testing import run_zoo

    result = run_zoo("train", "games/chess-stockfish", "--set", "data.explore=0.2", "--set", "data.positions=40",
                     "--set", "data.workers=2", "--out", str(tmp_path / "run"),
                     env={"ZOO_STOCKFISH": "/nonexistent/stockfish"})
    assert result.code == 2, result
    assert result.err.strip().splitlines()[-1] == "error: ZOO_STOCKFISH=/nonexistent/stockfish: no such program"
    assert "Traceback" not in result.err


def test_a_crashing_or_hanging_engine_is_restarted_and_labels_already_cached_are_kept(tmp_path, monkeypatch):
    from zoo_games.chess_data import LabelCache, Labeller
    from zoo_games.engines import Stockfish

    monkeypatch.setenv("ZOO_STOCKFISH", FAKE)
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "goes.log"))
    monkeypatch.setenv("FAKE_CRASH_AT", "2")
    monkeypatch.setenv("FAKE_HANG_AT", "4")
    labeller = Labeller(1, LabelCache(tmp_path / "labels.jsonl"))
    labeller.engine = Stockfish(timeout=3.0)
    boards = [chess.Board()]
    for uci in ("e2e4", "e7e5", "g1f3"):
        boards.append(boards[-1].copy())
        boards[-1].push_uci(uci)
    rows = [labeller.label(b) for b in boards]
    assert labeller.engine.restarts == 2 and len(rows) == 4
    labeller.close()
    # every engine's background thread ends, the hung one's too: else the interpreter waits for it at exit
    deadline = time.monotonic() + 10
    while any(t.name.startswith("SimpleEngine") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("SimpleEngine")]
    again = Labeller(1, LabelCache(tmp_path / "labels.jsonl"))
    assert [again.label(b)["move"] for b in boards] == [r["move"] for r in rows] and again.analysed == 0


def test_a_missing_engine_is_one_line_naming_the_debian_package(monkeypatch):
    from zoo_games.engines import find_binary, stockfish_command

    with pytest.raises(DataMissing, match=r"^nosuchengine is not installed: install the Debian package nosuchpkg "):
        find_binary("nosuchengine", "nosuchpkg", "ZOO_NOSUCH")
    monkeypatch.setenv("ZOO_STOCKFISH", "/nonexistent/stockfish")
    with pytest.raises(DataMissing, match="ZOO_STOCKFISH=/nonexistent/stockfish: no such program"):
        stockfish_command()


def test_mate_search_solves_a_mate_in_two_and_needs_the_right_candidates():
    from zoo_games.chess_play import MateSearch

    board = chess.Board("6k1/5ppp/8/8/8/8/5PPP/3R2K1 w - - 0 1")  # back-rank mate in one
    assert MateSearch(None, k=1).solve(board, 1).uci() == "d1d8"
    board = chess.Board("r1b2k1r/ppp1bppp/8/1B1Q4/5q2/2P5/PPP2PPP/R3R1K1 w - - 1 0")  # 1. Qd8+ Bxd8 2. Re8#
    everything = MateSearch(None, k=100)
    assert everything.solve(board, 2).uci() == "d5d8"
    assert MateSearch(lambda boards: [{chess.Move.from_uci("h2h3"): 1.0} for _ in boards], k=1).solve(board, 2) is None


@pytest.fixture(scope="module")
def chess_run(tmp_path_factory):
    from zoo_games.shipped import chess_resource

    require(chess_resource(10).is_file(), "the shipped Stockfish labels are missing: python -m zoo_games.prepare chess")
    from zoo.config import parse_sets
    from zoo.runs import train

    out = tmp_path_factory.mktemp("chess") / "run"
    train("games/chess-stockfish", sets=parse_sets([
        "epochs=2", "data.positions=2500", "data.pv_plies=2", "model.channels=32", "model.blocks=2", "lr=0.003",
        "batch_size=64", "eval_limit=2", "data.stockfish_skills=0"]), out=str(out), callbacks=[])
    return out


def test_the_network_learns_stockfish_moves_on_held_out_games(chess_run):
    summary = json.loads((chess_run / "summary.json").read_text())
    rows = [json.loads(line) for line in (chess_run / "metrics.jsonl").read_text().splitlines()]
    # a uniformly random legal move agrees about 1 time in 30; a tiny network after two epochs does far better
    assert summary["valid"]["best"]["policy_accuracy"] > 0.12
    assert rows[-1]["valid_policy_accuracy"] > rows[0]["valid_policy_accuracy"] - 0.02
    assert rows[-1]["valid_value_rmse"] < 0.7
    assert "mate2_solved" in summary["test"] and "stockfish0_score" in summary["test"]


def test_predict_a_fen_annotate_a_pgn_and_refuse_bad_ones(chess_run, tmp_path):
    from zoo.reopen import open_run

    run = open_run(chess_run, device="cpu")
    [row] = run.predict(["rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1"])
    assert chess.Move.from_uci(row["best"]) in chess.Board(row["input"]).legal_moves
    assert len(row["moves"].split(", ")) == 5 and row["eval"][0] in "+-"
    with pytest.raises(ZooError, match="illegal FEN"):
        run.predict(["rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR x KQkq - 0 1"])
    pgn = tmp_path / "mine.pgn"
    pgn.write_text(BAD_PGN)
    [row] = run.predict([str(pgn)], out=tmp_path / "out")
    annotated = Path(row["files"][0]).read_text()
    assert row["games"] == 2 and annotated.count("zoo: ") == 9 and "Ke3" not in annotated
    assert row["files"] == [str(tmp_path / "out" / "mine.annotated.pgn")]
    # a file of FENs: one row a line; a bad input among good ones is named and the others are still predicted
    fens = tmp_path / "positions.txt"
    fens.write_text("# two positions\n" + chess.Board().fen() + "\n\n4k3/8/8/8/8/8/8/4K2R w K - 0 1\n")
    rows = run.predict([str(fens), "not a fen", chess.Board().fen()])
    assert [r["input"] for r in rows] == [f"{fens}:2", f"{fens}:4", "not a fen", chess.Board().fen()]
    assert "error" in rows[2] and all("best" in r for r in rows[:2] + rows[3:])


def garbage_pgn(folder: Path, kind: str) -> Path:
    path = folder / f"{kind}.pgn"
    if kind == "random-bytes":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    elif kind == "prose":
        # python-chess reads this as a game of one move (e4), without an error
        path.write_text("It was a bright cold day in April, and the clocks were striking thirteen.\n"
                        "The pawn went to e4 and everyone cheered.\n")
    elif kind == "empty":
        path.write_text("")
    elif kind == "headers-only":
        path.write_text('[Event "nothing played"]\n[Result "*"]\n\n*\n')
    elif kind == "illegal-only":
        path.write_text('[Event "x"]\n\n1. e5 *\n')
    return path


@pytest.mark.parametrize("kind", ["random-bytes", "prose", "empty", "headers-only", "illegal-only", "missing"])
def test_a_pgn_that_is_not_one_is_a_one_line_error_naming_the_file_and_nothing_is_written(chess_run, tmp_path, kind):
    from zoo.reopen import open_run

    path = garbage_pgn(tmp_path, kind) if kind != "missing" else tmp_path / "nowhere" / "games.pgn"
    out = tmp_path / "out"
    with pytest.raises(ZooError) as caught:
        open_run(chess_run, device="cpu").predict([str(path)], out=out)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    assert not out.exists() or not any(out.iterdir())


def test_the_cli_names_a_prose_pgn_in_one_line_exits_2_and_annotates_the_good_one(chess_run, tmp_path):
    from zoo.testing import run_zoo

    good = tmp_path / "good.pgn"
    good.write_text(BAD_PGN)
    prose = garbage_pgn(tmp_path, "prose")
    result = run_zoo("predict", str(chess_run), str(prose), str(good), "--out", str(tmp_path / "out"))
    assert result.code == 2, result
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {prose}: not a PGN file (no tag pair like [Event \"...\"] and no numbered move like 1. e4)"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.annotated.pgn"]


@pytest.mark.parametrize("text", ["not a fen", "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR x KQkq - 0 1",
                                  "8/8/8/8/8/8/8/8 w - - 0 1", "K6K/8/8/8/8/8/8/k7 w - - 0 1",
                                  "folder", "no/such/position.fen", "binary.fen"])
def test_fen_garbage_a_folder_or_a_missing_path_is_never_read_as_a_fen(chess_run, tmp_path, text, monkeypatch):
    from zoo.reopen import open_run

    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "binary.fen").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ZooError) as caught:
        open_run(chess_run, device="cpu").predict([text])
    message = str(caught.value)
    assert "\n" not in message and message.startswith(text), message
    if text == "folder":
        assert "empty folder" in message
    if text == "no/such/position.fen":
        assert message.endswith("no such file")


def test_the_reader_refuses_a_folder_and_a_missing_path(tmp_path):
    from zoo_games.chess_data import read_fen

    with pytest.raises(ZooError, match="a folder, not a FEN"):
        read_fen(str(tmp_path))
    with pytest.raises(ZooError, match="no such file"):
        read_fen(str(tmp_path / "gone.fen"))
    (tmp_path / "one.fen").write_text(chess.Board().fen() + "\n")
    assert read_fen(str(tmp_path / "one.fen")) == chess.Board()


def test_the_engines_open_the_network_through_the_predictor(chess_run, monkeypatch):
    """`zoo uci` opens the run once, through zoo.predictor.Predictor (no Trainer)."""
    import io

    from zoo.testing import count_predictors
    from zoo_games.uci import UciEngine

    made = count_predictors(monkeypatch)
    out = io.StringIO()
    UciEngine(str(chess_run), 2, out=out).run(["uci", "isready", "position startpos moves e2e4", "go", "go", "quit"])
    assert made == [str(chess_run)]
    moves = [line.split()[1] for line in out.getvalue().splitlines() if line.startswith("bestmove")]
    after = chess.Board("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1")
    assert len(moves) == 2 and chess.Move.from_uci(moves[0]) in after.legal_moves


def test_an_engine_refuses_a_folder_that_is_not_a_run_of_its_game(tmp_path):
    from zoo_games.protocols import check_run

    with pytest.raises(ZooError, match="not a run directory"):
        check_run(str(tmp_path), "zoo_games.tasks.chess:ChessTask", "chess")
    (tmp_path / "config.json").write_text(json.dumps({"recipe": "games/tictactoe-alphazero"}))
    with pytest.raises(ZooError, match="a run of games/tictactoe-alphazero, not a chess run"):
        check_run(str(tmp_path), "zoo_games.tasks.chess:ChessTask", "chess")
    (tmp_path / "config.json").write_text("not json")
    with pytest.raises(ZooError, match="not a run's config"):
        check_run(str(tmp_path), "zoo_games.tasks.chess:ChessTask", "chess")


def test_uci_lets_python_chess_play_the_network(chess_run):
    import chess.engine

    engine = chess.engine.SimpleEngine.popen_uci([sys.executable, "-m", "zoo", "uci", str(chess_run),
                                                  "--simulations", "4"], timeout=60)
    try:
        board = chess.Board()
        for _ in range(3):
            move = engine.play(board, chess.engine.Limit(time=1.0)).move
            assert move in board.legal_moves
            board.push(move)
        assert engine.id["name"] == "zoo games/chess-stockfish"
    finally:
        engine.quit()


def test_a_bigger_set_scored_on_a_smaller_sets_split_never_trains_on_its_held_out_games_or_fens(monkeypatch):
    """data.split_of: valid and test are those of the smaller set; no training position (nor a position along a
    training label's variation) is a held-out FEN or comes from a held-out game, even when the bigger set, gathered
    in another order, holds a held-out position under another game's name."""
    import zoo_games.chess_data as chess_data
    from zoo_games.shipped import chess_resource

    require(chess_resource(10).is_file(), "the shipped Stockfish labels are missing: python -m zoo_games.prepare chess")
    small = chess_data.chess_stockfish(positions=6000, stockfish_skills="")
    held = set(small.valid.fens) | set(small.test.fens)
    assert not held & set(small.train.fens)  # without split_of too: a variation never runs into a held-out FEN
    real = chess_data.default_rows
    rows = real(7200, 10, 0, 0.15, 0.1, 0.25)[::-1]  # another order: its own split would differ
    stray = next(r for r in rows if r["fen"] in set(small.test.fens))
    rows.append({**stray, "group": "elsewhere#0"})  # a held-out position reached in a game of its own
    held_groups = {r["group"] for r in rows if r["fen"] in held}
    further = {**real(7300, 10, 0, 0.15, 0.1, 0.25)[-1], "group": stray["group"]}
    rows.insert(0, further)  # a held-out game going on past where the smaller set stopped (a new position)
    monkeypatch.setattr(chess_data, "default_rows", lambda n, *a: rows if n == 7200 else real(n, *a))
    big = chess_data.chess_stockfish(positions=7200, split_of=6000, stockfish_skills="")
    assert big.test.fens == small.test.fens and big.valid.fens == small.valid.fens
    assert not held & set(big.train.fens)
    trained = [f for f, s in zip(big.train.fens, big.train.sources) if s != "pv"]
    group_of = {r["fen"]: r["group"] for r in rows[:-1]}
    assert further["fen"] not in trained and not {group_of[f] for f in trained} & held_groups
    assert 7200 - len(held) - 100 <= len(trained) <= 7200 - len(held)  # nothing else left out
    # the variations of the kept training labels do run into held-out positions: they were left out
    kept = [r for r in rows if r["fen"] in set(trained)]
    assert held & {r["fen"] for r in chess_data.pv_positions(kept, 4)}
    with pytest.raises(ZooError, match="data.split_of"):
        chess_data.chess_stockfish(positions=1200, split_of=1200, stockfish_skills="")
