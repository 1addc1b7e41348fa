"""What a request may carry and what goes back: options converted as `zoo predict` converts them, texts and
uploads checked, the files a prediction wrote (kept by FileStore for download, or sent inline), paths scrubbed."""
from __future__ import annotations

import base64
import glob
import json
import mimetypes
import os
import re
import shutil
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from .models import SERVER_OWNED, Served, plugin_options

SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")
FILE_MODES = ("none", "base64", "link")
TEXT_FILES = (".json", ".txt", ".csv", ".tsv", ".md", ".pgn", ".fasta", ".fa", ".pdb")


class BadRequest(Exception):
    """A request refused with a status code and one line, as the CLI would word it."""

    def __init__(self, status: int, message: str, kind: str):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def parse_options(served: Served, given: dict[str, Any]) -> dict[str, Any]:
    """Query or JSON options, converted as `zoo predict` converts them; one the run does not read is refused."""
    import click

    known, accepted = plugin_options(), served.accepted_options()
    out: dict[str, Any] = {}
    for raw, value in given.items():
        name = raw.replace("-", "_")
        flag = f"--{name.replace('_', '-')}"
        if name not in known or SERVER_OWNED.search(name):
            raise BadRequest(400, f"zoo serve: unknown option {raw!r} (options this model takes: "
                                  f"{', '.join(accepted) or 'none'})", "bad_option")
        option = known[name]
        if option.is_flag:
            text = str(value).lower()
            if isinstance(value, bool):
                converted = value
            elif text in ("", "1", "true", "yes", "on"):
                converted = True
            elif text in ("0", "false", "no", "off"):
                converted = False
            else:
                raise BadRequest(400, f"{flag}: {value!r} is not a yes/no value", "bad_option")
        else:
            try:
                converted = option.type.convert(value, option, None)
            except click.BadParameter as exc:
                raise BadRequest(400, f"{flag}: {exc.format_message()}", "bad_option") from None
        if converted in (None, False):
            continue
        if name not in accepted:
            if name == "tta":
                raise BadRequest(400, f"--tta: recipe {served.recipe_name} declares no test-time views "
                                      "(set task.tta=hflip,...)", "bad_option")
            raise BadRequest(400, f"zoo predict: {flag} does not apply to {served.recipe_name}", "bad_option")
        out[name] = converted
    return out


def checked_text(text: Any, where: str) -> str:
    """A JSON or form text input; numbers become the comma-separated text `zoo predict` takes. Text that names a
    file or folder on the server, or a glob, is refused: clients send files as uploads."""
    if isinstance(text, bool) or text is None:
        raise BadRequest(400, f"{where}: expected text or numbers, got {json.dumps(text)}", "bad_request")
    if isinstance(text, (int, float)):
        text = repr(text)
    elif isinstance(text, list):
        if not text or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in text):
            raise BadRequest(400, f"{where}: a list must hold numbers only", "bad_request")
        text = ",".join(repr(v) for v in text)
    elif not isinstance(text, str):
        raise BadRequest(400, f"{where}: expected text or numbers, got a JSON {type(text).__name__}", "bad_request")
    if not text.strip():
        raise BadRequest(400, f"{where}: empty text", "bad_request")
    if "\0" in text:
        raise BadRequest(400, f"{where}: text holds a NUL character", "bad_request")
    spaced = any(c.isspace() for c in text)
    if os.path.lexists(text) or (not spaced and glob.has_magic(text)):
        raise BadRequest(400, f"{where}: text may not name a file, folder or glob on the server; upload files "
                              "as multipart/form-data", "bad_request")
    return text


def upload_suffix(filename: str) -> str:
    """The upload's own suffix (.png, .dcm, .nii.gz...), or none when it is not a plain one."""
    suffixes = Path(filename or "").suffixes[-2:]
    if len(suffixes) == 2 and suffixes[-1].lower() == ".gz" and SUFFIX.match(suffixes[0]):
        return "".join(suffixes)
    return suffixes[-1] if suffixes and SUFFIX.match(suffixes[-1]) else ""


