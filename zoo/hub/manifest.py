"""zoo.json, the manifest of a published model folder: written by `zoo publish`, checked before any load.

zoo checks every file itself (sha256 and size), whatever the Hub client did on the way: a mock Hub showed
the client accepting a corrupted file. The plugin check comes first so a missing plugin costs no download.
"""
from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import ZooError
from . import MANIFEST

FORMAT = "zoo-model"
FORMAT_VERSION = 1
CHUNK = 1 << 20


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_files(folder: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    return {name: {"sha256": sha256(folder / name), "size": (folder / name).stat().st_size} for name in names}


def loads_with(version: str) -> str:
    """The versions that can load what `version` made: the same release line (0.x.* while below 1.0, as the
    core's own plugin range; else the same major version) and not older."""
    from packaging.version import Version

    v = Version(version)
    upper = f"0.{v.minor + 1}" if v.major == 0 else f"{v.major + 1}"
    return f">={v.base_version},<{upper}"


def read(folder: Path, where: str) -> dict[str, Any]:
    """zoo.json of a published folder, checked for the fields zoo relies on."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ZooError(f"{where}: not a zoo model (no {MANIFEST}; `zoo publish` writes one)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ZooError(f"{where}: {MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ZooError(f"{where}: not a zoo model ({MANIFEST} does not say format {FORMAT!r})")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, dict) and isinstance(v.get("sha256"), str)
                                              and isinstance(v.get("size"), int) for v in files.values()):
        raise ZooError(f"{where}: {MANIFEST} field 'files' must map each file to its sha256 and size")
    for needed in ("model.safetensors", "config.json"):
        if needed not in files:
            raise ZooError(f"{where}: {MANIFEST} lists no {needed}, so this is not a loadable zoo model")
    if not isinstance(manifest.get("recipe"), str) or not isinstance(manifest.get("plugin"), dict):
        raise ZooError(f"{where}: {MANIFEST} must name the recipe and the plugin that made the model")
    return manifest


def verify(folder: Path, manifest: dict[str, Any], where: str) -> None:
    """Every file zoo.json lists is there with its size and sha256; one line naming the first that is not."""
    for name, expected in manifest["files"].items():
        path = folder / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ZooError(f"{where}: {MANIFEST} lists {name!r}, which is not a file of the model folder")
        if not path.is_file():
            raise ZooError(f"{where}: {name} is missing (zoo.json lists it); nothing was loaded")
        size = path.stat().st_size
        if size != expected["size"]:
            raise ZooError(f"{where}: {name} has {size} bytes where zoo.json says {expected['size']}; "
                           "nothing was loaded")
        if sha256(path) != expected["sha256"]:
            raise ZooError(f"{where}: {name} does not match its sha256 in zoo.json (corrupted or altered); "
                           "nothing was loaded")


def installed_version(distribution: str) -> str | None:
    """The version of a plugin distribution as zoo loaded it (`zoo plugins`), else as pip installed it."""
    from ..plugins import get_manager

    for status in get_manager().statuses:
        if status.name == distribution and status.version:
            return status.version
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _pin(name: str, spec: str | None) -> str:
    return f"'{name}{spec}'" if spec else name


def check_versions(manifest: dict[str, Any], where: str) -> None:
    """The installed zoo and the plugin that registers the recipe can load this model; else one line saying
    what to install, naming both versions."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    from ..plugins import get_registry
    from ..version import __version__

    def fits(version: str, spec: str | None) -> bool:
        if not spec:
            return True
        try:
            return SpecifierSet(spec).contains(Version(version), prereleases=True)
        except (InvalidSpecifier, InvalidVersion):
            raise ZooError(f"{where}: {MANIFEST} holds an unreadable version range {spec!r}") from None

    core = manifest.get("zoo") or {}
    made, spec = core.get("version"), core.get("loads_with")
    if made and not fits(__version__, spec):
        raise ZooError(f"{where}: made by zoo {made}, which loads with zoo{spec}; this is zoo {__version__}: "
                       f"pip install {_pin('zoo', spec)}")
    plugin = manifest["plugin"]
    dist, made, spec = plugin.get("distribution") or "", plugin.get("version"), plugin.get("loads_with")
    have = installed_version(dist) if dist else None
    recipe = manifest["recipe"]
    if not any(entry.kind == "recipe" for entry in get_registry().all_named(recipe)):
        if have is None and dist:
            raise ZooError(f"{where}: recipe {recipe} comes from the plugin {dist}, which is not installed: "
                           f"pip install {_pin(dist, spec)}")
        raise ZooError(f"{where}: recipe {recipe} is not registered by the installed plugins"
                       + (f" ({dist} {have} is installed; the model was made with {dist} {made})" if dist else ""))
    if made and have and not fits(have, spec):
        newer = Version(made) > Version(have)
        fix = f"pip install -U {_pin(dist, spec)}" if newer else f"pip install {_pin(dist, spec)}"
        raise ZooError(f"{where}: made by {dist} {made}, which loads with {dist}{spec}; the installed {dist} {have} "
                       f"cannot load it ({'older' if newer else 'a newer, incompatible release'}): {fix}")


def check(folder: Path, where: str) -> dict[str, Any]:
    """A published folder, ready to load: its manifest read, its versions and every file checked."""
    manifest = read(folder, where)
    check_versions(manifest, where)
    verify(folder, manifest, where)
    return manifest
