import json
import subprocess
import sys

import pytest

from zoo.testing import run_zoo

HEAVY = ("torch", "timm", "monai", "transformers")


@pytest.mark.parametrize("args", [["--help"], ["list"], ["list", "vision/*"], ["info", "vision/digits-resnet"],
                                  ["info", "vision/digits"], ["plugins"]])
def test_browsing_imports_no_heavy_library(args):
    code = (f"import sys\nfrom zoo.cli import main\ntry:\n    main({args!r})\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_list_is_a_table_filtered_by_pattern_domain_and_kind():
    result = run_zoo("list", "vision/*", "--kind", "recipe")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["name", "kind", "task", "summary"]
    names = [line.split()[0] for line in lines[1:]]
    assert "vision/digits-resnet" in names and all(n.startswith("vision/") for n in names)
    assert all(line.split()[1] == "recipe" for line in lines[1:])
    assert run_zoo("list", "--domain", "nosuchdomain").out.strip() == "no entries match"


def test_info_shows_settings_data_source_and_licence():
    result = run_zoo("info", "vision/digits-resnet")
    assert result.code == 0
    for text in ("vision/digits", "licence", "source", "label_smoothing", "mixup", "set by this recipe"):
        assert text in result.out
    data = json.loads(run_zoo("info", "vision/fashion-mnist", "--json").out)
    assert data["kind"] == "dataset" and data["licence"] == "MIT" and "IDX" in data["bring_your_own"]


def test_plugins_lists_what_each_contributed():
    statuses = json.loads(run_zoo("plugins", "--json").out)
    vision = next(s for s in statuses if s["name"] == "zoo-vision")
    assert vision["status"] == "loaded" and "vision/digits-resnet" in vision["contributed"]


@pytest.mark.parametrize("args, message", [
    (["info", "vision/digts-resnet"], "did you mean vision/digits-resnet"),
    (["train", "vision/digit-resnet"], "did you mean vision/digits-resnet"),
    (["train", "vision/digits-resnet", "--set", "lr_rate=1"], "--set lr_rate: unknown setting"),
    (["train", "vision/digits-resnet", "--set", "lr=fast"], "--set lr: expected float, got 'fast'"),
    (["train", "vision/digits-resnet", "--set", "epochs=0"], "epochs: must be at least 1"),
    (["train", "vision/digits-resnet", "--set", "lr"], "expected key=value"),
    (["train", "vision/image-folder", "--data", "/no/such/folder"], "/no/such/folder"),
    (["eval", "/no/such/run"], "not a run directory"),
    (["train", "vision/digits-resnet", "--epochs", "abc"], "'--epochs': 'abc' is not a valid integer"),
    (["train", "vision/digits-resnet", "--device", "gpu"], "'--device': 'gpu' is not one of"),
    (["list", "--kind", "recipes"], "'--kind': 'recipes' is not one of"),
    (["info"], "Missing argument 'NAME'"),
    (["train", "vision/digits-resnet", "--set", "model.drop_path_rate=abc"], "model.drop_path_rate: expected float"),
    (["train", "vision/digits-resnet", "--set", "model.drop_pat_rate=0.1"], "did you mean model.drop_path_rate"),
])
def test_bad_input_is_one_line_exit_2_no_traceback(args, message):
    result = run_zoo(*args)
    assert result.code == 2, result.err
    assert message in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1


def test_resume_refuses_other_data(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"recipe": "vision/digits-resnet", "data": None, "config": {},
                                                             "model_args": {}, "info": {}, "versions": {}}))
    result = run_zoo("train", "vision/digits-resnet", "--resume", str(tmp_path), "--data", str(tmp_path))
    assert result.code == 2 and "trained on its default data; it continues on it" in result.err, result.err


def test_set_reaches_factory_settings_the_recipe_leaves_at_their_default():
    from zoo.config import resolve
    from zoo.build import factory_settings, recipe_spec

    recipe = recipe_spec("vision/digits-resnet")
    extra = factory_settings(recipe)
    assert extra["model.drop_path_rate"] == 0.0 and "model.drop_path_rate" not in recipe.defaults
    assert "data.seed" not in extra and "data.data" not in extra  # given by the trainer, never by --set
    config = resolve(recipe.defaults, {"model.drop_path_rate": "0.2", "model.width": "8"}, recipe=recipe.name,
                     extra=extra)
    assert config["model.drop_path_rate"] == 0.2 and config["model.width"] == 8
    assert "model.stem_convs" not in resolve(recipe.defaults, {}, recipe=recipe.name, extra=extra)
