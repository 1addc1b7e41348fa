"""Each plugin installs alone beside the core, and pulls in only its own domain's heavy library.

The dependency set of a plugin is resolved by walking its declared requirements (pyproject.toml) through
the installed distributions' metadata (importlib.metadata), evaluating markers and extras as pip does.
That is offline and takes milliseconds; it is exact for the versions installed here. Set ZOO_RESOLVE_PYPI=1
to also resolve each plugin from scratch against the package index with `pip install --dry-run --report`
(35-100 s per plugin on a 2-core machine: too slow for every run), which sees what a fresh
`pip install . ./plugins/X` would bring today.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import zoo
from zoo.testing import run_zoo

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(path.parent for path in (ROOT / "plugins").glob("*/pyproject.toml"))
HEAVY = {"timm", "monai", "transformers"}  # each domain's big library; no plugin may drag in another's
MAY_PULL = {"vision": {"timm"}, "medical": {"monai"}, "nlp": {"transformers"}, "recsys": set()}


def project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]


def may_pull(folder: Path) -> set[str]:
    """What the issue allows for known plugins; a new plugin may pull in the heavy libraries it names itself."""
    if folder.name in MAY_PULL:
        return MAY_PULL[folder.name]
    return {canonicalize_name(Requirement(r).name) for r in project(folder).get("dependencies", [])} & HEAVY


def resolve_installed(requirements: list[str], origin: str) -> tuple[dict[str, list[str]], list[str]]:
    """Every distribution the requirements pull in (name -> chain from `origin`), and those not installed.

    The core itself is read from the repository's pyproject.toml, so the check follows the source, not a
    possibly stale editable install.
    """
    core = [Requirement(r) for r in project(ROOT).get("dependencies", [])]
    found: dict[str, list[str]] = {}
    missing: list[str] = []
    queue = [(Requirement(r), [origin]) for r in requirements]
    while queue:
        req, chain = queue.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in found:
            continue
        found[name] = [*chain, name]
        if name == "zoo":
            children = core
        else:
            try:
                dist = metadata.distribution(name)
            except metadata.PackageNotFoundError:
                missing.append(" -> ".join(found[name]))
                continue
            children = []
            for line in dist.requires or []:
                child = Requirement(line)
                wanted = [""] + sorted(req.extras)  # base requirements, plus those of the extras asked for
                if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in wanted):
                    child.marker = None
                    children.append(child)
        queue.extend((child, found[name]) for child in children)
    return found, missing


@pytest.mark.parametrize("folder", PLUGINS, ids=[p.name for p in PLUGINS])
def test_plugin_pulls_in_only_its_own_heavy_library(folder):
    dist = project(folder)["name"]
    found, missing = resolve_installed(project(folder).get("dependencies", []), dist)
    assert not missing, f"cannot resolve {dist}: not installed here: {missing} (run `make venv`)"
    assert "zoo" in found and "torch" in found
    forbidden = {name: " -> ".join(found[name]) for name in HEAVY - may_pull(folder) if name in found}
    assert not forbidden, f"{dist} must not pull in {sorted(forbidden)}: {forbidden}"


@pytest.mark.parametrize("folder", PLUGINS, ids=[p.name for p in PLUGINS])
def test_plugin_declares_the_core_versions_it_works_with(folder):
    requirements = [Requirement(r) for r in project(folder).get("dependencies", [])]
    core = [r for r in requirements if canonicalize_name(r.name) == "zoo"]
    assert core, f"{folder.name}: pyproject.toml must depend on zoo with a version range, e.g. 'zoo>=0.1,<0.2'"
    assert str(core[0].specifier), f"{folder.name}: give the zoo requirement a version range"
    assert core[0].specifier.contains(zoo.__version__), f"{folder.name}: {core[0]} excludes zoo {zoo.__version__}"
    assert project(folder)["entry-points"]["zoo"], f"{folder.name}: no [project.entry-points.zoo]"


def test_the_walk_sees_what_it_should():
    """The resolver itself: a known chain (timm needs torchvision) and a missing name are both reported."""
    found, missing = resolve_installed(["timm", "surely-not-installed-zoo-pkg"], "probe")
    assert found["torchvision"][:2] == ["probe", "timm"]
    assert missing == ["probe -> surely-not-installed-zoo-pkg"]


def test_zoo_plugins_shows_each_installed_plugin():
    result = run_zoo("plugins", "--json")
    assert result.code == 0, result.err
    shown = {s["name"]: s for s in json.loads(result.out)}
    for folder in PLUGINS:
        dist = project(folder)["name"]
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue  # not installed here: nothing to show
        assert shown[dist]["version"] == version
        assert shown[dist]["status"] == "loaded", shown[dist]["error"]


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("ZOO_RESOLVE_PYPI"), reason="set ZOO_RESOLVE_PYPI=1 to resolve against the index")
@pytest.mark.parametrize("folder", PLUGINS, ids=[p.name for p in PLUGINS])
def test_fresh_install_resolution_from_the_index(folder, tmp_path):
    """What `pip install . ./plugins/X` would install into an empty environment (the core from this checkout)."""
    report = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                           "--no-build-isolation", "--report", str(report), str(ROOT), str(folder)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    installed = {canonicalize_name(item["metadata"]["name"]) for item in json.loads(report.read_text())["install"]}
    assert {"zoo", "torch"} <= installed
    assert not (HEAVY - may_pull(folder)) & installed
