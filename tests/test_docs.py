"""docs/writing-a-plugin.md works as written, and its reference matches the code.

The tutorial's blocks become one bash script, run in an empty folder: ```bash blocks are run as they
stand; a block after `<!-- file: PATH -->` or `<!-- append: PATH -->` is written to PATH at that point;
a block after `<!-- not run: why -->` is left out. Any other block must be ```text (pictures of output),
so no code in the guide escapes the test.
"""
from __future__ import annotations

import dataclasses
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.data import DataBundle
from zoo.plugins import hookspecs
from zoo.plugins.checks import hook_names
from zoo.registry import DatasetSpec, Entry, ModelSpec, RecipeSpec
from zoo.tasks import BUILTIN, Task, get_task

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "writing-a-plugin.md"
BLOCK = re.compile(r"(?:<!-- (file|append|not run): ?(.*?) -->\n)?```(\w*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
DIST = "zoo-sensors"


def blocks(text: str) -> list[tuple[str, str, str, str]]:
    """(marker, argument, language, body) of every fenced block, in order."""
    return [(m[1] or "", (m[2] or "").strip(), m[3], m[4]) for m in BLOCK.finditer(text)]


def tutorial_script(text: str) -> str:
    lines = ["set -euxo pipefail"]
    for marker, argument, language, body in blocks(text):
        if marker == "not run":
            continue
        if marker in ("file", "append"):
            redirect = ">" if marker == "file" else ">>"
            lines.append(f"cat {redirect} {argument} <<'ZOO_DOCS_EOF'\n{body}ZOO_DOCS_EOF")
        elif language == "bash":
            lines.append(body)
    return "\n".join(lines) + "\n"


def test_every_code_block_is_run_written_or_marked():
    for marker, argument, language, body in blocks(GUIDE.read_text()):
        if marker == "not run":
            assert argument, "say why a block is not run"
        elif not marker:
            assert language in ("bash", "text"), f"a ```{language} block that the test would skip:\n{body}"


@pytest.mark.slow
def test_tutorial_runs_as_written(tmp_path):
    """From an empty folder to a built wheel, with the tutorial's own commands."""
    script = tutorial_script(GUIDE.read_text())
    work = tmp_path / "empty"
    work.mkdir()
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "ZOO_CACHE": str(tmp_path / "cache"),
        # pip's inverted switch: "0" turns build isolation off, so the editable install and the wheel
        # build use the setuptools already here instead of fetching one (same result, no network)
        "PIP_NO_BUILD_ISOLATION": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("ZOO_STRICT_PLUGINS", None)
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "uninstall", "-y", "-q", DIST], capture_output=True)  # a leftover of a killed run
    try:
        proc = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=900)
        log = proc.stdout[-6000:] + "\n--- stderr ---\n" + proc.stderr[-6000:]
        assert proc.returncode == 0, log
    finally:
        subprocess.run([*pip, "uninstall", "-y", "-q", DIST], capture_output=True)
    out = proc.stdout
    assert re.search(r"zoo-sensors\s+0\.1\.0\s+loaded", out), log  # zoo plugins
    assert "sensors/blobs-linear" in out, log  # zoo list after step 5
    assert re.search(r"^\d+ passed", out, re.M) and "failed" not in out, log  # generated tests
    assert "zoo_sensors-0.1.0.dist-info/entry_points.txt" in out, log  # the wheel carries the entry point
    assert (work / "zoo-sensors" / "runs" / "readings" / "summary.json").is_file()
    predictions = [line for line in out.splitlines() if line.startswith(("21.3,41,0.02", "36.0,71,0.43"))]
    assert [p.split("label=")[1].split()[0] for p in predictions] == ["ok", "faulty"], log


# -- the reference -------------------------------------------------------------------------
def table(name: str) -> list[list[str]]:
    """Rows of the table after `<!-- reference: name -->`, cells without backticks."""
    text = GUIDE.read_text()
    start = text.index(f"<!-- reference: {name} -->")
    rows = []
    for line in text[start:].splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip().replace("\\|", "|").strip("`") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows.append(cells)
    return [r for r in rows[1:] if not set("".join(r)) <= set("-: ")]


def default_of(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return repr(f.default)
    if f.default_factory is not dataclasses.MISSING:
        return repr(f.default_factory())
    return "required"


def documented_fields(name: str) -> dict[str, tuple[str, str]]:
    return {row[0]: (row[1], row[2]) for row in table(name)}


def test_reference_lists_every_hook():
    rows = {row[0]: row[1] for row in table("hooks")}
    actual = {}
    for hook in hook_names():
        spec = getattr(hookspecs, hook)
        signature = str(inspect.signature(spec).replace(return_annotation=inspect.Signature.empty)).replace("'", "")
        actual[f"{hook}{signature}"] = spec.__annotations__["return"]
    assert rows == actual


@pytest.mark.parametrize("cls", [Entry, DatasetSpec, ModelSpec, RecipeSpec, DataBundle],
                         ids=lambda c: c.__name__)
def test_reference_lists_every_field(cls):
    base = {f.name: f for f in dataclasses.fields(Entry)}
    actual = {}
    for f in dataclasses.fields(cls):
        inherited = cls is not Entry and f.name in base and default_of(base[f.name]) == default_of(f)
        if not inherited:  # a spec's table lists what it adds or changes
            actual[f.name] = (str(f.type), default_of(f))
    assert documented_fields(cls.__name__) == actual


def test_reference_lists_every_builtin_task():
    rows = {row[0]: (row[1], row[2]) for row in table("tasks")}
    assert rows == {name: (path, get_task(name).monitor) for name, path in BUILTIN.items()}


def test_reference_lists_every_task_method():
    documented = {row[0] for row in table("Task")}
    methods = {name for name, value in vars(Task).items() if callable(value) and not name.startswith("_")}
    assert documented == methods
