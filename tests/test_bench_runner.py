"""bench/run.py: a section's command names the settings it ran with."""
from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_runner():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_command_carries_the_environment_variables_the_script_names(tmp_path: Path) -> None:
    script = tmp_path / "bench_toy.py"
    script.write_text('import os\nSETS = os.environ.get("TOY_BENCH_SETS", "")\nRUN = os.environ["TOY_RUN"]\n'
                      'train_defaults("toy", "TOY_OTHER_SETS")\n')
    environ = {"TOY_BENCH_SETS": "epochs=100,lr=1e-3", "TOY_RUN": "/tmp/a run", "UNRELATED_VAR": "x"}
    command = load_runner().command_of("toy", script, environ)
    assert command == "TOY_BENCH_SETS=epochs=100,lr=1e-3 TOY_RUN='/tmp/a run' python bench/bench_toy.py"
    assert load_runner().command_of("toy", script, {}) == "python bench/bench_toy.py"
