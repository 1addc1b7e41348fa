"""generation/colorize: its own split of the built-in photos (whole photos apart, denoising's split unchanged), the
photos it adds, and the decoding (annealed-mean temperature x confidence-scaled chroma) chosen on the validation
photos, stored in the run and overridden by task.temperature. Fast: no training here (the tiny training is in
test_generation_training.py)."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from zoo_generation.data import colorize as colorize_data, photos as photos_data
from zoo_generation.images import is_grey, read_array
from zoo_generation.plugin import ColorizeSettings
from zoo_generation.tasks import colorize as colorize_task
from zoo_generation.tasks.colorize import ColorizeTask, choose_decoding


def catalogue():
    return {**photos_data.PHOTOS, **photos_data.MORE_PHOTOS, **colorize_data.EXTRA_PHOTOS}


def test_colorization_split_holds_whole_photos_apart_and_leaves_denoisings_alone():
    names = catalogue()
    assert len(names) == len(photos_data.PHOTOS) + len(photos_data.MORE_PHOTOS) + len(colorize_data.EXTRA_PHOTOS)
    files = [(where, file) for where, file, _ in names.values()]
    assert len(set(files)) == len(files) and all(licence for _, _, licence in names.values())
    held = colorize_data.COLORIZE_TEST + colorize_data.COLORIZE_VALID
    assert len(set(held)) == len(held) and set(held) <= set(names)  # no photo in two held-out splits
    assert set(photos_data.TEST) <= set(colorize_data.COLORIZE_TEST)  # the old test photos are still test photos
    assert len(colorize_data.COLORIZE_TEST) - 1 >= 10  # camera is grey: 12 colour test photos
    # denoising's split of the same photos is what it was
    assert [n for n in names if photos_data.split_of(n, more=True) == "test"] == [
        n for n in names if n in photos_data.TEST + photos_data.MORE_TEST]


@pytest.fixture
def colour_catalogue(tmp_path, monkeypatch):
    """Every built-in photo colorization may use replaced by a small flat image of its own colour."""
    names = catalogue()
    colours = {name: (40 + 3 * i, 200 - 2 * i, 90) for i, name in enumerate(names)}
    for name, rgb in colours.items():
        Image.fromarray(np.tile(np.array(rgb, np.uint8), (40, 56, 1))).save(tmp_path / f"{name}.png")
    by_file = {file: name for name, (_, file, _) in names.items()}
    monkeypatch.setattr(photos_data, "photo_path", lambda where, file: tmp_path / f"{by_file[file]}.png")
    return colours


def test_colorization_trains_on_the_wallpapers_and_tests_on_twelve_whole_photos(colour_catalogue):
    bundle = colorize_data.colorize_photos(crop=16, max_side=64, tile=16)
    names = bundle.info["photos"]
    assert len(names["test"]) == len(colorize_data.COLORIZE_TEST) and len(names["valid"]) == 5
    assert {"analogpattern", "greentock", "sunset", "rocket", "ocv_baboon", "ocv_squirrel"} <= set(names["train"])
    assert not set(names["train"]) & (set(names["test"]) | set(names["valid"]))
    # no pixel of a held-out photo is in a training window (each photo's colour is its own)
    red = {name: rgb[0] for name, rgb in colour_catalogue.items()}
    seen = {round(float(v) * 255) for img in bundle.train.images for v in colorize_data.lab_to_rgb(img)[0].unique()}
    assert seen == {red[n] for n in names["train"]}
    assert bundle.test.calibration is bundle.valid  # the test decoding is chosen on the validation photos
    old = colorize_data.colorize_photos(crop=16, max_side=64, tile=16, more=False).info["photos"]
    assert "bridge" not in sum(old.values(), []) and set(old["test"]) == set(photos_data.TEST)


@pytest.mark.parametrize("name", sorted(n for n, (where, _, _) in colorize_data.EXTRA_PHOTOS.items()
                                        if where == "lomiri"))
def test_the_added_wallpaper_photos_read_in_colour(name):
    where, file, licence = colorize_data.EXTRA_PHOTOS[name]
    path = photos_data.photo_path(where, file)
    if not any(photos_data.photo_path("lomiri", f).is_file() for f, _ in photos_data.LOMIRI_PHOTOS.values()):
        pytest.skip("Debian's lomiri-wallpapers-16.04 is not installed (plugins/generation/debian-packages.txt)")
    assert path.is_file()  # the package is installed: its file must be where the catalogue says
    array = read_array(path, draft=1024)
    assert array.ndim == 3 and array.shape[2] == 3 and min(array.shape[:2]) >= 256 and not is_grey(array)
    assert "CC BY-SA 4.0" in licence


def test_the_rule_is_the_most_colourful_decoding_at_least_as_good_as_grey():
    grid = [(0.2, 0.0, 0.0), (0.38, 0.0, 0.0), (1.0, 1.0, 0.0), (0.38, 0.0, 0.5)]
    psnrs, colours = np.array([17.0, 18.2, 19.5, 18.9]), np.array([40.0, 30.0, 12.0, 22.0])
    chosen = choose_decoding(grid, psnrs, colours, grey_psnr=18.0)
    assert (chosen["temperature"], chosen["prior"], chosen["confidence"]) == (0.38, 0.0, 0.0)
    assert chosen["valid_colourfulness"] == 30.0
    chosen = choose_decoding(grid, psnrs, colours, grey_psnr=18.0, margin=0.5)  # 18.2 no longer reaches 18.5
    assert (chosen["temperature"], chosen["confidence"]) == (0.38, 0.5)
    chosen = choose_decoding(grid, psnrs, colours, grey_psnr=20.0)  # none reaches grey: the best PSNR
    assert (chosen["temperature"], chosen["prior"]) == (1.0, 1.0) and "best PSNR" in chosen["rule"]
    assert len(chosen["table"]) == 4


def make_task(ab_bins, info_extra=None, weights=None, **settings) -> ColorizeTask:
    task = ColorizeTask.__new__(ColorizeTask)
    task.config = type("C", (), {"eval_limit": 0})()
    weights = weights or [1.0] * len(ab_bins)
    task.info = {"ab_bins": ab_bins, "bin_weights": weights, **(info_extra or {})}
    task.centres = torch.tensor(ab_bins, dtype=torch.float32)
    task.weights = torch.tensor(weights)
    task.settings, task.chosen, task.options = ColorizeSettings(**settings), None, {}
    return task


BINS = [[-40.0, -40.0], [0.0, 0.0], [40.0, 40.0], [40.0, -40.0]]


def test_confidence_fades_unsure_pixels_to_grey_and_temperature_sharpens():
    task = make_task(BINS)
    logits = torch.zeros(1, 4, 1, 2)
    logits[0, 2, 0, 1] = 6.0  # pixel 0 unsure (uniform), pixel 1 sure of (40, 40)
    mean = task.decode(logits, 1.0)
    assert torch.allclose(mean[0, :, 0, 0], torch.tensor([10.0, -10.0]))  # the mean of the 4 bins
    faded = task.decode(logits, 1.0, confidence=1.0)
    assert faded[0, :, 0, 0].abs().max() < 1e-4  # no confidence: grey
    assert faded[0, 0, 0, 1] > 0.7 * mean[0, 0, 0, 1]
    sharp = task.decode(logits, 0.2)
    assert torch.allclose(sharp[0, :, 0, 1], torch.tensor([40.0, 40.0]), atol=0.5)
    both = task.decode_many(logits, [(1.0, 0.0, 0.0), (1.0, 0.0, 1.0)])
    assert torch.equal(both, torch.cat([mean, faded], 1))


def test_the_prior_divides_the_class_rebalancing_back_out():
    # the loss weighed the rare bin (40, 40) 8 times as much as the common grey bin: a network that says
    # 'half and half' means 'grey 8 times as likely' once the weights are divided out
    task = make_task([[0.0, 0.0], [40.0, 40.0]], weights=[0.5, 4.0])
    logits = torch.zeros(1, 2, 1, 1)
    assert torch.allclose(task.decode(logits, 1.0, prior=0.0)[0, :, 0, 0], torch.tensor([20.0, 20.0]))
    assert torch.allclose(task.decode(logits, 1.0, prior=1.0)[0, :, 0, 0], torch.tensor([40 / 9, 40 / 9]), atol=1e-4)
    half = task.decode(logits, 1.0, prior=0.5)[0, 0, 0, 0]
    assert 40 / 9 < half < 20


class Fixed(torch.nn.Module):
    """A 'network' that gives every pixel the same logits."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.tensor(logits)

    def forward(self, x):
        n, _, h, w = x.shape
        return self.logits[None, :, None, None].expand(n, -1, h, w)


