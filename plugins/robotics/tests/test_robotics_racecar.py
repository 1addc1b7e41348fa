"""zoo-robotics, driving: tracks and where-am-I, the scripted driver laps unseen tracks, interventions are counted,
mirrored frames steer the other way, and a camera network learns to steer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo import ZooError
from zoo.testing import train_tiny
from zoo_robotics import data, racecar


def test_a_track_locates_points_along_and_beside_its_centre_line():
    track = racecar.Track(3)
    assert 15 < track.length < 25
    i = 37
    along, offset, nearest = track.locate(track.centre[i])
    assert nearest == i and abs(along - track.along[i]) < 1e-9 and abs(offset) < 1e-9
    h = track.heading[i]
    left = track.centre[i] + 0.3 * np.array([-np.sin(h), np.cos(h)])
    assert abs(track.locate(left)[1] - 0.3) < 0.01


def test_the_scripted_driver_laps_unseen_tracks_and_a_car_that_never_steers_needs_help():
    for seed in (20_000, 20_001):
        run = racecar.drive(seed, seed, None, steps=220)
        assert run.clean_laps >= 1 and run.interventions == 0 and run.centre_cm < 10, run
    straight = racecar.drive(20_000, 20_000, lambda image: 0.0, steps=120)
    assert straight.interventions >= 1 and straight.clean_laps < 1


def test_mirrored_frames_steer_the_other_way():
    x = torch.arange(2 * 48 * 64, dtype=torch.float32).reshape(2, 1, 48, 64)
    y = torch.tensor([0.2, -0.1])
    torch.manual_seed(0)
    seen = set()
    for _ in range(10):
        mx, my = racecar.Mirror()(x, y)
        for k in range(2):
            flipped = bool(my[k] == -y[k])
            assert torch.equal(mx[k], x[k].flip(-1) if flipped else x[k])
            seen.add(flipped)
    assert seen == {True, False}


def test_a_camera_network_learns_to_steer_like_the_driver(tmp_path):
    """Three short rounds (behaviour cloning, then DAgger): the steering error on a held-out track falls well
    below that of always steering the mean."""
    run, summary = train_tiny("robotics/racecar-lane", tmp_path, "data.demos=4", "data.episodes=2", "data.steps=80",
                              "task.steps_per_round=60", "task.eval_budget=1", "data.valid_drives=1", "data.eval_steps=40",
                              epochs=3)
    _, labels = racecar.LabelledFrames("test", 1, 80, 0.1).drive(0)
    assert summary["test"]["rmse"] < 0.5 * float(labels.std()), (summary["test"], float(labels.std()))
    frame = tmp_path / "frame.png"
    world = racecar.Drive(20_000)
    try:
        world.reset(0.0, 0.0, 0.0)
        from PIL import Image
        Image.fromarray(np.repeat(world.image()[0][..., None], 3, 2)).save(frame)
    finally:
        world.close()
    [prediction] = run.predict([str(frame)])
    assert set(prediction) == {"input", "steering_rad"}
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ZooError, match="notes.png: not an image"):
        data.read_camera(str(tmp_path / "notes.png"), {})
