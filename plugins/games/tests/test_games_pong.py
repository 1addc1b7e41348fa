"""zoo-games, Atari Pong from pixels: the scripted player returns the ball, DAgger games are driven by the learner
and labelled by the scripted player, a network learns its actions from pixels, and a missing ROM is one line."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo import ZooError
from zoo.imitation import episode_seeds
from zoo_games import atari, atari_data, atari_players


def test_the_scripted_player_returns_the_ball_and_random_play_does_not():
    seeds = episode_seeds("valid", 2)
    scripted = atari.play(atari_players.expert, seeds, 400)
    random = atari.play(atari_players.random_policy(0), seeds, 400)
    assert random.lost.sum() >= 10 and scripted.lost.sum() * 3 < random.lost.sum(), (scripted.lost, random.lost)
    assert atari.shrink(np.zeros((210, 160), np.uint8)).shape == (atari.FRAME, atari.FRAME)


class AlwaysUp(torch.nn.Module):
    def forward(self, frames):
        return torch.tensor([[0.0, 1.0, 0.0]]).repeat(len(frames), 1)


def test_dagger_games_are_driven_by_the_learner_and_labelled_by_the_scripted_player():
    games = atari_data.PongGames(1, 1, True, 10_000, 0, steps=150)
    games.generate(None, 0, "cpu")  # round 0: the scripted player drives
    first = len(games.dataset())
    games.generate(AlwaysUp(), 1, "cpu")  # round 1: the learner drives its paddle to the top...
    labels = torch.stack([games.dataset()[i][1] for i in range(first, len(games.dataset()))])
    assert len(labels) == 150 and (labels == 2).float().mean() > 0.6  # ...and the scripted player says: down
    assert first == 150
    frame, label = games.dataset()[0]
    assert frame.shape == (atari.STACK, atari.FRAME, atari.FRAME) and frame.dtype == torch.uint8


def test_a_network_learns_the_scripted_player_s_actions_from_pixels(tmp_path, monkeypatch):
    """Two short rounds: on the test split's frames the network's macro-F1 against the scripted player's actions
    is well above that of always answering the most common one, NOOP (about 0.3: the scripted player waits four
    steps in five); `zoo predict --out` writes a game as a GIF. (Playing better than random takes longer:
    bench/bench_games_pong.py.)"""
    from zoo.testing import train_tiny

    run, summary = train_tiny("games/atari-pong", tmp_path, "data.demos=2", "data.episodes=1", "data.steps=400",
                              "task.steps_per_round=50", "task.eval_budget=1", "eval_limit=1", "device=cpu", epochs=2)
    assert summary["test"]["f1_macro"] > 0.45, summary["test"]
    monkeypatch.setattr(atari, "MAX_STEPS", 40)
    [row] = run.predict(["3"], out=tmp_path / "games")
    gif = tmp_path / "games" / "pong-3.gif"
    assert row["files"] == [str(gif)] and gif.read_bytes()[:6] == b"GIF89a" and row["steps"] == 40
    with pytest.raises(ZooError, match="game seeds"):
        run.predict(["first"])
    rows = run.predict(["first", "2"])  # a bad seed is named, the other game is still played
    assert "game seeds" in rows[0]["error"] and rows[1]["input"] == "2" and rows[1]["steps"] == 40
    with pytest.raises(ZooError, match="is a file"):
        run.predict(["3"], out=gif / "under")


def test_a_missing_rom_is_one_line_saying_what_to_install(monkeypatch):
    import gymnasium

    def no_rom(*args, **kwargs):
        raise RuntimeError("Unable to find game 'pong'")

    monkeypatch.setattr(gymnasium, "make", no_rom)
    with pytest.raises(ZooError, match="could not load the Pong ROM.*pip install -U ale-py"):
        atari.make_env(123)