def held(ab):
    """One valid photo of one colour (L 60, the given ab), as the dataset gives it."""
    lab = torch.cat([torch.full((1, 16, 16), 60.0), torch.tensor(ab, dtype=torch.float32)[:, None, None].expand(2, 16, 16)])
    data = type("Held", (), {})()
    data.photos, data.rgb = [("p", lab)], {"p": colorize_data.lab_to_rgb(lab)}
    return data


def test_choice_on_validation_photos_is_bold_when_right_and_falls_back_when_wrong():
    task = make_task(BINS)
    right = Fixed([0.0, 0.0, 2.0, 0.0])  # leans to the true colour (40, 40)
    chosen = task.choose(right, held([40.0, 40.0]), torch.device("cpu"))
    assert chosen["temperature"] == min(ColorizeTask.TEMPERATURES) and chosen["confidence"] == 0.0
    assert len(chosen["table"]) == len(ColorizeTask.TEMPERATURES) * len(ColorizeTask.PRIORS) * 2
    assert chosen["valid_psnr"] > chosen["grey_psnr"] + 5
    wrong = Fixed([6.0, 0.0, 0.0, 0.0])  # sure of (-40, -40): every decoding is worse than grey
    chosen = task.choose(wrong, held([40.0, 40.0]), torch.device("cpu"))
    best = max(chosen["table"], key=lambda row: row["psnr"])
    assert chosen["valid_psnr"] < chosen["grey_psnr"] and chosen["valid_psnr"] == best["psnr"]
    assert all(chosen[k] == best[k] for k in ColorizeTask.KEYS)


