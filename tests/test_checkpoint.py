import math
import pickle

import pytest
import torch

from zoo import ZooError
from zoo.training import checkpoint


def test_round_trip_of_nested_state(tmp_path):
    state = {"model": {"w": torch.randn(3, 2), "b": torch.zeros(2)},
             "optimizer": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.ones(2)}},
                           "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "foreach": None}]},
             "progress": {"best": float("nan"), "top": float("inf"), "history": [{"epoch": 1}]}, "tag": "x"}
    checkpoint.save(tmp_path / "c.safetensors", state)
    back = checkpoint.load(tmp_path / "c.safetensors")
    assert torch.equal(back["model"]["w"], state["model"]["w"])
    assert back["optimizer"]["state"][0]["step"].item() == 3.0  # int keys survive
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples survive
    assert math.isnan(back["progress"]["best"]) and back["progress"]["top"] == math.inf
    assert back["tag"] == "x"


def test_loading_never_unpickles(tmp_path, monkeypatch):
    checkpoint.save(tmp_path / "c.safetensors", {"w": torch.ones(2)})

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    assert torch.equal(checkpoint.load(tmp_path / "c.safetensors")["w"], torch.ones(2))


def test_a_write_that_dies_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.safetensors"
    checkpoint.save(path, {"w": torch.ones(2)})

    def dies(tensors, filename, metadata=None):
        with open(filename, "wb") as fh:
            fh.write(b"half a file")
        raise KeyboardInterrupt  # killed in the middle of writing

    monkeypatch.setattr(checkpoint, "save_file", dies)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(path, {"w": torch.zeros(2)})
    assert torch.equal(checkpoint.load(path)["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["last.safetensors"]  # no temporary left behind


def test_a_corrupt_checkpoint_gets_an_error_naming_it(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ZooError, match="bad.safetensors"):
        checkpoint.load(bad)
    with pytest.raises(ZooError, match="no such checkpoint"):
        checkpoint.load(tmp_path / "missing.safetensors")
