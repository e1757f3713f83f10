from __future__ import annotations

from datetime import date

import pytest

from core.errors import ValidationError
from core.periods import Period, custom_period, period_containing, periods_between


def test_calendar_periods_and_their_predecessors() -> None:
    q = period_containing(date(2026, 1, 15), "Q")
    assert (q.start, q.end, q.label()) == (date(2026, 1, 1), date(2026, 4, 1), "2026-Q1")
    assert q.previous() == Period(date(2025, 10, 1), date(2026, 1, 1), "Q")
    assert period_containing(date(2026, 3, 31), "M").previous().label() == "2026-02"
    assert period_containing(date(2026, 7, 1), "Y").previous().start == date(2025, 1, 1)


def test_custom_period_previous_has_the_same_length() -> None:
    p = custom_period(date(2026, 3, 10), date(2026, 3, 19))
    assert p.days == 10 and p.previous() == Period(date(2026, 2, 28), date(2026, 3, 10), "custom")


def test_periods_between_and_bad_input() -> None:
    assert len(periods_between(date(2024, 11, 5), date(2026, 11, 25), "M")) == 25
    with pytest.raises(ValidationError):
        custom_period(date(2026, 3, 10), date(2026, 3, 1))
    with pytest.raises(ValidationError):
        period_containing(date(2026, 1, 1), "W")


def test_a_custom_range_of_whole_months_compares_with_the_months_before() -> None:
    from datetime import date

    from core.periods import custom_period

    assert custom_period(date(2026, 10, 1), date(2026, 10, 31)).previous().label() == "2026-09-01 – 2026-09-30"
    assert custom_period(date(2026, 2, 1), date(2026, 3, 31)).previous().label() == "2025-12-01 – 2026-01-31"
    assert custom_period(date(2026, 10, 5), date(2026, 10, 14)).previous().label() == "2026-09-25 – 2026-10-04"
