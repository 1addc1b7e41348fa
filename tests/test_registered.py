"""Everything registered by every installed plugin: each model passes forward and backward on its
expected input, and each recipe trains one tiny step end to end."""
import json
from contextlib import contextmanager

import pytest
import torch

from zoo import DataMissing
from zoo.plugins import get_registry
from zoo.registry.entries import import_path
from zoo.testing import require

REGISTRY = get_registry()
MODELS = [e.name for e in REGISTRY.find(kind="model")]
RECIPES = [e.name for e in REGISTRY.find(kind="recipe")]
TINY = {"epochs": 1, "max_steps": 1, "eval_limit": 1, "grad_stats_every": 0, "device": "cpu", "batch_size": 4,
        "eval_batch_size": 4}


@contextmanager
def default_data():
    """A recipe whose default data is not installed is skipped, and fails under CI=true."""
    try:
        yield
    except DataMissing as exc:
        require(False, str(exc))


def model_and_input(name: str):
    """The model built as its first recipe builds it, with one batch of that recipe's data."""
    spec = REGISTRY.get(name, kind="model")
    if spec.example:
        kwargs, x = import_path(spec.example, name)()
        return spec.load()(**kwargs), x, None
    from zoo.config import resolve
    from zoo.build import build

    # a recipe that trains this model; else one of its domain whose data has the same task, model swapped in
    def fit(r):  # this model's own recipe first, then one whose model, then whose data, has the same task
        return (r.model == name, REGISTRY.get(r.model, kind="model").task == spec.task,
                REGISTRY.get(r.dataset, kind="dataset").task == spec.task)

    recipes = sorted((r for r in REGISTRY.find(kind="recipe", domain=spec.domain) if any(fit(r))), key=fit,
                     reverse=True)
    assert recipes, f"{name}: no recipe of its domain fits it and it declares no example input"
    recipe = recipes[0]
    built = build(recipe.name, config={**resolve(recipe.defaults, recipe=recipe.name), **TINY})
    task = built.task
    if recipe.model != name:  # swap this model in, trained for its own task
        from zoo.config import split
        from zoo.tasks import get_task
        task = get_task(spec.task)(split(built.config)[0], built.bundle.info)
    model = built.model if recipe.model == name else spec.load()(**built.bundle.model_args)
    loader = torch.utils.data.DataLoader(built.bundle.train, batch_size=2, collate_fn=built.bundle.collate)
    x, y = next(iter(loader))
    return model, x, (task, y)


@pytest.mark.parametrize("name", MODELS)
def test_model_forward_and_backward(name):
    with default_data():
        model, x, task_and_target = model_and_input(name)
    model.train()
    if task_and_target:
        task, y = task_and_target
        out = task.forward(model, x)
        loss = task.loss(out, y)
    else:
        out = model(**x) if isinstance(x, dict) else model(x)
        parts = out.values() if isinstance(out, dict) else [out] if isinstance(out, torch.Tensor) else out
        loss = sum(part.float().pow(2).mean() for part in parts)
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads), f"{name}: no gradient reached the weights"
    assert all(g is None or torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_trains_one_step(name, tmp_path):
    from zoo.runs import train

    out = tmp_path / "run"
    quick = REGISTRY.get(name, kind="recipe").quick  # a recipe's own smaller first round, when it makes its data
    with default_data():
        train(name, sets={k: str(v) for k, v in {**TINY, **quick}.items()}, out=str(out), callbacks=[])
    for path in ("config.json", "metrics.jsonl", "summary.json", "curves.png", "README.md",
                 "checkpoints/last.safetensors"):
        assert (out / path).is_file(), f"{name}: missing {path}"
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["epoch"] == 1 and row["train_loss"] == row["train_loss"]  # not NaN
    config = json.loads((out / "config.json").read_text())
    assert config["recipe"] == name and {"zoo", "torch"} <= set(config["versions"])
