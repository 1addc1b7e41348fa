"""The recipe builder of zoo-recsys: the default wiring, then the data hands the model what it keeps."""
from __future__ import annotations

from typing import Any

from zoo.build import default_recipe


def build(recipe, config: dict[str, Any], data: str | None):
    """default_recipe, plus the users' known items and side-feature tables attached to the model.

    They are data-sized tensors, not JSON, so they cannot travel in model_args (config.json); as model
    buffers they land in the checkpoint, and `zoo predict` works from the run directory alone.
    """
    bundle, model, task = default_recipe(recipe, config, data)
    attachments = getattr(bundle, "attachments", None)
    if attachments and hasattr(model, "attach"):
        model.attach(**attachments)
    return bundle, model, task
