"""`zoo pull hf://ORG/NAME[@REVISION]` and what `zoo.load("hf://...")` fetches: a published model from the Hub.

huggingface_hub does the transfer and the caching, as for timm and transformers: HF_ENDPOINT, HF_HOME /
HF_HUB_CACHE, HF_TOKEN (or a stored login) and HF_HUB_OFFLINE mean what they mean there. They are read when
a model is fetched (not when huggingface_hub was imported), so a process may change them. A revision (branch,
tag or commit) is resolved once to its commit, and every file is taken from that commit.

zoo.json comes first: a repo without it is not a zoo model, a missing plugin is named before the weights are
downloaded, and only the files zoo.json lists are fetched; then each is checked against its sha256.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..errors import ZooError
from . import MANIFEST, SCHEME
from .manifest import check, check_versions, read

URI = re.compile(r"^hf://(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(@(?P<revision>[^\s@]+))?$")
TRUE = {"1", "on", "yes", "true"}


def parse(uri: str) -> tuple[str, str | None]:
    match = URI.match(uri.rstrip("/"))
    if not match:
        raise ZooError(f"{uri}: expected {SCHEME}ORG/NAME or {SCHEME}ORG/NAME@REVISION (a branch, tag or commit)")
    return match["repo"], match["revision"]


def hub():
    try:
        import huggingface_hub
    except ImportError:
        raise ZooError("models on the Hugging Face Hub need huggingface_hub: pip install 'zoo[hub]'") from None
    return huggingface_hub


def settings() -> dict[str, object]:
    """HF_ENDPOINT, the Hub cache and HF_HUB_OFFLINE as the environment says them now."""
    from huggingface_hub import constants

    home = os.environ.get("HF_HOME")
    cache = os.environ.get("HF_HUB_CACHE") or (os.path.join(os.path.expanduser(home), "hub") if home else None)
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in TRUE or bool(constants.HF_HUB_OFFLINE)
    endpoint = os.environ.get("HF_ENDPOINT", "").rstrip("/") or None
    return {"endpoint": endpoint, "cache_dir": cache or constants.HF_HUB_CACHE, "offline": offline}


def api():
    return hub().HfApi(endpoint=settings()["endpoint"])


@contextlib.contextmanager
def hub_errors(where: str) -> Iterator[None]:
    """huggingface_hub's and the network's errors as one line naming the model."""
    hh = hub()
    errors = hh.errors
    try:
        yield
    except ZooError:
        raise
    except errors.OfflineModeIsEnabled:
        raise ZooError(f"{where}: not in the Hub cache, and HF_HUB_OFFLINE is set (pull it once online)") from None
    except errors.IncompleteSnapshotError:
        raise ZooError(f"{where}: the cached copy is incomplete (files are missing from the Hub cache) and the Hub "
                       "cannot be reached; nothing was loaded") from None
    except errors.LocalEntryNotFoundError:
        if settings()["offline"]:
            raise ZooError(f"{where}: not in the Hub cache, and HF_HUB_OFFLINE is set (pull it once online)") from None
        raise ZooError(f"{where}: not in the Hub cache ({settings()['cache_dir']}) and the Hub cannot be "
                       "reached") from None
    except errors.GatedRepoError:
        raise ZooError(f"{where}: a gated repo; accept its terms on the Hub and set HF_TOKEN") from None
    except errors.RevisionNotFoundError:
        raise ZooError(f"{where}: no such revision (branch, tag or commit) in that repo") from None
    except errors.RepositoryNotFoundError:
        raise ZooError(f"{where}: no such model repo on {settings()['endpoint'] or 'the Hub'} (or it is private: "
                       "set HF_TOKEN or `hf auth login`)") from None
    except errors.HfHubHTTPError as exc:
        status = exc.response.status_code if getattr(exc, "response", None) is not None else "?"
        hint = " (not allowed: set HF_TOKEN to a token with write access)" if status in (401, 403) else ""
        raise ZooError(f"{where}: the Hub answered HTTP {status}{hint}: {str(exc).splitlines()[0]}") from None
    except ValueError as exc:
        if not str(exc).startswith("Invalid metadata"):
            raise
        raise ZooError(f"{where}: the Hub refused the card's metadata ({' '.join(str(exc).split())})") from None
    except (ConnectionError, OSError) as exc:
        raise ZooError(f"{where}: cannot reach {settings()['endpoint'] or 'the Hub'} "
                       f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                       "set HF_HUB_OFFLINE=1 to load from the cache") from None
    except Exception as exc:  # httpx's transport errors are not OSErrors
        if type(exc).__module__.startswith(("httpx", "httpcore")):
            raise ZooError(f"{where}: cannot reach {settings()['endpoint'] or 'the Hub'} ({type(exc).__name__}); "
                           "set HF_HUB_OFFLINE=1 to load from the cache") from None
        raise


def progress_bars():
    """huggingface_hub's progress bars on a terminal; none otherwise, so that errors stay one line."""
    import sys

    from huggingface_hub.utils import tqdm

    if sys.stderr.isatty():
        return None

    class Quiet(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return Quiet


def fetch(uri: str, force: bool = False) -> Path:
    """The checked snapshot folder of `hf://ORG/NAME[@REVISION]` in the Hub cache (downloaded when needed)."""
    repo, revision = parse(uri)
    hh = hub()
    where = uri
    options = settings()
    common = {"repo_type": "model", "cache_dir": options["cache_dir"], "endpoint": options["endpoint"],
              "local_files_only": options["offline"]}
    with hub_errors(where):
        try:
            manifest_path = Path(hh.hf_hub_download(repo, MANIFEST, revision=revision, force_download=force,
                                                    **common))
        except hh.errors.RemoteEntryNotFoundError:
            raise ZooError(f"{where}: not a zoo model (the repo has no {MANIFEST}; `zoo publish` writes one)") from None
        manifest = read(manifest_path.parent, where)
        check_versions(manifest, where)  # before the weights are downloaded
        commit = manifest_path.parent.name  # snapshots/<commit>/zoo.json: every file from this commit
        folder = Path(hh.snapshot_download(repo, revision=commit, allow_patterns=[MANIFEST, *manifest["files"]],
                                           force_download=force, tqdm_class=progress_bars(), **common))
    check(folder, where)
    return folder


def pull(uri: str, out: str | Path | None = None, force: bool = False) -> Path:
    """Fetch and check a model; with `out`, also copy its files (plain files, no cache links) into that folder."""
    folder = fetch(uri, force=force)
    if out is None:
        return folder
    out = Path(out)
    for part in (out, *out.parents):
        if part.exists() and not part.is_dir():
            raise ZooError(f"--out {out}: {part} is a file, not a folder")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    names = [MANIFEST, *manifest["files"]]
    if out.is_dir() and any(p for p in out.iterdir() if p.name not in names):  # a model pulled before is replaced
        raise ZooError(f"--out {out}: holds other files; pull into a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / name, target)
    check(out, str(out))
    return out
