"""Tiny trainings on the shared trainer that must still learn, and `zoo predict` writing images.

Photos here are crops of the built-in ones (scikit-image, scikit-learn), small, so that each run takes seconds.
"""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from zoo import ZooError
from zoo.testing import require, train_tiny
from zoo_generation import baselines
from zoo_generation.data import fashion as fashion_data
from zoo_generation.data import super_resolution as sr_data
from zoo_generation.tasks.image import psnr

TINY = ("threads=1", "grad_stats_every=0", "device=cpu", "warmup=0.1")


# the denoiser's tiny training: tests/test_generation_denoise.py


def test_super_resolution_beats_bicubic(photos, tmp_path):
    run, summary = train_tiny("generation/super-resolution", tmp_path, *TINY, "data.crop=24", "model.width=16",
                              "model.blocks=2", "batch_size=8", "lr=3e-3", data=str(photos), epochs=4)
    hr = sr_data.crop_to_multiple(run.trainer(with_data=True).data.test.photos[0][1], 2)
    bicubic = psnr(baselines.bicubic(sr_data.downscale(hr[None], 2), 2)[0], hr, 2)
    assert summary["test"]["photo_psnr"] > bicubic + 0.1, (summary["test"], bicubic)


@pytest.fixture(scope="module")
def sr_run(photos, tmp_path_factory):
    run, _ = train_tiny("generation/super-resolution", tmp_path_factory.mktemp("sr"), *TINY, "data.crop=24",
                        "model.width=8", "model.blocks=1", "max_steps=2", data=str(photos))
    return run


