"""`zoo list`, `zoo info` and `zoo plugins`: browse the registry without importing torch."""
from __future__ import annotations

import json

import click
from ..config import factory_help, help_of, task_defaults, trainer_defaults
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
        groups = setting_groups(entry)
        data["settings"] = {key: value for rows in groups.values() for key, (value, _) in rows.items()}
        data["setting_help"] = {key: meaning for rows in groups.values() for key, (_, meaning) in rows.items()}
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
        out.print("settings (change with --set key=value):")
        for title, rows in groups.items():
            table = _table("key", "value", "meaning", title=title, title_justify="left", title_style="bold")
            for key, (value, meaning) in rows.items():
                table.add_row(key + ("*" if key in entry.defaults else ""), repr(value), meaning)
            out.print(table)
        out.print("* set by this recipe; the rest are the defaults of the trainer, the task and the factories")
        out.print(f"train: zoo train {entry.name} [--data PATH] [--epochs N] [--set key=value]")


def setting_groups(recipe: RecipeSpec) -> dict[str, dict[str, tuple[object, str]]]:
    """The recipe's settings in four groups (trainer, task, model, data): key -> (value, help line)."""
    from ..build import settings_class

    registry = get_registry()
    kind = settings_class(recipe)
    trainer = {key: (value, help_of(key)) for key, value in trainer_defaults().items()}
    task = {key: (value, help_of(key, kind)) for key, value in task_defaults(kind).items()}
    groups = {"trainer": trainer, f"task ({recipe.task.rpartition(':')[2]}, {kind.__name__})": task}
    for prefix, ref in (("model", recipe.model), ("data", recipe.dataset)):
        declared = factory_help(registry.get(ref).factory)
        rows = {f"{prefix}.{name}": found for name, found in declared.items()}
        rows.update({key: (value, rows.get(key, (None, ""))[1]) for key, value in recipe.defaults.items()
                     if key.startswith(prefix + ".")})
        groups[f"{prefix} ({ref})"] = rows
    for rows in groups.values():
        rows.update({key: (value, rows[key][1]) for key, value in recipe.defaults.items() if key in rows})
    return groups


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
