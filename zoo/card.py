"""The model card: the README.md a finished run directory holds (what it is, its data and licence, its results)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .plugins import get_registry
from .registry import DatasetSpec


def model_card(run_dir: Path, built, summary: dict[str, Any]) -> str:
    recipe = built.recipe
    dataset = get_registry().get(recipe.dataset, kind="dataset")
    model = get_registry().get(recipe.model, kind="model")
    assert isinstance(dataset, DatasetSpec)
    lines = [f"# {recipe.name}", "", recipe.summary, "",
             "## Recipe", "", f"- dataset: `{dataset.name}`: {dataset.summary}", f"- model: `{model.name}`: {model.summary}",
             f"- task: {recipe.task}", f"- settings: see `config.json`", "",
             "## Data", "", f"- source: {dataset.source or 'n/a'}", f"- licence: {dataset.licence or 'n/a'}"]
    if dataset.notes:
        lines.append(f"- notes: {dataset.notes}")
    lines += ["", "## Results", "", "Final: the last epoch's weights; best: the checkpoint the validation split picked "
              f"(by {summary.get('monitor', 'its metric')}), which `zoo eval` and `zoo predict` use.", "",
              "| split | metric | final | best |", "|---|---|---|---|"]
    for name, value in summary["valid"]["final"].items():
        lines.append(f"| valid | {name} | {value:.4f} | {summary['valid']['best'][name]:.4f} |")
    for name, value in summary.get("test", {}).items():
        lines.append(f"| test | {name} | {summary['test_final'][name]:.4f} | {value:.4f} |")
    views = built.config.get("task.tta")
    for name, value in summary.get("test_tta", {}).items():
        lines.append(f"| test, views {views} (`zoo eval --tta`) | {name} | | {value:.4f} |")
    extra = built.task.card()
    if extra:
        lines += ["", extra.rstrip()]
    lines += ["", "## Reload and predict", "", "```bash", f"zoo eval {run_dir}", f"zoo predict {run_dir} INPUT...",
              f"zoo export {run_dir} --format onnx --out model.onnx", "```", "", "```python", "import zoo", "",
              f"run = zoo.load({str(run_dir)!r})", "print(run.predict(['INPUT']))  # file paths, text, PIL images",
              "net = run.module  # the plain torch nn.Module, with the weights zoo eval uses", "```", ""]
    return "\n".join(lines)
