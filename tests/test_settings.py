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
