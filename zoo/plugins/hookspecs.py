"""The hooks through which a plugin contributes to zoo. Each returns a list of specs."""
from __future__ import annotations

import click
import pluggy

from ..registry import DatasetSpec, ModelSpec, RecipeSpec

hookspec = pluggy.HookspecMarker("zoo")
hookimpl = pluggy.HookimplMarker("zoo")


@hookspec
def zoo_datasets() -> list[DatasetSpec]:
    """Return the datasets this plugin contributes."""


@hookspec
def zoo_models() -> list[ModelSpec]:
    """Return the deep backbones this plugin contributes."""


@hookspec
def zoo_recipes() -> list[RecipeSpec]:
    """Return the training recipes this plugin contributes."""


@hookspec
def zoo_commands(cli: click.Group) -> None:
    """Add subcommands to the `zoo` command (e.g. `zoo uci RUN_DIR`); import heavy modules inside them."""


@hookspec
def zoo_predict_options() -> list[click.Option]:
    """Return options of `zoo predict` whose values reach the recipe's task (Task.predict_inputs)."""
