"""`zoo export`: weights other tools load, and programs checked against torch's own output."""
from pathlib import Path

import pytest
import torch

import toy_plugin
from zoo import ZooError, load


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from zoo.config import parse_sets
    from zoo.runs import train

    toy_plugin.register()
    root = tmp_path_factory.mktemp("export")
    return {name: train(name, sets=parse_sets(["epochs=1"]), out=str(root / name.replace("/", "-")), callbacks=[])
            for name in ("toy/blobs", "toy/points-multi")}


def test_safetensors_export_is_weights_only_and_loads_with_safetensors_alone(runs, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_model

    from zoo.export import export

    export(runs["toy/blobs"], "safetensors", tmp_path / "w.safetensors")
    with safe_open(str(tmp_path / "w.safetensors"), framework="pt") as fh:
        keys, meta = set(fh.keys()), fh.metadata()
    assert keys == {"0.weight", "0.bias", "2.weight", "2.bias"} and meta["recipe"] == "toy/blobs"  # no optimizer
    run = load(runs["toy/blobs"], device="cpu")
    fresh = run.new_module()
    missing, unexpected = load_model(fresh, str(tmp_path / "w.safetensors"))
    assert not missing and not unexpected
    x = torch.randn(5, 16)
    assert torch.equal(fresh.eval()(x), run.module(x))


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_programs_agree_with_torch_for_tensor_and_dict_outputs(runs, tmp_path, fmt):
    from zoo.export import export

    for name in ("toy/blobs", "toy/points-multi"):
        result = export(runs[name], fmt, tmp_path / f"{name.replace('/', '-')}.{fmt}")
        assert result["max_abs_difference"] <= 1e-4 and Path(result["file"]).stat().st_size > 1000


def test_export_command_and_its_errors(runs, tmp_path, capsys):
    from zoo.cli import main

    def zoo(*args):
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        return exited.value.code, out, err

    code, out, err = zoo("export", str(runs["toy/blobs"]), "--format", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert code == 0 and "max abs difference from torch" in out, err
    code, out, err = zoo("export", str(runs["toy/blobs"]), "--format", "tflite", "--out", str(tmp_path / "m.tflite"))
    assert code == 2 and "tflite" in err and "Traceback" not in err
    with pytest.raises(ZooError, match="not a run directory"):
        load(tmp_path)
