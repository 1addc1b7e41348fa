"""`zoo publish` and `zoo pull`: trained models on the Hugging Face Hub (the extra `zoo[hub]`; imported inside)."""
from __future__ import annotations

import click


@click.command()
@click.argument("run_dir", type=str)
@click.option("--repo", required=True, metavar="ORG/NAME", help="The model repo on the Hub (created when missing).")
@click.option("--revision", type=str, help="Upload to this branch (created when missing; default main).")
@click.option("--private", is_flag=True, help="Create the repo private.")
@click.option("--to", "to", type=str, help="Only write the model folder here (no upload): to review it, or without a Hub.")
@click.option("--data-licence", type=str, help="The licence of your own data, for a run trained with --data.")
@click.option("--license", "licence", type=str,
              help="The Hub licence id of the weights (default: the data's, when it names exactly one).")
def publish(run_dir, repo, revision, private, to, data_licence, licence) -> None:
    """Publish a finished run as a model on the Hugging Face Hub (weights, config, card, zoo.json)."""
    from ..hub.publish import publish as run_publish

    result = run_publish(run_dir, repo, revision=revision, private=private, to=to, data_licence=data_licence,
                         licence=licence)
    if result["restricts"]:
        click.echo(f"note: the data's licence restricts the use of these weights ({'; '.join(result['restricts'])}): "
                   f"{result['licence']}; the card says so", err=True)
    if result["license"] == "other":
        click.echo("note: the card's license is 'other' (the data's licence names no single Hub licence); "
                   "set one with --license", err=True)
    if to:
        click.echo(f"wrote {result['folder']} (not uploaded; `zoo publish {run_dir} --repo {repo}` uploads)")
    else:
        click.echo(f"published {result['uri']}")


@click.command()
@click.argument("uri", type=str)
@click.option("--out", type=str, help="Also copy the model's files into this folder (a published model folder).")
@click.option("--force", is_flag=True, help="Download again, even what the Hub cache holds.")
def pull(uri, out, force) -> None:
    """Download a published model (hf://ORG/NAME[@REVISION]) into the Hub cache and check every file."""
    from ..hub.pull import pull as run_pull

    folder = run_pull(uri, out=out, force=force)
    click.echo(f"{uri}: checked, in {folder}")


COMMANDS = (publish, pull)
