"""Targets that move with the inputs, outputs that are files, vector and multi-head outputs, init_from,
and one source of truth for a metric's direction. Recipes from tests/toy_plugin.py."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import toy_plugin
from zoo import ZooError

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def toy():
    toy_plugin.register()


def train(recipe, out, *sets, **kw):
    from zoo.config import parse_sets
    from zoo.runs import train as run_training
    return run_training(recipe, sets=parse_sets(sets), out=str(out), callbacks=[], **kw)


@pytest.fixture(scope="module")
def denoiser(tmp_path_factory):
    toy_plugin.register()
    return train("toy/denoise", tmp_path_factory.mktemp("denoise") / "run")


def test_paired_augmentation_moves_the_target_with_the_input():
    clean = toy_plugin.smooth_images(64, 16, torch.Generator().manual_seed(0))
    noisy = clean + 0.01 * torch.randn(clean.shape)
    x, y = toy_plugin.flip_pairs(noisy, clean)
    flipped = ~torch.isclose(x, noisy, atol=0.05).all(dim=(1, 2, 3))
    assert 10 < int(flipped.sum()) < 54  # about half the pairs flipped
    assert (x - y).abs().max() < 0.05  # and each target went with its input


def test_denoiser_learns_and_flip_views_are_undone_before_averaging(denoiser):
    from zoo.reopen import open_run

    summary = json.loads((denoiser / "summary.json").read_text())
    noisy_psnr = -10 * math.log10(0.15 ** 2)  # the input's own PSNR: about 16.5 dB
    assert summary["test"]["psnr"] > noisy_psnr + 5
    assert summary["directions"]["psnr"] == "max"
    assert summary["test_tta"]["psnr"] >= summary["test"]["psnr"] - 0.1  # views undone: as good or better

    trainer = open_run(denoiser, device="cpu").trainer(with_data=True)
    trainer.task.follows_input = False  # flipped outputs averaged as they come out: misaligned
    misaligned = trainer.evaluate("test", tta=True)["psnr"]
    assert misaligned < summary["test_tta"]["psnr"] - 2


def test_predict_out_writes_a_file_per_input_and_says_where(denoiser, tmp_path):
    from PIL import Image

    picture = toy_plugin.smooth_images(1, 16, torch.Generator().manual_seed(5))[0, 0]
    Image.fromarray((picture * 255).byte().numpy()).save(tmp_path / "scan.png")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "toy_plugin", "predict", str(denoiser), str(tmp_path / "scan.png"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "out" / "scan.denoised.png"
    assert f"files={written}" in proc.stdout
    assert Image.open(written).size == (16, 16)


def test_unknown_view_and_views_on_inputs_they_cannot_take_are_errors(tmp_path):
    from synthetic import trainer

    with pytest.raises(ZooError, match="unknown view 'rot90'; this recipe's views are hflip, vflip, shift"):
        train("toy/denoise", tmp_path / "run", "task.tta=rot90")
    with pytest.raises(ZooError, match="view 'hflip' needs 4-D input batches, got a 2-D tensor"):
        trainer(tta="hflip").evaluate("valid", tta=True)  # feature vectors, not images: never silently skipped


def test_vector_regression_predicts_one_point_per_sample_and_beats_the_mean(tmp_path):
    from zoo.reopen import open_run

    run = train("toy/points", tmp_path / "points")
    summary = json.loads((run / "summary.json").read_text())
    bundle = toy_plugin.points()
    centres = torch.stack([bundle.test[i][1] for i in range(len(bundle.test))])
    baseline = (centres - centres.mean(0)).norm(dim=1).mean()  # predict the mean point: about 0.2
    assert summary["test"]["distance"] < 0.5 * float(baseline)
    trainer = open_run(run, device="cpu").predictor()
    rows = trainer.predict([bundle.test[i][0] for i in range(3)])
    assert len(rows) == 3 and set(rows[0]) - {"input"} == {"x", "y"}  # one prediction per sample, not per coordinate


def test_two_heads_from_one_network_and_init_from_another_run(tmp_path, capsys):
    points = train("toy/points", tmp_path / "points", "epochs=3")
    multi = train("toy/points-multi", tmp_path / "multi", f"init_from={points}", "epochs=4")
    summary = json.loads((multi / "summary.json").read_text())
    assert {"point_distance", "quadrant_accuracy", "loss"} <= set(summary["test"])
    assert summary["directions"]["point_distance"] == "min" and summary["directions"]["quadrant_accuracy"] == "max"
    assert summary["test"]["quadrant_accuracy"] > 0.6  # chance is 0.25
    assert "tensors loaded; 2 start fresh (quadrant.weight, quadrant.bias)" in capsys.readouterr().err

    started = train("toy/points", tmp_path / "again", f"init_from={points}", "epochs=1", "lr=1e-9")
    first = json.loads((started / "metrics.jsonl").read_text().splitlines()[0])
    trained = json.loads((points / "summary.json").read_text())["valid"]["best"]["distance"]
    assert first["valid_distance"] == pytest.approx(trained, rel=1e-3)  # it started from those weights

    with pytest.raises(ZooError, match=r"init_from .*: no tensor of it fits this model \(its first, body.0.weight"):
        train("toy/tictactoe-selfplay", tmp_path / "wrong", f"init_from={points}", "epochs=1")
    with pytest.raises(ZooError, match=r"tensor body.0.weight has shape \(16, 1, 3, 3\) there and \(32, 1, 3, 3\) in this model"):
        train("toy/points", tmp_path / "wider", f"init_from={points}", "model.width=32", "epochs=1")


def test_a_lower_is_better_metric_outside_any_list_is_summarised_by_its_declared_direction():
    from zoo.runs import summarize

    history = [{"epoch": e, "valid_fid": fid, "valid_sharpness": s} for e, fid, s in ((1, 30, 1), (2, 20, 3), (3, 25, 2))]
    summary = summarize(history, None, directions={"fid": "min", "sharpness": "max"})
    assert summary["valid"]["best"] == {"fid": 20, "sharpness": 3}
    with pytest.raises(ZooError, match="metric fid: no direction"):
        summarize(history, None, directions={"sharpness": "max"})


def test_when_the_last_epoch_ties_the_best_the_summary_scores_what_eval_loads(tmp_path):
    """A tie is not an improvement: best.safetensors keeps the earlier epoch, and summary.json's `test` must
    score those weights, as `zoo eval` does."""
    from zoo.reopen import open_run

    run = train("toy/points", tmp_path / "tie", "epochs=3", "monitor=quadrant_share")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best_epoch"] == 1  # the monitored figure is the same every epoch
    evaluated = open_run(run, device="cpu").evaluate()["test"]
    assert summary["test"]["distance"] == pytest.approx(evaluated["distance"], abs=1e-6)
    assert summary["test"]["distance"] != summary["test_final"]["distance"]


def test_a_task_adds_a_view_of_its_own_and_it_is_undone_on_outputs_that_follow_the_input():
    """A DNA view: the reverse complement of one-hot sequences (N x 4 x L, channels A, C, G, T)."""
    from torch import nn

    from zoo.config import TaskSettings, TrainConfig
    from zoo.data import DataBundle, TensorPairs
    from zoo.tasks.regression import RegressionTask
    from zoo.training.trainer import Trainer
    from zoo.training.views import View

    revcomp = lambda x: x.flip(-1).flip(-2)  # noqa: E731 - reverse the sequence, swap A<->T and C<->G

    class PerBase(RegressionTask):  # one value per base: outputs laid out like the sequence
        follows_input = True

        def views(self):
            return {**super().views(), "revcomp": [View("revcomp", revcomp, lambda out: out.flip(-1), dims=3)]}

    class GContent(nn.Module):  # how G-rich each base's neighbourhood is, read off the G channel
        def forward(self, x):
            return x[:, 2]

    x = torch.nn.functional.one_hot(torch.randint(4, (8, 20)), 4).permute(0, 2, 1).float()
    y = x[:, 2]
    data = DataBundle(train=TensorPairs(x, y), valid=TensorPairs(x, y), info={"target_dims": 20})
    config = TrainConfig(device="cpu", grad_stats_every=0)
    task = PerBase(config, data.info)
    task.settings = TaskSettings(tta="revcomp")
    t = Trainer(GContent(), task, data, config, callbacks=[])
    plain, both = t.evaluate("valid")["loss"], t.evaluate("valid", tta=True)["loss"]
    # the reverse complement reads C where G was: averaged and turned back, half the signal is the C channel
    assert plain == 0 and both == pytest.approx(float(((x[:, 2] - (x[:, 2] + x[:, 1]) / 2) ** 2).mean()))
    with pytest.raises(ZooError, match="unknown view 'hflp'"):
        t.evaluate("valid", tta="hflp")


def test_samples_are_counted_from_the_inputs_not_from_dict_keys():
    from zoo.data import batch_size_of

    targets = {"policy": torch.zeros(5, 9), "value": torch.zeros(5)}
    assert batch_size_of(targets) == 5 and batch_size_of((torch.zeros(3, 2), {"a": torch.zeros(3)})) == 3


def test_every_run_writes_tensorboard_events_and_classifiers_their_confusion_matrix_or_roc_curve(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = train("toy/blobs", tmp_path / "multi")
    events = EventAccumulator(str(run)).Reload()
    accuracy = [e.value for e in events.Scalars("valid/accuracy")]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert accuracy == pytest.approx([r["valid_accuracy"] for r in rows])  # one scalar per epoch, as logged
    assert "train/loss" in events.Tags()["scalars"]
    assert (run / "confusion.png").stat().st_size > 5000 and not (run / "roc.png").exists()
    binary = train("toy/blobs-binary", tmp_path / "binary")
    assert (binary / "roc.png").stat().st_size > 5000 and not (binary / "confusion.png").exists()
