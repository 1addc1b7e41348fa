"""`zoo new-plugin`: the generated plugin is complete, installs, registers, trains on the shared trainer,
and its own tests pass as generated."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from zoo import ZooError
from zoo.scaffold import core_requirement, create_plugin, render
from zoo.testing import run_zoo

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = "scaffold-check"  # unlikely to clash with a real plugin
DIST, PACKAGE = "zoo-scaffold-check", "zoo_scaffold_check"
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]


def test_render_writes_a_complete_plugin():
    files = render(DOMAIN)
    assert set(files) == {
        "README.md", "pyproject.toml", f"tests/test_scaffold_check_plugin.py",
        f"{PACKAGE}/__init__.py", f"{PACKAGE}/plugin.py", f"{PACKAGE}/data.py", f"{PACKAGE}/models.py",
        f"{PACKAGE}/tasks.py",
    }
    for path, text in files.items():
        assert "$" not in text.replace("$$", ""), f"{path}: a placeholder was left unrendered"
        if path.endswith(".py"):
            compile(text, path, "exec")
    project = tomllib.loads(files["pyproject.toml"])["project"]
    assert project["name"] == DIST
    assert project["dependencies"] == [core_requirement()]
    assert project["entry-points"]["zoo"] == {DOMAIN: f"{PACKAGE}.plugin"}


def test_core_requirement_accepts_this_minor_line_only():
    assert core_requirement("0.1.0") == "zoo>=0.1,<0.2"
    assert core_requirement("1.4.2") == "zoo>=1.4,<2"


@pytest.mark.parametrize("domain, message", [
    ("Audio", "use lowercase letters and digits"),
    ("time_series", "use lowercase letters and digits"),
    ("a/b", "use lowercase letters and digits"),
])
def test_bad_domains_are_refused(tmp_path, domain, message):
    with pytest.raises(ZooError, match=message):
        create_plugin(domain, tmp_path / "out")


def test_cli_refuses_a_taken_domain_and_a_full_folder(tmp_path):
    taken = run_zoo("list", "--kind", "dataset")
    if "vision/" in taken.out:
        result = run_zoo("new-plugin", "vision", "--dir", str(tmp_path / "v"))
        assert result.code == 2 and "domain 'vision' is already provided by zoo-vision" in result.err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    result = run_zoo("new-plugin", "fresh", "--dir", str(tmp_path / "full"))
    assert result.code == 2 and "already exists and is not an empty folder" in result.err
    assert (tmp_path / "full" / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_templates_ship_in_the_core_wheel(tmp_path):
    """package-data: a non-editable install must carry every template."""
    proc = subprocess.run([*PIP, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [wheel] = tmp_path.glob("zoo-*.whl")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("zoo/scaffold/templates/")}
    in_tree = {p.relative_to(ROOT).as_posix() for p in (ROOT / "zoo/scaffold/templates").rglob("*.tmpl")}
    assert in_tree and shipped == in_tree


@pytest.fixture
def installed_plugin(tmp_path):
    """Scaffold with the CLI into a temporary folder and install it editable into this environment;
    always uninstalled afterwards."""
    root = tmp_path / "plugin"
    env = {**os.environ, "ZOO_CACHE": str(tmp_path / "cache")}
    subprocess.run([*PIP, "uninstall", "-y", "-q", DIST], capture_output=True)  # a leftover of a killed run
    result = run_zoo("new-plugin", DOMAIN, "--dir", str(root))
    assert result.code == 0, result.err
    assert f"created {root / 'pyproject.toml'}" in result.out
    try:
        proc = subprocess.run([*PIP, "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(root)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        yield root, env
    finally:
        subprocess.run([*PIP, "uninstall", "-y", "-q", DIST], capture_output=True, timeout=300)


@pytest.mark.slow
def test_scaffolded_plugin_installs_trains_and_passes_its_tests(installed_plugin, tmp_path):
    root, env = installed_plugin
    recipe = f"{DOMAIN}/blobs-mlp"

    listed = run_zoo("list", f"{DOMAIN}/*", env=env)
    assert listed.code == 0, listed.err
    for name in (f"{DOMAIN}/blobs", f"{DOMAIN}/mlp", recipe):
        assert name in listed.out
    plugins = run_zoo("plugins", env=env)
    assert DIST in plugins.out and "loaded" in plugins.out

    run_dir = tmp_path / "run"
    trained = run_zoo("train", recipe, "--epochs", "1", "--set", "max_steps=5", "--set", "grad_stats_every=0",
                      "--out", str(run_dir), env=env)
    assert trained.code == 0, trained.err
    assert "test: loss" in trained.out and (run_dir / "summary.json").is_file()

    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
