"""zoo_games.match: a match's tally, score, Wilson interval and Elo difference, checked against hand computations."""
from __future__ import annotations

import math

import pytest

from zoo_games.match import Tally, by_colour, elo, wilson


def test_elo_is_the_logistic_difference_a_score_implies():
    assert elo(0.5) == 0.0
    assert elo(0.75) == pytest.approx(400 * math.log10(3))  # 3 wins for each loss: +190.8
    assert elo(0.25) == pytest.approx(-190.848, abs=1e-3)
    assert elo(0.0) == -math.inf and elo(1.0) == math.inf
    with pytest.raises(ValueError):
        elo(1.5)


def test_wilson_interval_matches_its_closed_forms():
    z2 = 1.959963984540054 ** 2
    assert wilson(0.0, 10) == (0.0, pytest.approx(z2 / (10 + z2)))  # no successes: upper end z^2 / (n + z^2)
    assert wilson(1.0, 10) == (pytest.approx(10 / (10 + z2)), 1.0)
    low, high = wilson(0.5, 40)  # symmetric about 0.5, half-width z sqrt(1/4n + z^2/4n^2) / (1 + z^2/n)
    half = math.sqrt(z2) * math.sqrt(0.25 / 40 + z2 / 6400) / (1 + z2 / 40)
    assert (low, high) == (pytest.approx(0.5 - half), pytest.approx(0.5 + half))
    assert round(low, 3) == 0.352


def test_a_tally_counts_draws_half_and_splits_by_colour():
    results = [1.0, 0.0, 0.5, 0.0, 1.0, 0.0, 0.0, 0.0]  # the network began the even games
    every, first, second = by_colour(results, [i % 2 == 0 for i in range(8)])
    assert (every.wins, every.draws, every.losses, every.games) == (2, 1, 5, 8)
    assert every.score == pytest.approx(2.5 / 8)
    assert (first.wins, first.draws, first.losses) == (2, 1, 1) and first.score == pytest.approx(2.5 / 4)
    assert (second.wins, second.draws, second.losses) == (0, 0, 4) and second.score == 0.0
    assert every.text() == "2-1-5, 0.312 [0.102, 0.644]"  # by hand: centre 0.3733, half-width 0.2709
    assert every.elo_text() == f"{elo(2.5 / 8):+.0f} [{elo(every.interval()[0]):+.0f}, {elo(every.interval()[1]):+.0f}]"
    assert every.elo_text().startswith("-137 [")
    with pytest.raises(ValueError):
        Tally.of([0.3])
    with pytest.raises(ValueError):
        by_colour([1.0], [True, False])


def test_a_score_of_0_or_1_gives_only_the_bound_of_its_interval():
    lost = Tally.of([0.0] * 10)
    assert lost.elo_text() == "<= -166"  # upper end 0.2775: -400 log10(1/0.2775 - 1)
    assert Tally.of([1.0] * 10).elo_text() == ">= +166"
