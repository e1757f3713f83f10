"""Voice of the customer against hand-made answers: NPS and its interval, CSAT by SLA outcome, keywords,
and the closed loop's follow-ups and next scores."""

from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core import facts, models as m, voice
from core.access import SYSTEM
from core.db import session_scope
from core.periods import Filters
from tests import factories as f

START, END = datetime(2026, 1, 1), datetime(2026, 3, 1)


@pytest.fixture
def answers(engine: Engine) -> Engine:
    """The answers on every dialect (the figures are counted in SQL)."""
    with session_scope(engine) as s:
        owner = f.user(s, "amy")
        a = f.customer(s, owner=owner, became=date(2024, 1, 1), region="east")
        b = f.customer(s, owner=owner, became=date(2024, 1, 1), region="north")
        # January: 10, 9, 8, 3, 2 -> 2 promoters, 2 detractors of 5: NPS 0
        for score, who, comment in (
            (10, a, "Great support"),
            (9, a, None),
            (8, b, None),
            (3, b, "客服响应太慢"),
            (2, a, "Support too slow, delivery late"),
        ):
            n = f.nps(s, who, datetime(2026, 1, 10), score)
            n.comment = comment
        f.nps(s, b, datetime(2026, 2, 5), 9)  # February: one promoter
        # tickets with feedback: met SLA rated 5 and 4, breached SLA rated 2
        for csat, state in ((5, "met"), (4, "met"), (2, "breached")):
            t = f.ticket(
                s,
                a,
                datetime(2026, 1, 5),
                resolved=datetime(2026, 1, 6),
                closed=datetime(2026, 1, 7),
                csat=csat,
                feedback=datetime(2026, 1, 7),
            )
            s.flush()
            s.add(m.TicketSla(ticket_id=t.id, metric="resolution", target_minutes=60, elapsed_minutes=30, state=state))
        # a follow-up for the January detractor of customer b, done the next day; b's next answer is the 9
        s.add(
            m.Task(
                customer_id=b.id,
                owner_id=owner.id,
                title="NPS 3: call back",
                due_date=date(2026, 1, 12),
                created_at=datetime(2026, 1, 10),
                done_at=datetime(2026, 1, 11),
                source="detractor",
            )
        )
    with session_scope(engine) as s:  # rows written by hand, as an import does: its summaries rebuilt after it
        facts.rebuild_all(s, as_of=date(2026, 3, 31))
    return engine


def test_nps_by_month_with_its_interval(answers: Engine) -> None:
    with Session(answers) as s:
        months = voice.nps_by_month(s, SYSTEM, Filters(), start=START, end=END).set_index("month")
    january = months.loc["2026-01"]
    assert (january["responses"], january["promoters"], january["passives"], january["detractors"]) == (5, 2, 1, 2)
    # per-answer values +1, +1, 0, -1, -1: mean 0, variance p + d - (p - d)^2 = 0.8;
    # half-width 1.96 * 100 * sqrt(0.8 / 5)
    half = 1.96 * 100 * math.sqrt(0.8 / 5)
    assert january["nps"] == 0 and january["high"] == pytest.approx(half) and january["low"] == pytest.approx(-half)
    assert bool(january["small_sample"]) and months.loc["2026-02", "nps"] == 100
    with Session(answers) as s:
        by_region = voice.nps_by(s, SYSTEM, Filters(), by="region", start=START, end=END).set_index("region")
    assert by_region.loc["east", "nps"] == pytest.approx(100 * (2 - 1) / 3)  # 10, 9, 2


def test_csat_by_whether_the_sla_was_met(answers: Engine) -> None:
    with Session(answers) as s:
        table = voice.csat_by(s, SYSTEM, by="sla", start=START, end=END).set_index("value")
    assert table.loc["met", "ratings"] == 2 and table.loc["met", "csat"] == 1.0
    assert table.loc["breached", "ratings"] == 1 and table.loc["breached", "csat"] == 0.0


