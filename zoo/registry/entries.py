"""The light specs that describe registry entries. Nothing here imports torch."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from ..errors import PluginError


def import_path(path: str, owner: str) -> Any:
    """Import 'package.module:attr'; errors name the entry that declared the path."""
    module_name, _, attr = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{owner}: cannot import {path!r}: {exc}") from exc
    return target


@dataclass(frozen=True)
class Entry:
    """What every entry has: a `domain/name` key, a one-line summary and a lazily imported factory."""

    name: str
    summary: str
    factory: str  # "package.module:callable", imported only when the entry is built
    task: str = ""
    notes: str = ""  # free text shown by `zoo info`
    provider: str = ""  # the distribution that registered it; filled in at discovery
    kind: ClassVar[str] = "entry"

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.type == "str" and not isinstance(getattr(self, f.name), str):
                owner = self.name if isinstance(self.name, str) else type(self).__name__
                raise PluginError(f"{owner}: {type(self).__name__}.{f.name} must be a string, "
                                  f"got {type(getattr(self, f.name)).__name__}")
        domain, sep, short = self.name.partition("/")
        if not sep:
            raise PluginError(f"{type(self).__name__} name {self.name!r} has no domain; "
                              f"write it as 'yourdomain/{self.name}' (keys are 'domain/name')")
        if not domain or not short or "/" in short or self.name != self.name.strip():
            raise PluginError(f"{type(self).__name__} name {self.name!r} must look like 'domain/name' "
                              "(one slash, no spaces around)")
        module, sep, attr = self.factory.partition(":")
        if not sep or not module or not attr:
            raise PluginError(f"{self.name}: factory {self.factory!r} must look like 'package.module:callable'")

    @property
    def domain(self) -> str:
        return self.name.partition("/")[0]

    def load(self) -> Any:
        """Import and return the factory callable."""
        factory = import_path(self.factory, self.name)
        if not callable(factory):
            raise PluginError(f"{self.name}: factory {self.factory!r} is a {type(factory).__name__}, not a callable")
        return factory

    def describe(self) -> dict[str, Any]:
        """Every field as plain data, for `zoo info`."""
        out = {"kind": self.kind}
        out.update({f.name: getattr(self, f.name) for f in fields(self)})
        return out


@dataclass(frozen=True)
class DatasetSpec(Entry):
    """A dataset: where its default data comes from, its licence, and how users bring their own."""

    source: str = ""
    licence: str = ""
    bring_your_own: str = ""  # how a user points `--data` at their own files
    reader: str = ""  # "module:callable" (text, info) -> one model input, for `zoo predict`
    kind: ClassVar[str] = "dataset"


@dataclass(frozen=True)
class ModelSpec(Entry):
    """A deep backbone; `input` says what it expects (e.g. 'images NxCxHxW')."""

    input: str = ""
    example: str = ""  # "module:callable" -> (factory kwargs, example input), for models no recipe uses
    kind: ClassVar[str] = "model"


@dataclass(frozen=True)
class RecipeSpec(Entry):
    """A dataset, a model, a task and the hyperparameters that train them well together."""

    dataset: str = ""
    model: str = ""
    # "module:Class" of the task's settings (a zoo.config.TaskSettings dataclass, in a module that imports no torch);
    # empty: a built-in task's own settings, else only the settings every task takes
    task_settings: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    factory: str = "zoo.build:default_recipe"
    callbacks: tuple[str, ...] = ()  # "module:callable" (resolved config) -> zoo Callback, hooked into the loop
    # settings zoo's registry-wide one-step test adds to the defaults: a smaller round 0 for a recipe that makes its data
    quick: dict[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "recipe"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("defaults", "quick"):
            if not isinstance(getattr(self, name), dict):
                raise PluginError(f"{self.name}: {name} must be a dict of settings, got "
                                  f"{type(getattr(self, name)).__name__}")
        for ref in ("dataset", "model"):
            if "/" not in getattr(self, ref):
                raise PluginError(f"{self.name}: {ref} {getattr(self, ref)!r} must name a 'domain/name' entry")
        if not self.task:
            raise PluginError(f"{self.name}: a recipe must name its task")
        if isinstance(self.callbacks, str) or not all(isinstance(c, str) and ":" in c for c in self.callbacks):
            raise PluginError(f"{self.name}: callbacks must be a tuple of 'package.module:callable' strings")

    def __hash__(self) -> int:  # defaults is a dict; the key identifies a recipe
        return hash(self.name)


KINDS: dict[str, type[Entry]] = {cls.kind: cls for cls in (DatasetSpec, ModelSpec, RecipeSpec)}
