"""Where zoo keeps generated data and caches."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """$ZOO_CACHE, or ~/.cache/zoo; created on first use."""
    root = Path(os.environ.get("ZOO_CACHE") or Path.home() / ".cache" / "zoo")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