def test_comments_keywords_and_the_closed_loop(answers: Engine) -> None:
    with Session(answers) as s:
        found = voice.comments(s, SYSTEM, Filters(), start=START, end=END, categories=("detractor",))
        keywords = voice.detractor_keywords(s, SYSTEM, Filters(), start=START, end=END).set_index("keyword")
        loop = voice.closed_loop(s, SYSTEM, start=START, end=END)
    assert len(found) == 2
    assert {"客服", "support", "slow"} <= set(keywords.index) and keywords.loc["support", "previous"] == 0
    assert "the" not in keywords.index and "too" not in keywords.index  # stop words
    assert loop["follow_ups"] == 1 and loop["in_time_share"] == 1.0 and loop["next_score_avg"] == 9
    assert voice.words("Delivery was late again，发货延迟") == ["delivery", "late", "发货", "延迟"]


def test_scope_an_account_manager_sees_only_their_customers(answers: Engine) -> None:
    from core.access import Viewer

    other = Viewer(999, "bob", "Bob", "account_manager")
    with Session(answers) as s:
        assert voice.nps_by_month(s, other, Filters(), start=START, end=END).empty
        assert voice.closed_loop(s, other, start=START, end=END)["follow_ups"] == 0


def test_complaint_keywords_by_category_this_period_and_the_last(engine: Engine) -> None:
    """Hand-made complaints: words of the description and the findings, counted once per complaint, by
    category, against the previous same-length period; other ticket kinds and other categories left out."""
    with session_scope(engine) as s:
        who = f.customer(s, owner=f.user(s, "amy"), became=date(2024, 1, 1))
        for created, kind, category, description, findings in (
            (datetime(2026, 2, 3), "complaint", "delivery", "包裹破损，快递员态度差", "快递 外包商 包装不合格"),
            (datetime(2026, 2, 9), "complaint", "delivery", "Parcel damaged, courier rude", "courier subcontractor"),
            (datetime(2026, 2, 20), "complaint", "billing", "Invoice charged twice", None),
            (datetime(2026, 2, 21), "service_request", "delivery", "Change the courier address", None),
            (datetime(2026, 1, 15), "complaint", "delivery", "Courier late", None),  # the previous period
        ):
            t = f.ticket(s, who, created, kind=kind)
            t.category, t.description, t.findings = category, description, findings
    with Session(engine) as s:
        delivery = voice.complaint_keywords(
            s, SYSTEM, Filters(), start=datetime(2026, 2, 1), end=datetime(2026, 3, 1), category="delivery"
        ).set_index("keyword")
        every = voice.complaint_keywords(s, SYSTEM, Filters(), start=datetime(2026, 2, 1), end=datetime(2026, 3, 1))
    assert delivery.loc["courier", "count"] == 1 and delivery.loc["courier", "previous"] == 1  # once per complaint
    assert {"破损", "快递", "subcontractor", "damaged"} <= set(delivery.index)
    assert "invoice" not in delivery.index and "address" not in delivery.index  # billing, and not a complaint
    assert "invoice" in set(every["keyword"]) and delivery["change"].loc["courier"] == 0


def test_the_word_splitter_can_be_warmed_up_before_the_first_visit() -> None:
    import jieba

    from core import voice

    voice.warm_up()
    assert jieba.dt.initialized and voice.words("物流太慢，客服态度差") == ["物流", "太慢", "客服", "态度"]


def test_nps_by_month_from_the_month_summary_equals_the_answers(seeded_url: str) -> None:
    from sqlalchemy import select

    from core import clock
    from core.access import Viewer
    from core.db import make_engine, period_bucket

    engine = make_engine(seeded_url)
    with Session(engine) as s:
        owner = s.scalar(select(m.User.id).where(m.User.role == "account_manager").order_by(m.User.id))
        manager = Viewer(owner, "manager1", "Manager", "account_manager")
        now = clock.now()
        month = period_bucket(m.table(m.NpsResponse).c.responded_at, "M")
        for viewer, filters in ((SYSTEM, Filters()), (SYSTEM, Filters(regions=("east",))), (manager, Filters())):
            for start, end in ((datetime(2025, 11, 17, 9, 30), now), (datetime(2026, 1, 1), datetime(2026, 7, 20))):
                got = voice.nps_by_month(s, viewer, filters, start=start, end=end)
                raw = voice._nps_grouped(s, viewer, filters, month, "month", start, end)
                assert len(got) >= 6 and got["responses"].sum() > 10
                pd.testing.assert_frame_equal(got.reset_index(drop=True), raw.reset_index(drop=True), check_dtype=False)
