"""The `zoo` command. Subcommands live in modules by concern; heavy imports stay inside them."""
from __future__ import annotations

import sys

import click

from ..errors import ZooError
from . import catalog, hub, scaffold, serve, training


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zoo")
def cli() -> None:
    """zoo: datasets, deep backbones and training recipes for applied deep learning."""


for command in (*catalog.COMMANDS, *training.COMMANDS, *scaffold.COMMANDS, *hub.COMMANDS, *serve.COMMANDS):
    cli.add_command(command)


def with_plugins() -> click.Group:
    """The `zoo` command with what plugins add (subcommands, `zoo predict` options), added once per process."""
    if not getattr(cli, "plugins_added", False):
        from ..plugins import get_manager

        get_manager().extend_cli(cli)
        cli.plugins_added = True  # type: ignore[attr-defined]
    return cli


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        with_plugins().main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # a bad option or argument: one line too, not click's usage block
        where = exc.ctx.command_path if exc.ctx else "zoo"
        click.echo(f"error: {exc.format_message()} (see `{where} --help`)", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ZooError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(0)
