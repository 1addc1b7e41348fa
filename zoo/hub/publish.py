"""`zoo publish RUN_DIR --repo ORG/NAME`: a finished run as a model folder, uploaded to the Hugging Face Hub.

The folder: model.safetensors (the weights `zoo eval` uses: the moving average when the run kept one),
config.json (the run's, without the path of its data), README.md (the model card) and zoo.json (the
manifest, written last: it holds the sha256 and size of the others). A run whose data licence is unknown is
refused: weights trained on data are bound by the data's terms, so those terms must be known to share them.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ZooError
from ..version import __version__
from . import MANIFEST, SCHEME
from .card import hub_licence, render, restrictions, unknown
from .manifest import FORMAT, FORMAT_VERSION, describe_files, installed_version, loads_with

REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")


def check_repo(repo: str) -> str:
    if not REPO_ID.match(repo or "") or ".." in repo or repo.endswith((".git", "-", ".")):
        raise ZooError(f"--repo {repo!r}: expected ORG/NAME (letters, digits, '-', '_', '.')")
    return repo


def gather(run_dir: Path, repo: str, data_licence: str | None, licence: str | None) -> dict[str, Any]:
    """What the folder and its card say, from the run and the registry; refuses what cannot be published."""
    from ..plugins import get_registry
    from ..rundir import read_config

    saved = read_config(run_dir)
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise ZooError(f"{run_dir}: not a finished run (no summary.json); publish a run that trained to its end")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    registry = get_registry()
    recipe = registry.get(saved["recipe"], kind="recipe")
    dataset = registry.get(recipe.dataset, kind="dataset")
    own = saved.get("data")
    if own:
        if not data_licence or unknown(data_licence):
            raise ZooError(f"{run_dir}: trained on your own data ({own}), whose licence zoo cannot know; say it "
                           "with --data-licence (e.g. 'CC BY 4.0') to publish weights trained on it")
        data_text = f"your own data ({Path(own).name}), not shipped with the model"
        source = "the publisher's own data"
    else:
        data_licence = data_licence or dataset.licence
        if unknown(data_licence):
            raise ZooError(f"{run_dir}: the licence of its data ({dataset.name}) is unknown (the dataset declares "
                           "none), so weights trained on it cannot be published")
        data_text = "the recipe's default data (zoo eval rebuilds it)"
        source = dataset.source
    dist = recipe.provider or ""
    made = saved["versions"].get(dist) or (installed_version(dist) if dist else None)
    if dist and not made:
        raise ZooError(f"{run_dir}: the version of the plugin {dist} that made recipe {recipe.name} is unknown "
                       "(not in config.json, not installed)")
    split = "test" if summary.get("test") else "valid"
    metrics = summary.get("test") or summary.get("valid", {}).get("best", {})
    restricts = restrictions(data_licence)
    licence = licence or hub_licence(data_licence)
    return {
        "name": repo, "recipe": recipe.name, "summary": recipe.summary, "model": recipe.model,
        "dataset": dataset.name, "dataset_summary": dataset.summary, "task": recipe.task, "data": data_text,
        "source": source, "licence": data_licence, "notes": dataset.notes if not own else "",
        "restricts": restricts, "license": licence, "license_name": "see-model-card",
        "tags": ["zoo", recipe.domain, f"zoo:{recipe.name}", recipe.task.rpartition(":")[2].lower()],
        "metrics": metrics, "split": split, "epochs": summary.get("epochs"), "best_epoch": summary.get("best_epoch"),
        "monitor": summary.get("monitor"), "distribution": dist, "plugin_version": made,
        "plugin_range": loads_with(made) if made else None, "zoo": saved["versions"].get("zoo", __version__),
        "zoo_range": loads_with(str(saved["versions"].get("zoo", __version__))),
        "torch": saved["versions"].get("torch", ""), "saved": saved, "summary_json": summary,
        "checkpoint": summary.get("test_checkpoint", "best"),
    }


def write_folder(run_dir: str | Path, out: str | Path, repo: str, data_licence: str | None = None,
                 licence: str | None = None) -> Path:
    """Write the model folder of a finished run into `out` (a new or empty folder)."""
    from safetensors.torch import save_file

    from ..predictor import load_weights, weights_file
    from ..training.checkpoint import evaluated_weights, load

    run_dir, out = Path(run_dir), Path(out)
    check_repo(repo)
    if (run_dir / MANIFEST).is_file():
        raise ZooError(f"{run_dir}: already a published model folder; publish the run it came from")
    info = gather(run_dir, repo, data_licence, licence)
    for part in (out, *out.parents):
        if part.exists() and not part.is_dir():
            raise ZooError(f"--to {out}: {part} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise ZooError(f"--to {out}: not empty; write the model folder into a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    source = weights_file(run_dir, "best")
    state = load(source)
    weights = {k: v.detach().cpu().contiguous() for k, v in evaluated_weights(state).items()}
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt", "zoo_recipe": info["recipe"]})
    check_loads(out / "model.safetensors", info["saved"], load_weights)
    saved = dict(info["saved"], data=None)  # its data path is the publisher's; a pulled model uses the default
    (out / "config.json").write_text(json.dumps(saved, indent=2, default=str) + "\n", encoding="utf-8")
    extra = task_files(run_dir, info["task"])
    for name in extra:
        shutil.copyfile(run_dir / name, out / name)
    info["files"] = describe_files(out, ["model.safetensors", "config.json", *extra])
    (out / "README.md").write_text(render(info), encoding="utf-8")
    files = describe_files(out, ["model.safetensors", "config.json", *extra, "README.md"])
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "name": repo, "recipe": info["recipe"],
        "dataset": info["dataset"], "model": info["model"], "task": info["task"],
        "zoo": {"version": info["zoo"], "loads_with": info["zoo_range"]},
        "plugin": {"distribution": info["distribution"], "version": info["plugin_version"],
                   "loads_with": info["plugin_range"]},
        "torch": info["torch"],
        "data": {"default": not info["saved"].get("data"), "licence": info["licence"], "restricts": info["restricts"],
                 "source": info["source"]},
        "license": info["license"],
        "metrics": {"split": info["split"], info["split"]: info["metrics"], "checkpoint": info["checkpoint"],
                    "monitor": info["monitor"]},
        "weights": {"from": f"checkpoints/{source.name}", "moving_average": bool(state.get("ema"))},
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out


def task_files(run_dir: Path, task: str) -> list[str]:
    """The files of the run directory its task's prediction reads (Task.run_files) that the run has."""
    from ..tasks import get_task

    return [name for name in get_task(task).run_files if (run_dir / name).is_file()]


