"""Discovery of plugins through the `zoo` entry-point group, each loaded in isolation."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from ..version import __version__
from ..errors import PluginError
from ..registry import Entry, Registry
from . import hookspecs
from .checks import check_hooks

GROUP = "zoo"
HOOKS = ("zoo_datasets", "zoo_models", "zoo_recipes")


@dataclass
class PluginStatus:
    """What `zoo plugins` shows for one plugin."""

    name: str  # the distribution, e.g. zoo-vision
    version: str = ""
    status: str = "loaded"  # loaded | failed | incompatible
    error: str = ""
    contributed: list[str] = field(default_factory=list)


def strict() -> bool:
    return os.environ.get("ZOO_STRICT_PLUGINS", "") not in ("", "0", "false", "no")


def _core_requirement(dist: metadata.Distribution | None) -> str:
    """The plugin's declared requirement on the core, e.g. 'zoo<0.2,>=0.1'."""
    for req in (dist.requires or []) if dist else []:
        name = req.split(";")[0].strip()
        base = name.split("[")[0]
        for op in "<>=!~ (":
            base = base.split(op)[0]
        if base.strip().lower() == "zoo":
            return name
    return ""


def _compatible(requirement: str) -> tuple[bool, str]:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pragma: no cover - packaging ships with pip
        return True, ""
    spec = Requirement(requirement).specifier
    return spec.contains(__version__, prereleases=True), str(spec)


class PluginManager:
    """Loads every plugin on its own, so that one broken plugin never takes the others down."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.statuses: list[PluginStatus] = []

    def load_entry_points(self) -> None:
        for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            status = PluginStatus(name=dist.metadata["Name"] if dist else ep.name,
                                  version=dist.version if dist else "")
            requirement = _core_requirement(dist)
            if requirement:
                ok, spec = _compatible(requirement)
                if not ok:
                    self._fail(status, f"needs zoo{spec}, but zoo {__version__} is installed",
                               "incompatible")
                    continue
            try:
                module = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import error must be isolated
                self._fail(status, f"import failed: {type(exc).__name__}: {exc}")
                continue
            self.add_plugin(module, status)

    def add_plugin(self, plugin: Any, status: PluginStatus) -> None:
        """Register one plugin object and collect its entries; failures stay with this plugin."""
        try:
            check_hooks(plugin)
            self.pm.register(plugin, name=status.name)
            self.pm.check_pending()
            staged = Registry()
            for hook in HOOKS:
                for impl in getattr(self.pm.hook, hook).get_hookimpls():
                    if impl.plugin is plugin:
                        for entry in _call_hook(hook, impl.function):
                            object.__setattr__(entry, "provider", status.name)
                            staged.add(entry)
            self.registry.extend_all_or_nothing(staged)
            status.contributed = [e.name for e in staged]
        except Exception as exc:  # noqa: BLE001
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            reason = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
            self._fail(status, f"registration failed: {reason}")
            return
        self.statuses.append(status)

    def extend_cli(self, cli: Any) -> None:
        """Let each plugin add subcommands and `zoo predict` options; a failing plugin is reported, not fatal."""
        import click

        predict = cli.commands["predict"]
        taken = {name for param in predict.params for name in getattr(param, "opts", [])}
        for impl in self.pm.hook.zoo_commands.get_hookimpls():
            self._guarded(impl.plugin_name, "zoo_commands", lambda: impl.function(cli=cli))
        for impl in self.pm.hook.zoo_predict_options.get_hookimpls():
            def add(function=impl.function) -> None:
                options = function()
                if not isinstance(options, (list, tuple)) or not all(isinstance(o, click.Option) for o in options):
                    raise PluginError("zoo_predict_options must return a list of click.Option")
                for option in options:
                    clash = taken.intersection(option.opts)
                    if clash:
                        raise PluginError(f"zoo predict already has {', '.join(sorted(clash))}")
                    taken.update(option.opts)
                    predict.params.append(option)
            self._guarded(impl.plugin_name, "zoo_predict_options", add)

    def _guarded(self, plugin: str, hook: str, call: Any) -> None:
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - one plugin's CLI must not break the others'
            status = next((s for s in self.statuses if s.name == plugin), PluginStatus(name=plugin))
            reason = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
            status.error = f"{hook} failed: {reason}"
            if strict():
                raise PluginError(f"plugin {plugin} failed: {status.error}") from exc

    def _fail(self, status: PluginStatus, error: str, kind: str = "failed") -> None:
        status.status, status.error = kind, error
        self.statuses.append(status)
        if strict():
            raise PluginError(f"plugin {status.name} {kind}: {error}")


def _call_hook(hook: str, function: Any) -> list[Entry]:
    """Call one hookimpl; errors say which hook returned what."""
    try:
        contributed = function()
    except PluginError as exc:  # e.g. a spec with a bad name, raised while the hook builds its list
        raise PluginError(f"{hook}: {exc}") from exc
    if contributed is None:
        raise PluginError(f"{hook} returned None; return a list of specs (an empty list contributes nothing)")
    if not isinstance(contributed, (list, tuple)):
        raise PluginError(f"{hook} returned {type(contributed).__name__}, expected a list of specs")
    for item in contributed:
        if not isinstance(item, Entry):
            raise PluginError(f"{hook} returned a {type(item).__name__} ({item!r:.60}) in its list, which is not "
                              "a zoo entry; expected zoo.DatasetSpec, zoo.ModelSpec or zoo.RecipeSpec")
    return list(contributed)


_MANAGER: PluginManager | None = None


def get_manager(refresh: bool = False) -> PluginManager:
    """The process-wide plugin manager, with every installed plugin loaded."""
    global _MANAGER
    if _MANAGER is None or refresh:
        manager = PluginManager()
        manager.load_entry_points()
        _MANAGER = manager
    return _MANAGER


def get_registry() -> Registry:
    return get_manager().registry
