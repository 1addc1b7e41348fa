"""The core's data helpers that every plugin shares: splits by whole groups."""
from __future__ import annotations

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
