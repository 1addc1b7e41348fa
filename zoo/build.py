"""Building a recipe: its settings resolved, then its dataset, model and task made and checked against each other."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import BUILTIN_TASK_SETTINGS, TaskSettings, resolve, split, task_defaults, task_settings
from .errors import PluginError, ZooError
from .plugins import get_registry
from .registry import RecipeSpec
from .registry.entries import import_path


@dataclass
class Built:
    """A recipe made concrete: resolved config, data, model, task."""

    recipe: RecipeSpec
    config: dict[str, Any]
    bundle: Any
    model: Any
    task: Any


def recipe_spec(name: str) -> RecipeSpec:
    return get_registry().get(name, kind="recipe")  # type: ignore[return-value]


def build(name: str, data: str | None = None, sets: dict[str, str] | None = None, *,
          config: dict[str, Any] | None = None, **explicit: Any) -> Built:
    """Resolve the config and build dataset, model and task through the recipe's factory, then check them."""
    import torch.nn as nn

    from .data import DataBundle
    from .tasks import Task
    from .training.device import seed_everything

    recipe = recipe_spec(name)
    if config is None:
        config = resolve(recipe.defaults, sets, recipe=name, extra=factory_settings(recipe),
                         task_defaults=task_defaults(settings_class(recipe)), **explicit)
    settings = check_settings(recipe, config)
    if data is not None and not Path(data).exists():
        raise ZooError(f"--data {data}: no such file or folder")
    seed_everything(config["seed"])  # model initialization and data generation depend on the seed only
    built = recipe.load()(recipe, config, data)
    if not (isinstance(built, tuple) and len(built) == 3):
        raise PluginError(f"{name}: its builder {recipe.factory} must return (DataBundle, nn.Module, Task)")
    bundle, model, task = built
    for value, kind, what in ((bundle, DataBundle, "a zoo DataBundle"), (model, nn.Module, "a torch nn.Module"),
                              (task, Task, "a zoo Task")):
        if not isinstance(value, kind):
            source = {"a zoo DataBundle": recipe.dataset, "a torch nn.Module": recipe.model}.get(what, name)
            raise PluginError(f"{source}: its factory returned {type(value).__name__}, expected {what}")
    attach_settings(task, settings, recipe, generates=bundle.generator is not None)
    bundle.check(recipe.dataset)
    sample = bundle.train if bundle.generator is None else bundle.valid  # generated data is checked per round
    if sample is not None:
        first = next(iter(_first_batch(bundle, sample)))
        task.check_batch(first[0], first[1], recipe.dataset)
    return Built(recipe, config, bundle, model, task)


def check_settings(recipe: RecipeSpec, config: dict[str, Any]) -> TaskSettings:
    """Every model./data./task. value within its range, before anything is built or written; the task's settings."""
    from .config import check_factory_settings

    _, model_opts, data_opts = split(config)
    registry = get_registry()
    check_factory_settings(registry.get(recipe.model, kind="model").load(), "model", model_opts)
    check_factory_settings(registry.get(recipe.dataset, kind="dataset").load(), "data", data_opts)
    return task_settings(config, settings_class(recipe), recipe.name)


def settings_class(recipe: RecipeSpec) -> type[TaskSettings]:
    """The dataclass of the recipe's task settings: the one it names, else the built-in task's, else the base."""
    if not recipe.task_settings:
        return BUILTIN_TASK_SETTINGS.get(recipe.task, TaskSettings)
    kind = import_path(recipe.task_settings, recipe.name)
    if not (isinstance(kind, type) and issubclass(kind, TaskSettings)):
        raise PluginError(f"{recipe.name}: task_settings {recipe.task_settings!r} is not a zoo.config.TaskSettings "
                          "dataclass")
    return kind


def attach_settings(task: Any, settings: TaskSettings, recipe: RecipeSpec, generates: bool = False) -> None:
    """Give the task its settings, after checking they hold what the task and the trainer will read."""
    from .config import EvaluatedSettings, RoundSettings

    needs = list(task.settings_needed())
    if task.evaluates_itself:
        needs.append(EvaluatedSettings)  # the trainer passes eval_budget to its evaluation
    if generates:
        needs.append(RoundSettings)  # the trainer runs steps_per_round steps on each round's data
    for kind in needs:
        if not isinstance(settings, kind):
            raise PluginError(f"{recipe.name}: its task {type(task).__name__} reads the settings of {kind.__name__}, "
                              f"which its task settings {type(settings).__name__} lack: name a dataclass that "
                              f"derives from it in the recipe's task_settings")
    task.settings = settings


def factory_settings(recipe: RecipeSpec) -> dict[str, Any]:
    """Every keyword setting of the recipe's model and dataset factories with its default, by key
    (`model.drop_path_rate`, `data.limit`): what `--set` may change beyond the recipe's own defaults."""
    import inspect

    registry = get_registry()
    settings: dict[str, Any] = {}
    for prefix, kind, name in (("model", "model", recipe.model), ("data", "dataset", recipe.dataset)):
        for param in inspect.signature(registry.get(name, kind=kind).load()).parameters.values():
            if param.name not in ("data", "seed") and param.default is not inspect.Parameter.empty:
                settings[f"{prefix}.{param.name}"] = param.default
    return settings


def default_recipe(recipe: RecipeSpec, config: dict[str, Any], data: str | None):
    """The usual recipe: the registry's dataset and model, the named task. Plugins may supply their own."""
    from .data import DataBundle
    from .tasks import get_task

    registry = get_registry()
    train_cfg, model_opts, data_opts = split(config)
    dataset = registry.get(recipe.dataset, kind="dataset").load()
    bundle = call_with(dataset, recipe.dataset, "data", data, seed=train_cfg.seed, **data_opts)
    if not isinstance(bundle, DataBundle):
        raise PluginError(f"{recipe.dataset}: its factory returned {type(bundle).__name__}, expected a zoo DataBundle")
    model_factory = registry.get(recipe.model, kind="model").load()
    model = call_with(model_factory, recipe.model, "model", **{**bundle.model_args, **model_opts})
    task = get_task(recipe.task)(train_cfg, bundle.info)
    return bundle, model, task


def call_with(factory, owner: str, prefix: str, *args: Any, **kwargs: Any) -> Any:
    """Call a factory, refusing settings it does not take with an error that names them."""
    import inspect

    from .config import check_factory_settings

    try:
        inspect.signature(factory).bind(*args, **kwargs)
    except TypeError as exc:
        params = [p for p in inspect.signature(factory).parameters if p not in ("data", "seed")]
        raise ZooError(f"{owner}: {exc}; its {prefix}.* settings are {', '.join(params) or 'none'}") from None
    check_factory_settings(factory, prefix, kwargs)
    return factory(*args, **kwargs)


def _first_batch(bundle, dataset):
    from torch.utils.data import DataLoader
    return DataLoader(dataset, batch_size=min(4, len(dataset)), collate_fn=bundle.collate)
