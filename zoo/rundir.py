"""A run directory on disk: its config.json read and checked in one place, and the lock that gives it one owner."""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from .config import upgrade
from .errors import ZooError
from .version import __version__

# field -> (type, what it holds): what a run's config.json must carry for eval, predict and resume
FIELDS = {"recipe": (str, "the recipe's name"), "config": (dict, "the resolved settings"),
          "model_args": (dict, "the model factory's arguments"), "info": (dict, "the dataset's info"),
          "versions": (dict, "the versions that wrote it")}


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """config.json of a run, checked: one line naming the file and the field at fault, never a traceback."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ZooError(f"{run_dir}: not a run directory (no config.json)")
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ZooError(f"{path}: not a text file (binary bytes where JSON was expected)") from None
    except json.JSONDecodeError as exc:
        raise ZooError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(saved, dict):
        raise ZooError(f"{path}: expected a JSON object with {', '.join(FIELDS)}, got {type(saved).__name__}")
    for field, (kind, meaning) in FIELDS.items():
        if field not in saved:
            raise ZooError(f"{path}: field {field!r} ({meaning}) is missing")
        if not isinstance(saved[field], kind):
            raise ZooError(f"{path}: field {field!r} must be a JSON {'object' if kind is dict else 'string'}, "
                           f"got {type(saved[field]).__name__}")
    written = str(saved["versions"].get("zoo", "0"))
    if _newer(written, __version__):
        raise ZooError(f"{path}: written by zoo {written}, newer than this zoo {__version__}; upgrade zoo to read it")
    saved["config"] = upgrade(saved["config"])
    return saved


def _newer(a: str, b: str) -> bool:
    try:
        from packaging.version import Version
        return Version(a) > Version(b)
    except Exception:  # noqa: BLE001 - an unparsable version is not newer
        return False


def check_out(run_dir: Path) -> None:
    """Refuse an --out that cannot be a folder: a file, or a path below a file."""
    for part in (run_dir, *run_dir.parents):
        if part.exists() and not part.is_dir():
            raise ZooError(f"--out {run_dir}: {part} is a file, not a folder")


class RunLock:
    """`<run>/.lock`, naming the process that writes the run; a second writer is refused in one line.

    A lock whose process is gone (killed) is stale and taken over. Only the main process of a torchrun job
    holds it.
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / ".lock"
        self.held = False

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = f"{socket.gethostname()} {os.getpid()}"
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                owner = self.path.read_text().strip() if self.path.exists() else ""
                if owner and self._alive(owner):
                    raise ZooError(f"{self.path.parent}: another zoo process ({owner}) is writing this run; wait for "
                                   f"it or use another --out") from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(me + "\n")
            self.held = True
            return
        raise ZooError(f"{self.path}: could not take the run's lock")

    @staticmethod
    def _alive(owner: str) -> bool:
        host, _, pid = owner.rpartition(" ")
        if host != socket.gethostname() or not pid.isdigit():
            return True  # another machine's process: cannot tell, so respect it
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
