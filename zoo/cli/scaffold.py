"""`zoo new-plugin`: scaffold a working plugin for a new domain."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("new-plugin")
@click.argument("domain")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to create the plugin in (default ./zoo-DOMAIN); must be new or empty.")
def new_plugin(domain: str, directory: Path | None) -> None:
    """Scaffold a plugin for DOMAIN: one dataset, one model, one recipe, tests and a README."""
    from ..scaffold import create_plugin, names

    root, files = create_plugin(domain, directory)
    for relative in files:
        click.echo(f"created {root / relative}")
    dist = names(domain)["dist"]
    click.echo(f"\nnext:\n  cd {root}\n  pip install -e .      # registers {dist}; see `zoo plugins`\n"
               f"  pytest -q\n  zoo train {domain}/blobs-mlp\n"
               "guide: docs/writing-a-plugin.md in the zoo repository")


COMMANDS = (new_plugin,)
