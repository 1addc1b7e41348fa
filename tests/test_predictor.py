"""The one prediction path: zoo.predictor.Predictor, used by Python, `zoo predict`, export and (in the games plugin)
the engines. It builds no Trainer, reads many inputs in batches, names bad ones and predicts the rest."""
from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

import toy_plugin
from zoo import ZooError


@pytest.fixture(autouse=True)
def toy():
    toy_plugin.register()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from zoo.config import parse_sets
    from zoo.runs import train

    toy_plugin.register()
    out = tmp_path_factory.mktemp("predictor") / "run"
    return train("toy/denoise", sets=parse_sets(["grad_stats_every=0"]), out=str(out), callbacks=[], epochs=2)


@pytest.fixture
def scans(tmp_path):
    """Three good scans, a file that is no image and (named, not made) a missing one."""
    folder = tmp_path / "scans"
    folder.mkdir()
    pictures = toy_plugin.smooth_images(3, 16, torch.Generator().manual_seed(5))
    for i, picture in enumerate(pictures):
        Image.fromarray((picture[0] * 255).byte().numpy()).save(folder / f"scan{i}.png")
    (folder / "zz-broken.png").write_bytes(b"not an image at all")
    return folder


def zoo_cli(capsys, *args: str) -> tuple[int, str, str]:
    from zoo.cli import main

    with pytest.raises(SystemExit) as ended:
        main(list(args))
    captured = capsys.readouterr()
    return ended.value.code, captured.out, captured.err


def test_many_inputs_one_bad_answers_the_good_names_the_bad_and_exits_2(run_dir, scans, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, stderr = zoo_cli(capsys, "predict", str(run_dir), str(scans), str(tmp_path / "gone.png"),
                                   "--out", str(out), "--json", "--batch-size", "2")
    assert code == 2
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert [r["input"] for r in rows] == [str(scans / f"scan{i}.png") for i in range(3)]
    assert sorted(p.name for p in out.iterdir()) == [f"scan{i}.denoised.png" for i in range(3)]
    errors = stderr.strip().splitlines()
    assert len(errors) == 2 and "Traceback" not in stderr
    assert errors[0].startswith(f"error: {scans / 'zz-broken.png'}: cannot be read")
    assert errors[1] == f"error: {tmp_path / 'gone.png'}: no such file"


def test_batches_and_globs_give_the_same_predictions(run_dir, scans):
    from zoo.predictor import Predictor

    predictor = Predictor(run_dir, device="cpu")
    one_by_one = predictor.predict(str(scans / "scan*.png"), batch_size=1)
    together = predictor.predict([str(scans / f"scan{i}.png") for i in range(3)], batch_size=32)
    assert [r["mean"] for r in one_by_one] == pytest.approx([r["mean"] for r in together], abs=1e-6)
    assert len(together) == 3


def test_out_under_a_file_is_refused_before_any_work(run_dir, scans, tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    code, stdout, stderr = zoo_cli(capsys, "predict", str(run_dir), str(scans / "scan0.png"),
                                   "--out", str(tmp_path / "taken" / "out"))
    assert code == 2 and stdout == ""
    assert stderr.strip() == f"error: --out {tmp_path / 'taken' / 'out'}: {tmp_path / 'taken'} is a file, not a folder"


def test_every_input_bad_is_an_error_from_python(run_dir, tmp_path):
    import zoo

    with pytest.raises(ZooError, match="no such file"):
        zoo.load(run_dir, device="cpu").predict([str(tmp_path / "missing.png")])


def test_the_predictor_builds_no_trainer_and_reads_no_training_data(run_dir, scans, monkeypatch):
    import zoo
    from zoo.training import trainer

    def refuse(*args, **kwargs):
        raise AssertionError("prediction built a Trainer")

    monkeypatch.setattr(trainer.Trainer, "__init__", refuse)
    monkeypatch.setattr(toy_plugin, "denoise", refuse)  # the dataset factory
    [row] = zoo.load(run_dir, device="cpu").predict(str(scans / "scan0.png"))
    assert set(row) == {"input", "mean"}


def test_python_cli_and_export_all_go_through_the_predictor(run_dir, scans, tmp_path, capsys, monkeypatch):
    import zoo
    from zoo.testing import count_predictors

    made = count_predictors(monkeypatch)
    python = zoo.load(run_dir, device="cpu").predict(str(scans / "scan1.png"))
    code, stdout, _ = zoo_cli(capsys, "predict", str(run_dir), str(scans / "scan1.png"), "--json")
    assert code == 0 and json.loads(stdout)["mean"] == python[0]["mean"]
    from zoo.export import export

    export(run_dir, "safetensors", tmp_path / "model.safetensors")
    assert len(made) == 3


def test_test_time_views_are_merged_in_one_place(run_dir, scans):
    """The Predictor's --tta output is views.forward's, the function the Trainer's evaluation calls."""
    from zoo.predictor import Predictor
    from zoo.training import views

    predictor = Predictor(run_dir, device="cpu")
    assert predictor.views, "toy/denoise declares flip views"
    x = predictor.task.collate([predictor.read(str(scans / "scan2.png"))])
    merged = predictor.forward(x, tta=True)
    by_hand = torch.stack([predictor.model(x), *[v.undo(predictor.model(v.apply(x))) for v in predictor.views]]).mean(0)
    assert torch.allclose(merged, by_hand, atol=1e-6)
    assert not torch.allclose(merged, predictor.forward(x), atol=1e-6)
    assert views.forward.__module__ == "zoo.training.views"


def test_prediction_imports_no_metrics_or_plotting_code(run_dir, scans):
    from pathlib import Path

    from zoo.testing import imported_after

    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import toy_plugin; "
              "toy_plugin.register(); from zoo.predictor import Predictor; "
              f"Predictor({str(run_dir)!r}, device='cpu').predict({str(scans / 'scan0.png')!r})")
    assert imported_after(script, ("torchmetrics", "matplotlib", "tensorboard")) == []


@pytest.mark.parametrize("text,missing", [
    ("scan.png", True), ("reads/sample.fasta", False), ("/no/such/folder/x", True), ("./gone", True),
    ("xo.x....o", False), ("8/8/8/8/8/8/8/K1k5", False), ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", False),
    ("ACGTACGTNNACGT", False), ("", False), ("x" * 5000, False), ("how do I list open files", False),
])
def test_what_looks_like_a_missing_file(text, missing, tmp_path, monkeypatch):
    from zoo.predictor import expand, missing_file

    monkeypatch.chdir(tmp_path)
    (tmp_path / "reads").mkdir()
    (tmp_path / "reads" / "sample.fasta").write_text(">a\nACGT\n")
    assert (missing_file(text) == "no such file") is missing
    if text in ("", "x" * 5000):
        assert expand([text]) == [text]  # neither the current folder nor a traceback


def test_inputs_of_several_sizes_are_predicted_one_at_a_time(run_dir, tmp_path):
    from zoo.predictor import Predictor

    for side in (12, 16, 20):
        Image.fromarray((torch.rand(side, side) * 255).byte().numpy()).save(tmp_path / f"scan{side}.png")
    rows = Predictor(run_dir, device="cpu").predict(str(tmp_path / "scan*.png"), batch_size=8)
    assert [r["input"].endswith(f"scan{side}.png") for r, side in zip(rows, (12, 16, 20))] == [True] * 3
    assert all("mean" in r for r in rows)
