"""Net Promoter Score with its uncertainty: promoters 9-10, passives 7-8, detractors 0-6."""

from __future__ import annotations

import math
from dataclasses import dataclass

SMALL_SAMPLE = 30  # below this many answers the UI shows the interval, not just the point


@dataclass(frozen=True)
class NpsResult:
    score: float | None
    responses: int
    low: float | None
    high: float | None

    @property
    def small_sample(self) -> bool:
        return self.responses < SMALL_SAMPLE


def category(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def nps(promoters: float, detractors: float, responses: float) -> NpsResult:
    """NPS = 100 x (promoter share - detractor share), with a 95% normal-approximation interval.

    The variance of the per-answer value (+1 promoter, 0 passive, -1 detractor) is p + d - (p - d)^2.
    """
    n = int(responses)
    if n <= 0:
        return NpsResult(None, 0, None, None)
    p, d = promoters / n, detractors / n
    score = 100 * (p - d)
    half = 1.96 * 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    return NpsResult(score, n, max(-100.0, score - half), min(100.0, score + half))
