"""The architecture is kept by import-linter's contracts ([tool.importlinter] in pyproject.toml): the tree keeps
them, and a copy of the tree with one contract broken on purpose fails."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_DIRS = sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on the tree under `root`, its packages imported from there (the plugin folders on the path)."""
    path = [str(root)] + [str(root / "plugins" / d.name) for d in PLUGIN_DIRS]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path), COLUMNS="200")  # one line per contract
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", code, "--no-cache"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_tree_keeps_every_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and "Contracts: 5 kept, 0 broken." in result.stdout


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """The packages and pyproject.toml, without tests and caches."""
    root = tmp_path_factory.mktemp("tree")
    ignore = shutil.ignore_patterns("__pycache__", "tests", "*.pyc")
    shutil.copytree(ROOT / "zoo", root / "zoo", ignore=ignore)
    for d in PLUGIN_DIRS:
        package = next(d.glob("zoo_*/__init__.py")).parent
        shutil.copytree(package, root / "plugins" / d.name / package.name, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", root)
    return root


BREAKS = {  # a module of the copy, the import appended to it, the contract it breaks
    "layers": ("zoo/config.py", "from zoo import runs", "the core is layered"),
    "independence": ("plugins/vision/zoo_vision/models.py", "import zoo_nlp.tokenization", "no plugin imports another"),
    "core-imports-a-plugin": ("zoo/data.py", "import zoo_medical", "the core imports no plugin"),
    "heavy-library": ("zoo/tasks/classification.py", "import timm", "the core never imports timm"),
    "cycle": ("plugins/biology/zoo_biology/sequences.py", "from . import data", "no import cycles"),
}


@pytest.mark.parametrize("broken", list(BREAKS))
def test_breaking_a_contract_fails(copy, broken):
    module, line, contract = BREAKS[broken]
    path = copy / module
    original = path.read_text()
    try:
        path.write_text(original + f"\n{line}\n")
        result = lint_imports(copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    broken = [ln for ln in result.stdout.splitlines() if ln.endswith("BROKEN")]
    assert any(ln.startswith(contract) for ln in broken), result.stdout
