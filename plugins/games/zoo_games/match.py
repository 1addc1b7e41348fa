"""A match's figures from its games' results (1 win, 0.5 draw, 0 loss for the network): wins, draws and losses,
the score (draws count half) with its 95% Wilson interval, the same split by colour, and the Elo difference the
score implies (logistic: s = 1 / (1 + 10 ** (-d / 400)), so d = -400 log10(1/s - 1)). Pure arithmetic: no torch."""
from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


def wilson(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion p over n trials (a score with draws counted half is treated as
    one: each game one trial of weight 1)."""
    if n <= 0:
        return 0.0, 1.0
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return (0.0 if p <= 0 else low), (1.0 if p >= 1 else high)  # exact ends (rounding leaves 1 - 1e-16)


def elo(score: float) -> float:
    """The Elo difference a score implies: -400 log10(1/s - 1); -inf at 0, +inf at 1."""
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"a score is between 0 and 1, not {score}")
    if score == 0.0:
        return -math.inf
    if score == 1.0:
        return math.inf
    return -400.0 * math.log10(1.0 / score - 1.0)


@dataclass(frozen=True)
class Tally:
    wins: int
    draws: int
    losses: int

    @classmethod
    def of(cls, results: list[float]) -> Tally:
        bad = [r for r in results if r not in (0.0, 0.5, 1.0)]
        if bad:
            raise ValueError(f"a game's result is 1, 0.5 or 0, not {bad[0]}")
        return cls(sum(r == 1.0 for r in results), sum(r == 0.5 for r in results), sum(r == 0.0 for r in results))

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        return (self.wins + 0.5 * self.draws) / self.games if self.games else math.nan

    def interval(self) -> tuple[float, float]:
        return wilson(self.score, self.games)

    def elo_text(self) -> str:
        """The Elo difference with the interval's ends mapped through elo(); at a score of 0 or 1 the point is
        infinite, so only the bound the interval gives is stated."""
        low, high = self.interval()
        if self.score == 0.0:
            return f"<= {elo(high):+.0f}"
        if self.score == 1.0:
            return f">= {elo(low):+.0f}"
        bottom = "-inf" if low == 0 else f"{elo(low):+.0f}"
        top = "+inf" if high == 1 else f"{elo(high):+.0f}"
        return f"{elo(self.score):+.0f} [{bottom}, {top}]"

    def text(self) -> str:
        """'W-D-L, score [95% Wilson interval]'."""
        low, high = self.interval()
        return f"{self.wins}-{self.draws}-{self.losses}, {self.score:.3f} [{low:.3f}, {high:.3f}]"


def by_colour(results: list[float], first: list[bool]) -> tuple[Tally, Tally, Tally]:
    """All games, those the network began (White in chess, Black in Go) and the others."""
    if len(results) != len(first):
        raise ValueError(f"{len(results)} results but {len(first)} colours")
    return (Tally.of(results), Tally.of([r for r, f in zip(results, first) if f]),
            Tally.of([r for r, f in zip(results, first) if not f]))