def test_predict_writes_images_of_any_size_in_tiles_and_names_a_corrupt_file(sr_run, tmp_path):
    run = sr_run
    big = tmp_path / "big.png"  # larger than one tile (256 px at the output, 128 at the input): blended tiles
    rgba = np.zeros((150, 170, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    Image.fromarray(rgba, "RGBA").save(big)
    small = tmp_path / "small.png"
    Image.fromarray(np.full((20, 30), 90, np.uint8)).save(small)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    out = tmp_path / "out"
    results = run.predict([str(broken), str(big), str(small)], out=out, batch_size=2)
    assert results[0]["input"] == str(broken) and "not a readable image" in results[0]["error"]
    written = Image.open(out / "big.upscaled.png")
    assert written.size == (340, 300) and written.mode == "RGB"
    assert results[2]["height"] == 40 and Image.open(out / "small.upscaled.png").size == (60, 40)
    tiny = tmp_path / "dot.png"
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(tiny)
    with pytest.raises(ZooError, match="dot.png: 1x1 pixels is smaller than the scale factor 2"):
        run.predict([str(tiny)])
    with pytest.raises(ZooError, match="--count does not apply"):
        run.predict([str(big)], count=3)


def bad_image(folder, kind: str, monkeypatch):
    path = folder / f"{kind}.png"
    if kind == "garbage":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    elif kind == "truncated":
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
        path.write_bytes(path.read_bytes()[:3000])
    elif kind == "bomb":  # more pixels than PIL allows: its decompression-bomb guard
        Image.fromarray(np.zeros((100, 100), np.uint8)).save(path)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path = folder / "notes.txt"
        path.write_text("an image? no\n")
    return path


@pytest.mark.parametrize("kind", ["garbage", "truncated", "bomb", "empty", "text"])
def test_a_file_that_is_not_an_image_is_one_line_naming_it(sr_run, tmp_path, monkeypatch, kind):
    path = bad_image(tmp_path, kind, monkeypatch)
    with pytest.raises(ZooError) as caught:
        sr_run.predict([str(path)], out=tmp_path / "out")
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    assert ("decompression bomb" in message) == (kind == "bomb")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("task", ["denoise", "colorize", "style"])
def test_an_image_too_small_to_mean_anything_is_refused_by_every_image_task(task):
    from zoo_generation.tasks.colorize import ColorizeTask
    from zoo_generation.tasks.denoise import DenoiseTask
    from zoo_generation.tasks.style import StyleTask

    cls = {"denoise": DenoiseTask, "colorize": ColorizeTask, "style": StyleTask}[task]
    made = cls.__new__(cls)  # records needs no settings
    with pytest.raises(ZooError, match=r"^1x1 pixels: too small"):
        list(made.records("dot.png", lambda item: np.zeros((1, 1, 3), np.float32)))
    [(name, array)] = made.records("ok.png", lambda item: np.zeros((8, 9, 3), np.float32))
    assert name == "ok.png" and array.shape == (8, 9, 3)


def test_colorizer_learns_colours_a_grey_image_lacks(photos, tmp_path):
    run, summary = train_tiny("generation/colorize", tmp_path, *TINY, "data.crop=32", "model.width=8",
                              "model.levels=2", "batch_size=8", "lr=5e-3", "data.tile=32", data=str(photos), epochs=6)
    history = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert history[-1]["train_loss"] < 0.9 * history[0]["train_loss"]
    assert summary["test"]["colourfulness"] > 3.0  # a grey output scores 0
    assert (run.dir / "results.png").is_file()
    chosen = json.loads((run.dir / "colorize.json").read_text())  # the decoding chosen on the validation photo
    stored = json.loads((run.dir / "config.json").read_text())["info"]["decoding"]
    assert stored == {k: chosen[k] for k in ("temperature", "prior", "confidence")} and len(chosen["table"]) == 24
    assert run.predictor().task.decoding() == tuple(stored.values())  # what zoo predict colours with
    grey = photos / "grey.png"
    Image.fromarray(np.full((20, 30), 120, np.uint8)).save(grey)  # a grey image is the colorizer's input
    [result] = run.predict([str(grey)], out=run.dir / "pred")
    assert Image.open(result["files"][0]).mode == "RGB"


def test_style_learns_on_the_encoder_it_takes_from_an_encoder_run(photos, tmp_path, capfd):
    encoder, summary = train_tiny("generation/style-encoder", tmp_path, *TINY, "data.crop=32", "model.width=8",
                                  "batch_size=16", "lr=3e-3", data=str(photos), epochs=3)
    assert summary["test"]["accuracy"] >= 0.5  # which of 4 photos a crop comes from: chance is 0.25
    style, summary = train_tiny("generation/style", tmp_path, *TINY, "data.crop=32", "model.width=8", "model.blocks=1",
                          "model.encoder_width=8", "batch_size=4", "lr=1e-2", "data.tile=32", "data.style_side=64",
                          f"init_from={encoder.dir}", data=str(photos), epochs=3)
    trainer = style.trainer(with_data=True)
    unchanged = trainer.task.unchanged_distance(trainer.eval_model(), trainer.data.test, trainer.device)
    assert summary["test"]["style_distance"] < 0.5 * unchanged, (summary["test"], unchanged)
    from zoo.training.checkpoint import load
    mine = load(style.dir / "checkpoints" / "last.safetensors")["model"]
    theirs = load(encoder.dir / "checkpoints" / "best.safetensors")["model"]
    assert torch.equal(mine["encoder.stages.0.1.weight"], theirs["encoder.stages.0.1.weight"])  # loaded, frozen
    assert "random weights" not in capfd.readouterr().err
    train_tiny("generation/style", tmp_path / "alone", *TINY, "data.crop=32", "model.width=8", "model.blocks=1",
               "model.encoder_width=8", "batch_size=4", "data.tile=32", "data.style_side=64", "max_steps=1",
               data=str(photos))
    assert "random weights" in capfd.readouterr().err


def test_flow_matching_learns_and_samples_the_classes_asked_for(tmp_path):
    require(fashion_data.FASHION_DIR.is_dir(), "Fashion-MNIST (Debian dataset-fashion-mnist) is not installed")
    run, summary = train_tiny("generation/diffusion-fashion", tmp_path, *TINY, "data.limit=1024", "model.width=16",
                              "batch_size=32", "data.steps=4", "data.grid_every=2", "eval_limit=2", "lr=3e-3",
                              "eval_batch_size=64", "ema=0", epochs=2)
    history = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    valid = run.trainer(with_data=True).data.valid.images
    predicting_zero = float((1 + valid ** 2).mean())  # E (noise - x)^2 when the network says v = 0
    assert history[-1]["valid_loss"] < 0.5 * predicting_zero, (history, predicting_zero)
    assert (run.dir / "samples" / "epoch002.png").is_file() and (run.dir / "samples.png").is_file()
    results = run.predict([], out=tmp_path / "samples", count=3, labels=("sneaker", "9"))
    assert [r["label"] for r in results] == ["Sneaker", "Ankle boot", "Sneaker"]
    assert Image.open(results[0]["files"][0]).size == (28, 28) and (tmp_path / "samples" / "grid.png").is_file()
    with pytest.raises(ZooError, match="--label hat: not a class"):
        run.predict([], count=1, labels=("hat",))
