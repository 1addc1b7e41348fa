"""`zoo list`, `zoo info` and `zoo plugins`: browse the registry without importing torch."""
from __future__ import annotations

import json

import click
from ..config import help_of, trainer_defaults
from ..plugins import get_manager, get_registry
from ..registry import KINDS, DatasetSpec, ModelSpec, RecipeSpec


def _console():
    from rich.console import Console  # rich is imported by the commands that print tables only
    return Console(soft_wrap=False, width=None if click.get_text_stream("stdout").isatty() else 160)


def _table(*columns: str, **kwargs):
    from rich.table import Table
    table = Table(box=None, header_style="bold", **kwargs)
    for column in columns:
        table.add_column(column, overflow="fold" if column in ("summary", "contributes", "status") else None)
    return table


@click.command("list")
@click.argument("pattern", required=False)
@click.option("--domain", help="Only this domain, e.g. medical.")
@click.option("--kind", type=click.Choice(sorted(KINDS)), help="Only datasets, models or recipes.")
def list_entries(pattern: str | None, domain: str | None, kind: str | None) -> None:
    """List datasets, models and recipes; PATTERN takes wildcards ('medical/*')."""
    entries = get_registry().find(pattern, domain=domain, kind=kind)
    if not entries:
        click.echo("no entries match" + (f" {pattern!r}" if pattern else ""))
        return
    table = _table("name", "kind", "task", "summary")
    for e in entries:
        table.add_row(e.name, e.kind, e.task.rpartition(":")[2], e.summary)
    _console().print(table)


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def info(name: str, as_json: bool) -> None:
    """Everything about one entry: summary, task, defaults, data source and licence."""
    registry = get_registry()
    entry = registry.get(name)
    data = entry.describe()
    if isinstance(entry, RecipeSpec):
        data["settings"] = {**trainer_defaults(), **entry.defaults}
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    out = _console()
    out.print(f"[bold]{entry.name}[/bold]  ({entry.kind}, from {entry.provider or 'unknown'})")
    out.print(entry.summary)
    if entry.task:
        out.print(f"task: {entry.task}")
    if isinstance(entry, DatasetSpec):
        out.print(f"source: {entry.source or 'n/a'}")
        out.print(f"licence: {entry.licence or 'n/a'}")
        if entry.bring_your_own:
            out.print(f"your own data: {entry.bring_your_own}")
    if isinstance(entry, ModelSpec) and entry.input:
        out.print(f"input: {entry.input}")
    if entry.notes:
        out.print(entry.notes)
    if isinstance(entry, RecipeSpec):
        for ref in (entry.dataset, entry.model):
            sub = registry.get(ref)
            out.print(f"{sub.kind}: {sub.name}: {sub.summary}")
            if isinstance(sub, DatasetSpec):
                out.print(f"  source: {sub.source}\n  licence: {sub.licence}")
                if sub.bring_your_own:
                    out.print(f"  your own data (--data): {sub.bring_your_own}")
        table = _table("key", "value", "meaning", title="settings (change with --set key=value)")
        for key, value in data["settings"].items():
            mark = "*" if key in entry.defaults else ""
            table.add_row(key + mark, repr(value), help_of(key) or "recipe setting")
        out.print(table)
        out.print("* set by this recipe; the rest are the trainer's defaults")
        out.print(f"train: zoo train {entry.name} [--data PATH] [--epochs N] [--set key=value]")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def plugins(as_json: bool) -> None:
    """Installed plugins: version, status and what each contributed."""
    statuses = get_manager().statuses
    if as_json:
        click.echo(json.dumps([vars(s) for s in statuses], indent=2))
        return
    if not statuses:
        click.echo("no plugins installed; try: pip install ./plugins/vision")
        return
    table = _table("plugin", "version", "status", "contributes")
    for s in statuses:
        status = s.status if not s.error else f"{s.status}: {s.error}"
        table.add_row(s.name, s.version, status, ", ".join(s.contributed))
    _console().print(table)


COMMANDS = (list_entries, info, plugins)
