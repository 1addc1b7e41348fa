"""The core's data helpers that every plugin shares: splits by whole groups, Debian packages unpacked for their data."""
from __future__ import annotations

import os
import random

import pytest

from zoo.data import grouped_split


def where(parts):
    return {i: k for k, part in enumerate(parts) for i in part}


def test_a_group_never_straddles_two_parts_and_every_sample_is_placed_once():
    rng = random.Random(0)
    groups = [rng.randrange(40) for _ in range(500)]
    parts = grouped_split(groups, (0.7, 0.1, 0.2), seed=3)
    assert sorted(sum(parts, [])) == list(range(500))
    part_of = where(parts)
    for g in set(groups):
        assert len({part_of[i] for i, h in enumerate(groups) if h == g}) == 1
    assert [round(len(p) / 500, 1) for p in parts] == [0.7, 0.1, 0.2]
    assert parts == grouped_split(groups, (0.7, 0.1, 0.2), seed=3) != grouped_split(groups, (0.7, 0.1, 0.2), seed=4)


def test_sizes_weigh_the_shares():
    # 60 proteins of 30-1000 residues: the shares are of residues, not of chains
    rng = random.Random(1)
    groups, sizes = list(range(60)), [rng.choice([30, 60, 1000]) for _ in range(60)]
    for seed in range(5):
        parts = grouped_split(groups, (0.7, 0.1, 0.2), seed, sizes=sizes)
        shares = [sum(sizes[i] for i in p) / sum(sizes) for p in parts]
        assert [round(x, 1) for x in shares] == [0.7, 0.1, 0.2], (seed, shares)
        assert parts != grouped_split(groups, (0.7, 0.1, 0.2), seed)  # by count
    with pytest.raises(ValueError, match="3 sizes for 60 samples"):
        grouped_split(groups, (0.7, 0.1, 0.2), 0, sizes=[1, 2, 3])


@pytest.mark.parametrize("seed", range(10))
def test_no_part_is_left_empty_while_there_are_groups_for_it(seed):
    # three equal groups against 60/15/25: by the largest gap alone train would take two and valid none
    parts = grouped_split([0, 0, 1, 1, 2, 2], (0.6, 0.15, 0.25), seed)
    assert all(parts), parts
    rng = random.Random(seed)
    groups = [rng.randrange(5) for _ in range(30)]
    assert all(grouped_split(groups, (0.2,) * 5, seed)) or len(set(groups)) < 5


def _fake_tools(folder, apt_get: str) -> None:
    """apt-get and dpkg stand-ins: `apt-get download P` runs `apt_get` in its folder; `dpkg -x DEB DIR` writes
    DIR/usr/share/doc/P/copyright naming the .deb."""
    import stat

    for name, body in (("apt-get", apt_get),
                       ("dpkg", 'mkdir -p "$3/usr/share/doc/pkg" && basename "$2" > "$3/usr/share/doc/pkg/copyright"')):
        tool = folder / name
        tool.write_text(f"#!/bin/sh\n{body}\n")
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)


def test_a_debian_package_is_unpacked_without_installing_it_and_a_failure_is_one_line(tmp_path, monkeypatch):
    from zoo.paths import unpacked_debian_package

    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    _fake_tools(tmp_path, 'touch "pkg_1.0_all.deb"')
    with unpacked_debian_package("pkg") as root:
        assert (root / "usr/share/doc/pkg/copyright").read_text().strip() == "pkg_1.0_all.deb"
    assert not root.exists()  # the unpacked files are gone once the data module has copied what it needs
    _fake_tools(tmp_path, 'echo "E: Unable to locate package pkg" >&2; exit 100')
    with pytest.raises(RuntimeError, match=r"^apt-get download pkg failed: E: Unable to locate package pkg"):
        with unpacked_debian_package("pkg"):
            pass
