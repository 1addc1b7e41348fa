"""Checks of a plugin object before pluggy sees it, so plugin authors get one-line, actionable errors.

pluggy silently ignores a hook function that lacks @hookimpl, and reports a misspelt hook or an extra
argument in a multi-line message about "hookspecs"; these checks say what to write instead.
"""
from __future__ import annotations

import difflib
import inspect
from typing import Any

from ..errors import PluginError
from . import hookspecs

IMPL_MARK = "zoo_impl"  # the attribute pluggy.HookimplMarker("zoo") puts on a hookimpl
SPEC_MARK = "zoo_spec"


def hook_names() -> list[str]:
    """The hooks a plugin may implement, in the order hookspecs.py declares them."""
    return [name for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, SPEC_MARK)]


def expected_signature(hook: str) -> str:
    spec = getattr(hookspecs, hook)
    returns = spec.__annotations__.get("return", "list")
    return f"def {hook}{inspect.signature(spec).replace(return_annotation=inspect.Signature.empty)} -> {returns}"


def check_hooks(plugin: Any) -> None:
    """Refuse misspelt hooks, hooks with a wrong signature and hook functions missing @hookimpl."""
    hooks = hook_names()
    for attr in dir(plugin):
        if not attr.startswith("zoo_"):
            continue
        fn = getattr(plugin, attr, None)
        if not callable(fn):
            continue
        marked = hasattr(fn, IMPL_MARK)
        if attr not in hooks:
            if marked:
                close = difflib.get_close_matches(attr, hooks, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                raise PluginError(f"@hookimpl {attr} is not a zoo hook; {hint}zoo's hooks are {', '.join(hooks)}")
            continue  # an unmarked helper that happens to start with zoo_
        if not marked:
            raise PluginError(f"{attr} is not decorated with @zoo.hookimpl, so zoo would ignore it; "
                              f"write `@hookimpl` above `{expected_signature(attr)}`")
        wanted = inspect.signature(getattr(hookspecs, attr)).parameters
        given = inspect.signature(fn).parameters
        extra = [p for p in given if p not in wanted]
        if extra:
            raise PluginError(f"hookimpl {attr}{inspect.signature(fn)} takes {', '.join(extra)}, which zoo never "
                              f"passes; write `{expected_signature(attr)}`")
