"""`zoo new-plugin`: render the template plugin in templates/ for a new domain.

Templates are real files (`*.tmpl`, rendered with string.Template, so `$$` is a literal dollar); the
folder `package` becomes the plugin's package and `ident` in a file name becomes the domain as an identifier.
"""
from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from ..version import __version__
from ..errors import ZooError

if TYPE_CHECKING:  # importlib.resources.abc is new in 3.11
    from importlib.resources.abc import Traversable

DOMAIN = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
SUFFIX = ".tmpl"


def template_root() -> Traversable:
    return resources.files(__package__) / "templates"


def core_requirement(version: str = __version__) -> str:
    """The core versions a new plugin accepts: this minor release line (0.x changes may break plugins)."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return f"zoo>={major}.{minor},<{major}.{minor + 1}" if major == 0 else f"zoo>={major}.{minor},<{major + 1}"


def names(domain: str) -> dict[str, str]:
    """Everything a template may name: the domain, its identifier, the distribution and the package."""
    ident = domain.replace("-", "_")
    return {"domain": domain, "ident": ident, "dist": f"zoo-{domain}", "package": f"zoo_{ident}",
            "core_requirement": core_requirement()}


def check_domain(domain: str) -> None:
    if not DOMAIN.fullmatch(domain):
        raise ZooError(f"domain {domain!r}: use lowercase letters and digits, words joined by '-' "
                       "(e.g. 'audio' or 'time-series'); it becomes the first half of every key, 'domain/name'")
    from ..plugins import get_manager

    taken = {entry.domain: entry.provider for entry in get_manager().registry}
    if domain in taken:
        raise ZooError(f"domain {domain!r} is already provided by {taken[domain] or 'an installed plugin'}; "
                       "choose another name, or add entries to that plugin")


def render(domain: str) -> dict[str, str]:
    """Relative path -> text of every file of the new plugin."""
    values = names(domain)
    files: dict[str, str] = {}

    def walk(folder: Traversable, prefix: str) -> None:
        for item in sorted(folder.iterdir(), key=lambda t: t.name):
            if item.name == "__pycache__":
                continue
            name = {"package": values["package"]}.get(item.name, item.name).replace("ident", values["ident"])
            if item.is_dir():
                walk(item, f"{prefix}{name}/")
            elif item.name.endswith(SUFFIX):
                text = Template(item.read_text(encoding="utf-8")).substitute(values)
                files[prefix + name[: -len(SUFFIX)]] = text

    walk(template_root(), "")
    return files


def create_plugin(domain: str, target: Path | None = None) -> tuple[Path, list[str]]:
    """Write the plugin for `domain` into `target` (default ./zoo-DOMAIN); refuses a folder that holds files."""
    check_domain(domain)
    root = Path(target) if target is not None else Path(f"zoo-{domain}")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ZooError(f"--dir {root}: already exists and is not an empty folder")
    files = render(domain)
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root, sorted(files)
