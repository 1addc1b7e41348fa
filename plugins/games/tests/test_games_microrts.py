"""zoo-games, microRTS: the Java game steps behind a gymnasium-style environment, its masks forbid invalid actions
and the network never picks one, player 1 sees the map turned, the JVM starts once per process, a missing Java
is one line naming the Debian package, behaviour cloning of CoacAI learns, and zoo predict plays and films."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo import ZooError
from zoo_games import microrts_data, microrts_env as env
from zoo_games.microrts_net import GridNet, greedy

MAP = "basesWorkers8x8"
WORKER, MOVE = 3, 1


def unit_cells(obs: np.ndarray, owner: int, kind: int) -> list[tuple[int, int]]:
    start = np.cumsum((0,) + env.PLANES)
    mine = obs[start[2] + owner].astype(bool) & obs[start[3] + 1 + kind].astype(bool)
    return [(int(y), int(x)) for y, x in zip(*np.nonzero(mine))]


def test_the_environment_steps_and_its_masks_forbid_invalid_moves():
    e = env.MicroRTSEnv(MAP, opponent="passive", side=0, max_steps=200)
    obs, info = e.reset()
    assert obs.shape == (env.NUM_PLANES, 8, 8) and info["masks"].shape == (8, 8, env.NUM_CHOICES)
    ready, masks = info["ready"], info["masks"]
    assert ready.sum() == 2 and not masks[~ready].any()  # a base and a worker may act; empty cells nothing
    [(y, x)] = unit_cells(obs, 1, WORKER)
    moves = masks[y, x, env.OFFSETS[1]:env.OFFSETS[1] + 4]
    assert masks[y, x, MOVE] and moves.any() and not moves.all()  # a wall or a unit blocks some directions
    blocked, free = int(np.flatnonzero(~moves)[0]), int(np.flatnonzero(moves)[0])
    for direction, should_move in ((blocked, False), (free, True)):
        obs, info = e.reset()
        action = np.zeros((8, 8, 7), np.int64)
        action[y, x, 0], action[y, x, 1] = MOVE, direction
        for _ in range(12):  # a worker's move takes 10 cycles
            obs, reward, terminated, truncated, info = e.step(action)
            action[:] = 0
        assert (unit_cells(obs, 1, WORKER) != [(y, x)]) == should_move, direction
    # the network's choices at every cell are among the valid ones
    net = GridNet(channels=8, blocks=1)
    logits = net(torch.from_numpy(obs[None]), None, torch.from_numpy(info["masks"][None]))
    chosen = greedy(logits)[0].numpy()
    for (yy, xx) in zip(*np.nonzero(info["ready"])):
        a = chosen[yy, xx]
        assert info["masks"][yy, xx, a[0]]
        if a[0] == MOVE:
            assert info["masks"][yy, xx, env.OFFSETS[1] + a[1]]


def test_player_one_sees_the_map_turned_and_its_actions_turn_back():
    game = env.Game(env.resolve_map(MAP))
    assert (game.observe(0) == game.observe(1)).all()  # the map is point-symmetric: both sides see the same start
    rng = np.random.default_rng(0)
    grid = np.stack([rng.integers(0, n, (8, 8)) for n in env.NVEC], -1)
    assert (env.turn_actions(env.turn_actions(grid)) == grid).all()
    ready0, masks0 = game.masks(0)
    ready1, masks1 = game.masks(1)
    assert (ready0 == ready1).all() and (masks0 == masks1).all()


def test_the_jvm_starts_once_and_bad_names_are_one_line():
    env.MicroRTSEnv(MAP, "workerrush").reset()
    env.play("workerrush", ["lightrush"], [1], MAP, max_steps=20)
    import jpype

    assert jpype.isJVMStarted() and env.jvm_starts() == 1
    env.start_jvm()
    assert env.jvm_starts() == 1
    with pytest.raises(ZooError, match="not a microRTS map"):
        env.resolve_map("basesWorkers9x9")
    with pytest.raises(ZooError, match="not a microRTS bot"):
        env.make_bot("stockfish")
    with pytest.raises(ZooError, match="data.drive=fast"):
        microrts_data.microrts(drive="fast")


def test_a_missing_java_is_one_line_naming_the_debian_package(monkeypatch):
    import jpype

    def no_java():
        raise jpype.JVMNotFoundException("No JVM shared library file (libjvm.so) found.")

    monkeypatch.setattr(jpype, "isJVMStarted", lambda: False)
    monkeypatch.setattr(jpype, "getDefaultJVMPath", no_java)
    with pytest.raises(ZooError, match="apt-get install openjdk-17-jre-headless") as err:
        env.start_jvm()
    assert "\n" not in str(err.value)


def test_cloning_coacai_lowers_the_loss_and_beats_always_waiting():
    """A few hundred states of CoacAI's games: 50 steps of Adam lower the masked cross-entropy to below half of
    its start, and the clone's whole-action agreement on held-out games beats always doing nothing."""
    from zoo_games.tasks.microrts import Agreement, component_losses

    torch.manual_seed(0)
    train = microrts_data.tensors(env.play("coacai", ["workerrush", "lightrush"], [0, 1], MAP, 120,
                                           expert="coacai"))
    test = microrts_data.tensors(env.play("coacai", ["workerrush"], [1], MAP, 120, expert="coacai"))
    net = GridNet(channels=12, blocks=1)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    x, y = train

    def loss_on(x, y):
        return component_losses(net(x["obs"], x["ready"], x["masks"]), y)

    with torch.no_grad():
        first = float(loss_on(x, y))
    for _ in range(50):
        idx = torch.randint(0, len(y), (32,))
        loss = loss_on({k: v[idx] for k, v in x.items()}, y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        assert float(loss_on(x, y)) < 0.5 * first
        metric = Agreement()
        metric.update(net(test[0]["obs"], None, test[0]["masks"]), test[1])
        agreement = float(metric.compute()["agreement"])
    acting = test[1][..., 0] >= 0
    waiting = float((test[1][..., 0][acting] == 0).float().mean())  # always answering noop
    assert agreement > waiting + 0.1, (agreement, waiting)


def test_zoo_predict_plays_the_bots_and_films_a_game(tmp_path):
    from zoo.testing import train_tiny

    run, summary = train_tiny("games/microrts", tmp_path, "data.demos=2", "data.episodes=1", "data.max_steps=60",
                              "data.valid_games=1", "task.steps_per_round=5", "task.eval_budget=1", "eval_limit=1",
                              "model.channels=8", "model.blocks=1", "device=cpu", "threads=1")
    assert "win_rate_coacai" in summary["test"]
    [row] = run.predict([], out=tmp_path / "games", opponent="randombiased", map=MAP, games=1)
    assert row["input"] == MAP and set(row["games"]) == {"randombiased"}
    assert [f.rsplit(".", 1)[1] for f in row["files"]] == ["json", "gif", "png"]
    assert open(row["files"][1], "rb").read(6) == b"GIF89a"
    with pytest.raises(ZooError, match="not a microRTS map"):
        run.predict(["nowhere8x8"], games=1)
    with pytest.raises(ZooError, match="not a microRTS bot"):
        run.predict([MAP], opponent="stockfish", games=1)
