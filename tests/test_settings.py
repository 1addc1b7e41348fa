"""Settings are refused where they are declared, in one line, before a run folder or any work exists."""
from __future__ import annotations

from typing import Annotated

import pytest

from zoo import ZooError
from zoo.config import Range, check_factory_settings, parse_sets
from zoo.testing import run_zoo

# (recipe, setting): values out of their range, by a factory's declared Range or by the name's convention
BAD = [
    ("biology/tf-binding", "model.dropout=1.5"),
    ("biology/tf-binding", "model.kernel=0"),
    ("biology/tf-binding", "data.window=-5"),
    ("nlp/report-summarize", "data.num_beams=0"),
    ("generation/denoise", "data.sigma_max=-10"),
    ("robotics/object-localization", "model.drop_rate=nan"),
    ("robotics/object-localization", "data.size=-8"),
    ("vision/image-folder", "data.image_size=-1"),
    ("biology/tf-binding", "task.label_smoothing=1.5"),  # a task's settings are checked like the factories'
    ("games/connect4-alphazero", "task.eval_budget=0"),
]


@pytest.mark.parametrize("recipe,setting", BAD, ids=[f"{r}:{s}" for r, s in BAD])
def test_out_of_range_setting_is_refused_before_a_run_folder_exists(recipe, setting, tmp_path):
    from zoo.plugins import get_registry
    from zoo.runs import train

    if recipe not in get_registry():
        pytest.skip(f"{recipe} is not installed")
    out = tmp_path / "run"
    with pytest.raises(ZooError, match=f"--set {setting.split('=')[0]}: must be"):
        train(recipe, sets=parse_sets([setting]), out=str(out), device="cpu")
    assert not out.exists()


def test_the_cli_refuses_it_in_one_line_with_exit_2(tmp_path):
    out = tmp_path / "run"
    result = run_zoo("train", "biology/tf-binding", "--set", "model.dropout=1.5", "--out", str(out), timeout=120)
    assert result.code == 2 and not out.exists()
    assert result.err.strip().splitlines() == ["error: --set model.dropout: must be from 0 to 1 (not included), got 1.5"]


def factory(image_size: Annotated[int, Range(0)] = 0, size: int = 8, dropout: float = 0.1):
    return None


def test_a_declared_range_wins_over_the_names_convention():
    check_factory_settings(factory, "data", {"image_size": 0, "size": 1, "dropout": 0.0})
    with pytest.raises(ZooError, match="data.size: must be at least 1"):
        check_factory_settings(factory, "data", {"size": 0})
    with pytest.raises(ZooError, match="data.dropout"):
        check_factory_settings(factory, "data", {"dropout": 1.0})


def test_a_setting_the_task_owns_is_set_under_task_and_its_old_key_names_the_new_one(tmp_path):
    out = tmp_path / "run"
    result = run_zoo("train", "biology/tf-binding", "--set", "tta=revcomp", "--out", str(out), timeout=120)
    assert result.code == 2 and not out.exists()
    assert result.err.strip() == "error: --set tta: this setting is now task.tta (see `zoo info biology/tf-binding`)"
    wrong = run_zoo("train", "biology/tf-binding", "--set", "task.logit_adjust=1", "--out", str(out), timeout=120)
    assert wrong.code == 2 and "task.logit_adjust" in wrong.err and "label_smoothing" in wrong.err  # what it has


def test_zoo_info_shows_the_four_groups_with_help_lines():
    import json

    result = run_zoo("info", "vision/digits-resnet")
    for title in ("trainer", "task (classification, ClassifierSettings)", "model (vision/resnet-tiny)",
                  "data (vision/digits)"):
        assert title in result.out
    data = json.loads(run_zoo("info", "vision/digits-resnet", "--json").out)
    assert data["settings"]["task.tta"] == "shift" and "lr" in data["settings"] and "tta" not in data["settings"]
    assert "label smoothing" in data["setting_help"]["task.label_smoothing"]
    assert "stem_stride=2 halves" in data["setting_help"]["model.stem_stride"]  # its factory's docstring says it
    assert data["setting_help"]["model.drop_rate"] == "from 0 to 1 (not included)"  # else the range it may take


def test_a_recipe_whose_task_settings_lack_what_its_task_reads_is_refused():
    from dataclasses import replace

    from zoo.build import attach_settings, settings_class
    from zoo.config import TaskSettings, TrainConfig
    from zoo.errors import PluginError
    from zoo.plugins import get_registry
    from zoo.tasks import get_task

    recipe = get_registry().get("games/connect4-alphazero")
    assert settings_class(replace(recipe, task_settings="")) is TaskSettings
    task = get_task(recipe.task)(TrainConfig(), {"heads": {}, "num_classes": 7})
    with pytest.raises(PluginError, match="ClassifierSettings"):  # its policy head smooths labels
        attach_settings(task, TaskSettings(), recipe)
    attach_settings(task, settings_class(recipe)(label_smoothing=0.2), recipe, generates=True)
    assert task.tasks["policy"].settings.label_smoothing == 0.2  # one set of settings, read by every head


def test_a_run_saved_with_the_old_keys_still_opens(tmp_path):
    import json

    from zoo.rundir import read_config

    (tmp_path / "config.json").write_text(json.dumps({
        "recipe": "vision/digits-resnet", "config": {"lr": 0.1, "tta": "shift", "label_smoothing": 0.1,
                                                     "logit_adjust": 0.0, "eval_budget": 100, "steps_per_round": 0},
        "model_args": {}, "info": {}, "versions": {"zoo": "0.1.0"}}))
    # the old trainer defaults said nothing: dropped, so a task that does not take them still opens the run
    assert read_config(tmp_path)["config"] == {"lr": 0.1, "task.tta": "shift", "task.label_smoothing": 0.1}


def test_every_recipes_four_groups_are_read_without_importing_torch():
    from zoo.testing import imported_after

    code = ("from zoo.plugins import get_registry\nfrom zoo.cli.catalog import setting_groups\n"
            "groups = [setting_groups(r) for r in get_registry().find(kind='recipe')]\n"
            "assert all(len(g) == 4 for g in groups)")
    assert imported_after(code, ("torch", "timm", "monai", "transformers")) == []
