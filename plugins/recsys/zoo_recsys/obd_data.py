"""`python -m zoo_recsys.obd_data`: unpack the Open Bandit Dataset sample that ships in obp's source distribution.

obp 0.5.7 declares Python < 3.11, so it is not installed: `pip download --no-deps --ignore-requires-python
--no-binary :all: obp==0.5.7` fetches its sdist from PyPI (an install step, like `make data`; nothing downloads
while training) and only the data is kept, under $ZOO_CACHE/recsys/obd: obd/{random,bts}/{all,men,women}/*.csv,
the Thompson Sampling prior (policy/conf/prior_bts.yaml) and obp's LICENSE.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from zoo import DataMissing
from zoo.paths import cache_dir

VERSION = "0.5.7"
COMMAND = f"python -m zoo_recsys.obd_data (pip download --no-deps --ignore-requires-python obp=={VERSION} sdist)"


def _complete(folder: Path) -> bool:
    return (folder / "random" / "all" / "all.csv").is_file() and (folder / "prior_bts.yaml").is_file()


def locate(fetch: bool = True) -> Path:
    """The folder with random/, bts/ and prior_bts.yaml: $ZOO_OBD_DIR, the unpacked cache, an installed obp
    package (found without importing it), else unpacked now (fetch) or DataMissing."""
    env = os.environ.get("ZOO_OBD_DIR")
    if env:
        if not _complete(Path(env)):
            raise DataMissing(f"ZOO_OBD_DIR={env}: expected random/all/all.csv and prior_bts.yaml there")
        return Path(env)
    cached = cache_dir("recsys") / "obd"
    if _complete(cached):
        return cached
    spec = importlib.util.find_spec("obp")
    if spec is not None and spec.submodule_search_locations:
        root = Path(list(spec.submodule_search_locations)[0])
        if (root / "dataset" / "obd" / "random" / "all" / "all.csv").is_file():
            return _installed(root)
    if fetch:
        try:
            return install()
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            raise DataMissing(f"recsys/open-bandit: the Open Bandit Dataset sample is not unpacked and fetching "
                              f"obp's sdist failed ({exc}); run `{COMMAND}` or set ZOO_OBD_DIR") from None
    raise DataMissing(f"recsys/open-bandit: the Open Bandit Dataset sample is not unpacked; run `{COMMAND}`")


def _installed(root: Path) -> Path:
    """An installed obp keeps the CSVs in dataset/obd and the prior in policy/conf: link both into one folder."""
    folder = cache_dir("recsys", "obd-installed")
    for name, target in (("random", root / "dataset" / "obd" / "random"), ("bts", root / "dataset" / "obd" / "bts"),
                         ("prior_bts.yaml", root / "policy" / "conf" / "prior_bts.yaml")):
        link = folder / name
        if not link.exists():
            link.symlink_to(target)
    return folder


def install() -> Path:
    target = cache_dir("recsys") / "obd"
    if _complete(target):
        return target
    with tempfile.TemporaryDirectory() as tmp:
        got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--ignore-requires-python",
                              "--no-binary", ":all:", f"obp=={VERSION}", "-d", tmp],
                             capture_output=True, text=True, timeout=600)
        archives = list(Path(tmp).glob("obp-*.tar.gz"))
        if got.returncode or not archives:
            tail = (got.stderr.strip().splitlines() or ["no archive"])[-1]
            raise RuntimeError(f"pip download obp=={VERSION} failed: {tail}")
        prefix = f"obp-{VERSION}/"
        keep = {f"{prefix}obp/dataset/obd/": "", f"{prefix}obp/policy/conf/prior_bts.yaml": "prior_bts.yaml",
                f"{prefix}LICENSE": "LICENSE"}
        partial = target.with_name("obd.partial")
        if partial.exists():
            import shutil
            shutil.rmtree(partial)
        with tarfile.open(archives[0]) as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                for source, dest in keep.items():
                    if member.name == source or (source.endswith("/") and member.name.startswith(source)
                                                 and member.name.endswith(".csv")):
                        relative = dest or member.name[len(source):]
                        path = partial / relative
                        path.parent.mkdir(parents=True, exist_ok=True)
                        with tar.extractfile(member) as src:  # type: ignore[union-attr]
                            path.write_bytes(src.read())
        if not _complete(partial):
            raise RuntimeError(f"obp-{VERSION}.tar.gz did not hold obd/random/all/all.csv and prior_bts.yaml")
        if target.exists():
            import shutil
            shutil.rmtree(target)
        partial.rename(target)
    return target


if __name__ == "__main__":
    try:
        print(f"Open Bandit Dataset sample in {install()}")
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        sys.exit(f"error: {exc}")