def test_the_stored_choice_is_used_and_the_setting_overrides_it(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"info": {"ab_bins": BINS}}))
    colorize_task.record_decoding(tmp_path, choose_decoding([(0.5, 1.0, 0.5)], np.array([20.0]), np.array([9.0]), 18.0))
    stored = json.loads((tmp_path / "config.json").read_text())["info"]["decoding"]
    assert stored == {"temperature": 0.5, "prior": 1.0, "confidence": 0.5}
    assert json.loads((tmp_path / "colorize.json").read_text())["table"][0]["psnr"] == 20.0
    assert make_task(BINS).decoding() is None  # not chosen yet: chosen on the validation photos
    assert make_task(BINS, {"decoding": stored}).decoding() == (0.5, 1.0, 0.5)
    assert make_task(BINS, {"decoding": stored}, temperature=0.3).decoding() == (0.3, 0.0, 0.0)
    assert make_task(BINS, temperature=0.3, prior=1.0, confidence=1.0).decoding() == (0.3, 1.0, 1.0)


def test_the_colorizer_at_half_resolution_gives_logits_at_full_resolution():
    from zoo import ZooError
    from zoo_generation.models import colorizer

    torch.manual_seed(0)
    net = colorizer(7, width=8, levels=2, scale=2)
    x = torch.rand(2, 1, 21, 30)
    assert net(x).shape == (2, 7, 21, 30)  # odd sizes too
    flat = torch.zeros(1, 1, 16, 16)
    flat[..., :, 8:] = 1.0  # half dark, half bright: the logits follow at full resolution, smoothly
    out = net(flat)
    assert not torch.allclose(out[..., 0], out[..., -1])
    with pytest.raises(ZooError, match="model.scale"):
        colorizer(7, scale=3)


@pytest.mark.parametrize("name", sorted(n for n, (where, _, _) in colorize_data.EXTRA_PHOTOS.items()
                                        if where == "opencv"))
def test_the_opencv_photos_read_in_colour_and_train(name):
    from zoo_generation import opencv_photos

    where, file, licence = colorize_data.EXTRA_PHOTOS[name]
    if not (opencv_photos.photos_dir() / file).is_file():
        pytest.skip("OpenCV's photos are not unpacked (`python -m zoo_generation.opencv_photos`, run by `make data`)")
    path = photos_data.photo_path(where, file)
    assert path == opencv_photos.photos_dir() / file  # unpacked: the catalogue must find it where it was put
    array = read_array(path, draft=1024)
    assert array.ndim == 3 and array.shape[2] == 3 and min(array.shape[:2]) >= 256 and not is_grey(array)
    assert colorize_data.colorize_split(name) == "train" and "Apache-2.0" in licence
