"""What the UCI and GTP engines share: the run they play, checked before anything heavy is imported, and its
network, opened through the run's Predictor (zoo.predictor: the one way from a run to predictions)."""
from __future__ import annotations

import json
from pathlib import Path

from zoo import ZooError


def check_run(run_dir: str, task: str, what: str) -> dict:
    """The run's config.json, refused in one line when the folder is not a run or its recipe's task is not `task`
    (zoo_games.tasks.chess:ChessTask, say). Reads only JSON and the plugins' specs: the GUI's handshake does not
    wait for torch."""
    from zoo.predictor import recipe_spec

    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ZooError(f"{run_dir}: not a run directory (no config.json)")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ZooError(f"{path}: not a run's config ({exc})") from None
    if not isinstance(config, dict) or "recipe" not in config:
        raise ZooError(f"{path}: not a run's config (no recipe in it)")
    if recipe_spec(config["recipe"]).task != task:
        raise ZooError(f"{run_dir}: a run of {config['recipe']}, not a {what} run")
    return config


def open_model(run_dir: str, device: str = "cpu"):
    """The run's Predictor: its network in eval mode (the weights `zoo eval` uses) on `device`."""
    from zoo.reopen import open_run

    return open_run(run_dir, device=device).predictor()
