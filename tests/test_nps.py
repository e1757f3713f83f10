from __future__ import annotations

import math

import pytest

from core.nps import category, nps


def test_score_and_interval_by_hand() -> None:
    result = nps(promoters=5, detractors=2, responses=10)  # p = .5, d = .2
    assert result.score == pytest.approx(30)
    half = 1.96 * 100 * math.sqrt((0.5 + 0.2 - 0.3**2) / 10)
    assert (result.low, result.high) == (pytest.approx(30 - half), pytest.approx(30 + half))
    assert result.small_sample


def test_edges() -> None:
    assert nps(0, 0, 0).score is None
    assert nps(40, 0, 40).score == 100 and nps(40, 0, 40).high == 100
    assert [category(s) for s in (0, 6, 7, 8, 9, 10)] == ["detractor"] * 2 + ["passive"] * 2 + ["promoter"] * 2