class FileStore:
    """Folders of files predictions wrote, kept for download by link; the oldest go first past `keep`."""

    def __init__(self, root: Path, keep: int):
        self.root, self.keep = root, max(1, keep)
        self.root.mkdir(parents=True, exist_ok=True)
        self.kept: OrderedDict[str, Path] = OrderedDict()
        self.lock = threading.Lock()

    def add(self, folder: Path) -> str:
        key = uuid.uuid4().hex
        target = self.root / key
        folder.replace(target)
        with self.lock:
            self.kept[key] = target
            while len(self.kept) > self.keep:
                _, old = self.kept.popitem(last=False)
                shutil.rmtree(old, ignore_errors=True)
        return key

    def path(self, key: str, filename: str) -> Path | None:
        with self.lock:
            folder = self.kept.get(key)
        if folder is None or "/" in filename or filename.startswith("."):
            return None
        path = folder / filename
        return path if path.is_file() else None


def discard(future) -> None:
    """A job nobody waits for any more: the files it wrote go."""
    if not future.cancelled() and future.exception() is None and future.result().folder is not None:
        shutil.rmtree(future.result().folder, ignore_errors=True)


def scrub(value: Any, shown: dict[str, str], scratch: Path | None) -> Any:
    """Saved upload paths back to the names the client gave; no other server path goes out."""
    if isinstance(value, str):
        for saved, original in shown.items():
            value = value.replace(saved, original)
            stem = Path(saved).name.split(".")[0]
            value = value.replace(stem, Path(original).name.split(".")[0])
        if scratch is not None:
            value = value.replace(str(scratch), "<server>")
        return value
    if isinstance(value, dict):
        return {k: scrub(v, shown, scratch) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, shown, scratch) for v in value]
    return value


def present(outcome, mode: str, shown: dict[str, str], state: dict[str, Any]) -> list[dict[str, Any]]:
    """The job's predictions for the client: its names back, and the files it wrote (listed in `files`, or named
    by a value such as medical's `heatmap`) as base64 or links in `files`, the value then naming the file."""
    folder = outcome.folder
    inside = f"{folder}{os.sep}" if folder is not None else None

    def written_by(result: dict[str, Any]) -> list[Path]:
        paths = [Path(f) for f in result.get("files") or []]
        for key, value in result.items():
            if key != "files" and inside and isinstance(value, str) and value.startswith(inside):
                paths.append(Path(value))
        return [p for i, p in enumerate(paths) if p.is_file() and p not in paths[:i]]

    written = [written_by(r) for r in outcome.results]
    for path in (p for paths in written for p in paths):
        if path.suffix.lower() in TEXT_FILES:  # e.g. the prediction as JSON: the upload's name, not the copy's
            text = path.read_text(encoding="utf-8", errors="replace")
            path.write_text(scrub(text, shown, state["scratch"]), encoding="utf-8")
    key = state["store"].add(folder) if mode == "link" and folder is not None and any(written) else None
    out = []
    for result, paths in zip(outcome.results, written):
        had_files = "files" in result
        result.pop("files", None)
        for name, value in list(result.items()):  # a value naming a file: the file's name, as the client sees it
            if inside and isinstance(value, str) and value.startswith(inside):
                result[name] = scrub(Path(value).name, shown, None)
        result = scrub(result, shown, state["scratch"])
        if mode != "none" and (paths or had_files):
            listed = []
            for path in paths:
                entry = {"name": scrub(path.name, shown, None),
                         "media_type": mimetypes.guess_type(path.name)[0] or "application/octet-stream"}
                if mode == "base64":
                    entry["base64"] = base64.b64encode(path.read_bytes()).decode("ascii")
                else:
                    entry["url"] = f"/v1/files/{key}/{path.name}"
                listed.append(entry)
            result["files"] = listed
        out.append(result)
    return out