def check_loads(path: Path, saved: dict[str, Any], load_weights) -> None:
    """The written weights load into a fresh network of the run's architecture (strictly), before upload."""
    from ..config import split
    from ..predictor import network, recipe_spec

    load_weights(network(recipe_spec(saved["recipe"]), saved["model_args"], split(saved["config"])[1]), path)


def publish(run_dir: str | Path, repo: str, revision: str | None = None, private: bool = False,
            to: str | Path | None = None, data_licence: str | None = None,
            licence: str | None = None) -> dict[str, Any]:
    """Write the model folder (into `to`, or a temporary folder) and, without `to`, upload it to `repo`."""
    check_repo(repo)
    if to is not None:
        folder = write_folder(run_dir, to, repo, data_licence, licence)
        return {"folder": str(folder), **_said(folder)}
    can_upload(repo)
    with tempfile.TemporaryDirectory(prefix="zoo-publish-") as tmp:
        folder = write_folder(run_dir, Path(tmp) / "model", repo, data_licence, licence)
        said = _said(folder)
        commit = upload(folder, repo, revision, private)
        shutil.rmtree(folder, ignore_errors=True)
    return {"uri": f"{SCHEME}{repo}@{commit}" if commit else f"{SCHEME}{repo}", "commit": commit, **said}


def _said(folder: Path) -> dict[str, Any]:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return {"restricts": manifest["data"]["restricts"], "licence": manifest["data"]["licence"],
            "license": manifest["license"]}


def can_upload(repo: str) -> None:
    """huggingface_hub is installed and HF_HUB_OFFLINE is not set; else one line, before any work."""
    from .pull import hub, settings

    hub()
    if settings()["offline"]:
        raise ZooError(f"{SCHEME}{repo}: HF_HUB_OFFLINE is set, so nothing can be uploaded (unset it, or write the "
                       "folder with --to DIR)")


def upload(folder: Path, repo: str, revision: str | None, private: bool) -> str | None:
    """Create the repo (and branch) when missing and commit the folder; the commit's id."""
    from .pull import api, hub_errors

    can_upload(repo)
    with hub_errors(f"{SCHEME}{repo}"):
        client = api()
        client.create_repo(repo, private=private, exist_ok=True, repo_type="model")
        if revision and revision != "main":
            client.create_branch(repo, branch=revision, exist_ok=True, repo_type="model")
        info = client.upload_folder(repo_id=repo, folder_path=str(folder), revision=revision, repo_type="model",
                                    commit_message="zoo publish: " + json.loads(
                                        (folder / MANIFEST).read_text(encoding="utf-8"))["recipe"])
    return getattr(info, "oid", None)
