"""Deterministic demo data with causal structure, fast enough for 100,000 customers in under 2 minutes.

Each customer has a hidden health that drifts month by month (never stored). Order frequency and size,
complaints, NPS scores and the churn hazard all follow health; breached tickets hurt health and
lower the next NPS answer. So a model can learn churn from observable behaviour, and no column
leaks the label. The simulation is vectorised over customers, one calendar month per step.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from faker import Faker
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from core import clock, db, models as m, service
from core.db import bulk_insert, new_id, reset_sequences, session_scope
from core.errors import ValidationError
from core.pii import Keyring, encrypt, search_hash
from core.sla import targets_hours
from core.sla_engine import STATUS_ACTIONS

REGIONS = {
    "east": (0.30, ["Shanghai", "Hangzhou", "Nanjing", "Suzhou", "Ningbo"]),
    "north": (0.20, ["Beijing", "Tianjin", "Jinan", "Qingdao", "Shijiazhuang"]),
    "south": (0.20, ["Guangzhou", "Shenzhen", "Xiamen", "Fuzhou"]),
    "central": (0.10, ["Wuhan", "Changsha", "Zhengzhou", "Hefei"]),
    "southwest": (0.10, ["Chengdu", "Chongqing", "Kunming"]),
    "northwest": (0.05, ["Xi'an", "Lanzhou", "Urumqi"]),
    "northeast": (0.05, ["Shenyang", "Dalian", "Harbin"]),
}
INDUSTRIES = list(m.INDUSTRIES)
COMPANY_SIZES = list(m.COMPANY_SIZES)
PRODUCT_CATEGORIES = list(m.PRODUCT_CATEGORIES)
SALES_CHANNELS = list(m.SALES_CHANNELS)
TICKET_CATEGORIES = list(m.TICKET_CATEGORIES)
TICKET_CHANNELS = list(m.TICKET_CHANNELS)
NPS_TOUCHPOINTS = list(m.NPS_TOUCHPOINTS)
TAGS = ["vip", "key_account", "wechat", "newsletter", "price_sensitive", "reference"]
OUTCOMES = list(m.INTERACTION_OUTCOMES)
SEASON = np.array([0.85, 0.80, 0.95, 1.0, 1.0, 1.05, 1.0, 0.95, 1.0, 1.05, 1.30, 1.20])
COMMENTS = {
    "promoter": [
        "服务很专业，响应及时",
        "产品质量稳定，值得推荐",
        "Great support team, very responsive",
        "Reliable product, would recommend",
        "交付准时，沟通顺畅",
        "Smooth onboarding and fair pricing",
    ],
    "passive": [
        "整体还可以，价格略高",
        "Good product but pricing is high",
        "发货速度一般",
        "Support is fine, documentation could be better",
        "功能够用，希望更新更快",
    ],
    "detractor": [
        "客服响应太慢",
        "发货延迟，多次催促无果",
        "Support took days to reply",
        "Delivery was late again",
        "产品质量有问题，退换麻烦",
        "Billing errors every month",
        "价格太贵，性价比低",
        "Too expensive for what it does",
    ],
}
SUBJECTS = {
    "phone": "Follow-up call",
    "email": "Proposal sent",
    "online_chat": "Chat about product usage",
    "visit": "Account review meeting",
    "social_media": "Message via WeChat",
    "self_service": "Portal self-service request",
    "on_site": "On-site support",
}
STAFF_DOMAIN = "cockpit.example"
DAY_S = 86_400
NONE = np.array(None, dtype=object)  # NULL in np.where: an object scalar, so a column stays object


@dataclass
class SeedReport:
    """What a seed run wrote and how long it took."""

    customers: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    passwords: dict[str, str] = field(default_factory=dict)  # demo username -> password (shown once)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step, for the benchmark
    churn_model: int | None = None  # the churn model version trained on the demo (None: too small to learn)

    @property
    def rows_total(self) -> int:
        return sum(self.rows.values())


def _ordinal(d: date) -> int:
    """Days since 1970-01-01 (numpy's datetime64[D] epoch)."""
    return (d - date(1970, 1, 1)).days


def _month_starts(today: date, months: int) -> list[date]:
    year, month = today.year, today.month
    starts = []
    for _ in range(months + 1):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _name_pools(seed: int) -> dict[str, list[str]]:
    """Small pools of realistic names (Faker zh_CN and en), combined by numpy: Faker per row is slow."""
    zh, en = Faker("zh_CN"), Faker("en_US")
    zh.seed_instance(seed)
    en.seed_instance(seed)
    return {
        "zh_company": list(dict.fromkeys(zh.company() for _ in range(600))),
        "en_company": list(dict.fromkeys(en.company() for _ in range(400))),
        "zh_person": list(dict.fromkeys(zh.name() for _ in range(1500))),
        "en_person": list(dict.fromkeys(en.name() for _ in range(800))),
    }


def _staff(n_customers: int) -> list[dict[str, object]]:
    managers = max(2, min(10, n_customers // 1000))
    agents = max(2, min(6, n_customers // 10000 + 2))
    people: list[tuple[str, str, str, str | None]] = [
        ("admin", "Administrator", "admin", None),
        ("executive", "Executive", "executive", None),
        ("analyst", "Analyst", "analyst", None),
    ]
    people += [
        (f"manager{i}", f"Account Manager {i}", "account_manager", "Sales North" if i % 2 else "Sales South")
        for i in range(1, managers + 1)
    ]
    people += [
        ("agent" if i == 1 else f"agent{i}", f"Support Agent {i}", "support_agent", "Service")
        for i in range(1, agents + 1)
    ]
    people += [("lead", "Service Team Lead", "team_lead", "Service")]
    return [
        {"id": i, "username": u, "display_name": d, "email": f"{u}@{STAFF_DOMAIN}", "role": r, "team": t}
        for i, (u, d, r, t) in enumerate(people, start=1)
    ]


# what a customer buys next depends on what they bought last (rows: the last order's category, in
# PRODUCT_CATEGORIES order: software, hardware, services, consumables, training, subscription), so the next best
# offer has a real pattern to find; the first order's category from FIRST_CATEGORY
NEXT_CATEGORY = np.array(
    [
        [0.10, 0.10, 0.15, 0.05, 0.25, 0.35],
        [0.10, 0.15, 0.25, 0.35, 0.10, 0.05],
        [0.15, 0.20, 0.30, 0.10, 0.20, 0.05],
        [0.10, 0.20, 0.15, 0.45, 0.05, 0.05],
        [0.30, 0.10, 0.15, 0.05, 0.15, 0.25],
        [0.25, 0.03, 0.10, 0.02, 0.15, 0.45],
    ]
)
FIRST_CATEGORY = np.array([0.25, 0.25, 0.2, 0.1, 0.05, 0.15])


def _categories(customer: np.ndarray, day: np.ndarray, seed: int) -> np.ndarray:
    """Each order's category index: the first of a customer's orders from FIRST_CATEGORY, each next one from
    NEXT_CATEGORY's row of the one before (a random stream of its own: the rest of the demo is unchanged)."""
    rng = np.random.default_rng(seed + 16)
    by_customer = np.lexsort((day, customer))  # each customer's orders together, in time order
    ordered = customer[by_customer]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    rank = np.arange(len(ordered)) - np.maximum.accumulate(np.where(starts, np.arange(len(ordered)), 0))
    chosen = np.zeros(len(ordered), dtype=int)
    cumulative = np.cumsum(NEXT_CATEGORY, axis=1)
    first = rank == 0
    chosen[first] = np.searchsorted(np.cumsum(FIRST_CATEGORY), rng.random(int(first.sum())), side="right")
    for k in range(1, int(rank.max()) + 1 if len(rank) else 1):
        at = np.flatnonzero(rank == k)
        previous = chosen[at - 1]
        draw = rng.random(len(at))
        chosen[at] = (draw[:, None] > cumulative[previous]).sum(axis=1)
    out = np.empty(len(customer), dtype=int)
    out[by_customer] = np.minimum(chosen, len(PRODUCT_CATEGORIES) - 1)
    return out


def _days(ordinals: np.ndarray) -> np.ndarray:
    return np.asarray(ordinals, dtype="int64").astype("datetime64[D]")


def _seconds(seconds: np.ndarray) -> np.ndarray:
    out = np.asarray(seconds, dtype="float64")
    result = np.full(out.shape, np.datetime64("NaT"), dtype="datetime64[s]")
    ok = ~np.isnan(out)
    result[ok] = out[ok].astype("int64").astype("datetime64[s]")
    return result


def generate(n: int, *, seed: int = 42, today: date | None = None, months: int = 36) -> dict[str, dict[str, Any]]:
    """Generate all demo tables as column arrays (no database involved)."""
    if n < 1:
        raise ValidationError("The demo needs at least 1 customer.")
    today = today or clock.today()
    rng = np.random.default_rng(seed)
    pools = _name_pools(seed)
    staff = _staff(n)
    manager_ids = np.array([u["id"] for u in staff if u["role"] == "account_manager"])
    agent_ids = np.array([u["id"] for u in staff if u["role"] == "support_agent"])
    agent_speed = 0.8 + 0.15 * np.arange(len(agent_ids))  # some agents are slower: more breaches
    starts = _month_starts(today, months)
    window_start = _ordinal(starts[0])
    now_day = _ordinal(today)
    now_s = now_day * DAY_S

    # --- customers ------------------------------------------------------------------------------
    ids = np.arange(1, n + 1)
    region_names = list(REGIONS)
    region_idx = rng.choice(len(region_names), n, p=[REGIONS[r][0] for r in region_names])
    region = np.array(region_names, dtype=object)[region_idx]
    city = np.array(
        [REGIONS[r][1][k % len(REGIONS[r][1])] for r, k in zip(region, rng.integers(0, 100, n))], dtype=object
    )
    b2b = rng.random(n) < 0.4
    kind = np.where(b2b, "B2B", "B2C").astype(object)
    industry = np.array(INDUSTRIES, dtype=object)[rng.integers(0, len(INDUSTRIES), n)]
    size_idx = rng.choice(4, n, p=[0.45, 0.3, 0.18, 0.07])
    company_size = np.where(b2b, np.array(COMPANY_SIZES, dtype=object)[size_idx], NONE)
    zh = rng.random(n) < 0.7
    name = np.where(
        b2b,
        np.where(
            zh,
            np.array(pools["zh_company"], dtype=object)[rng.integers(0, len(pools["zh_company"]), n)],
            np.array(pools["en_company"], dtype=object)[rng.integers(0, len(pools["en_company"]), n)],
        ),
        np.where(
            zh,
            np.array(pools["zh_person"], dtype=object)[rng.integers(0, len(pools["zh_person"]), n)],
            np.array(pools["en_person"], dtype=object)[rng.integers(0, len(pools["en_person"]), n)],
        ),
    )
    owner = manager_ids[rng.integers(0, len(manager_ids), n)]
    channel = np.array(m.ACQUISITION_CHANNELS, dtype=object)[rng.choice(6, n, p=[0.3, 0.2, 0.1, 0.15, 0.15, 0.1])]
    # first contact: two years before the window up to today, so there is an installed base at the start
    span = now_day - (window_start - 730)
    first_contact = window_start - 730 + (rng.random(n) ** 0.9 * span).astype(int)
    converts = rng.random(n) < 0.88
    became = np.where(converts, first_contact + 1 + rng.exponential(35, n).astype(int), -1)
    became = np.where(became >= now_day, -1, became)
    phone = np.where(
        zh,
        [f"1{p}{x:08d}" for p, x in zip(rng.choice([38, 39, 58, 86, 77], n), rng.integers(0, 10**8, n))],
        [f"+1-555-{x // 10000:03d}-{x % 10000:04d}" for x in rng.integers(0, 10**7, n)],
    )
    email = np.array(
        [f"c{i:07d}@{d}" for i, d in zip(ids, rng.choice(["qq.com", "163.com", "example.com", "mail.example.cn"], n))],
        dtype=object,
    )
    tag_a, tag_b = rng.integers(-4, len(TAGS), n), rng.integers(-8, len(TAGS), n)
    tags = np.array(
        [",".join(sorted({TAGS[a] for a in (x, y) if a >= 0})) or None for x, y in zip(tag_a, tag_b)], dtype=object
    )

    # hidden state
    mu = rng.normal(0, 0.7, n)
    health = mu + rng.normal(0, 0.5, n)
    base_rate = np.where(b2b, 0.86, 1.19) * rng.lognormal(0, 0.35, n)
    size_factor = np.where(b2b, np.array([1.0, 2.2, 5.0, 12.0])[size_idx], 1.0)
    base_amount = np.where(b2b, np.log(6000), np.log(450)) + np.log(size_factor) + rng.normal(0, 0.4, n)
    churn_day = np.full(n, -1)
    decline = np.zeros(n)  # monthly downward drift of a customer in a declining episode (0 when not)
    last_breach = np.full(n, -(10**6))

    orders_c, orders_lo, orders_hi, orders_first = [], [], [], []
    inter_c, inter_lo, inter_hi = [], [], []
    tix: dict[str, list[np.ndarray]] = {k: [] for k in ("c", "created", "complaint", "prio", "fr", "res", "agent")}
    nps_c, nps_day, nps_score = [], [], []
    prio_targets = {
        p: (targets_hours("service_request", p), targets_hours("complaint", p)) for p in m.TICKET_PRIORITIES
    }

    for t, month_start in enumerate(starts):
        lo_m = _ordinal(month_start)
        hi_m = _ordinal(starts[t + 1]) if t + 1 < len(starts) else now_day
        if hi_m <= lo_m:
            continue
        month_len = (_ordinal(starts[t + 1]) if t + 1 < len(starts) else lo_m + 31) - lo_m
        # declining episodes (a competitor, a budget cut, a bad experience) start rarely and may recover
        starting = (decline == 0) & (rng.random(n) < 0.025)
        decline[starting] = rng.uniform(0.2, 0.4, starting.sum())
        decline[(decline > 0) & (rng.random(n) < 0.08)] = 0
        health = 0.9 * health + 0.1 * mu + rng.normal(0, 0.22, n) - decline
        is_customer = (became >= 0) & (became < hi_m) & (churn_day < 0)
        # churn: hazard rises steeply as health falls; needs at least a month of tenure
        hazard = 1 / (1 + np.exp(5.1 + 1.8 * health))
        churning = is_customer & (became < lo_m) & (rng.random(n) < hazard)
        churn_day[churning] = lo_m + (rng.random(churning.sum()) * (hi_m - lo_m)).astype(int)
        lo = np.maximum(became, lo_m)
        hi = np.where(churn_day >= 0, np.minimum(churn_day, hi_m), hi_m)
        live = is_customer & (hi > lo)
        frac = np.where(live, (hi - lo) / month_len, 0.0)
        season = SEASON[month_start.month - 1]
        # orders: frequency follows health and season; the first order marks the became-customer date
        count = rng.poisson(base_rate * np.exp(0.6 * health) * season * frac)
        first_now = live & (became >= lo_m) & (became < hi_m)
        orders_first.append(ids[first_now] - 1)
        sel = count > 0
        orders_c.append(np.repeat(ids[sel] - 1, count[sel]))
        orders_lo.append(np.repeat(lo[sel], count[sel]))
        orders_hi.append(np.repeat(hi[sel], count[sel]))
        # interactions: customers and prospects in pre-sales
        prospect = (first_contact < hi_m) & ((became < 0) | (became >= hi_m)) & (first_contact >= lo_m - 120)
        i_count = rng.poisson(np.where(live, np.where(b2b, 1.15, 0.8) * frac, 0) + np.where(prospect, 0.6, 0))
        sel = i_count > 0
        i_lo = np.where(live, lo, np.maximum(first_contact, lo_m))
        inter_c.append(np.repeat(ids[sel] - 1, i_count[sel]))
        inter_lo.append(np.repeat(i_lo[sel], i_count[sel]))
        inter_hi.append(np.repeat(np.where(live, hi, hi_m)[sel], i_count[sel]))
        # tickets: low health means more tickets and more of them complaints
        t_count = rng.poisson(0.093 * np.exp(-0.55 * health) * frac)
        sel = t_count > 0
        c_idx = np.repeat(ids[sel] - 1, t_count[sel])
        k = len(c_idx)
        created = (
            np.repeat(lo[sel], t_count[sel]) + rng.random(k) * np.repeat(hi[sel] - lo[sel], t_count[sel])
        ) * DAY_S
        created = np.floor(created / 60) * 60
        complaint = rng.random(k) < np.clip(0.35 - 0.15 * health[c_idx], 0.1, 0.8)
        prio = rng.choice(4, k, p=[0.06, 0.22, 0.52, 0.20])
        agent = rng.integers(0, len(agent_ids), k)
        fr_target = np.array([[prio_targets[p][c][0] for c in (0, 1)] for p in m.TICKET_PRIORITIES])[
            prio, complaint.astype(int)
        ]
        res_target = np.array([[prio_targets[p][c][1] for c in (0, 1)] for p in m.TICKET_PRIORITIES])[
            prio, complaint.astype(int)
        ]
        fr_hours = fr_target * rng.lognormal(np.log(0.5), 0.6, k) * agent_speed[agent]
        res_hours = np.maximum(fr_hours + 0.5, res_target * rng.lognormal(np.log(0.42), 0.7, k) * agent_speed[agent])
        breached = (fr_hours > fr_target) | (res_hours > res_target)
        for key, arr in (
            ("c", c_idx),
            ("created", created),
            ("complaint", complaint),
            ("prio", prio),
            ("fr", fr_hours),
            ("res", res_hours),
            ("agent", agent),
        ):
            tix[key].append(arr)
        if breached.any():
            hurt = c_idx[breached]
            np.maximum.at(last_breach, hurt, (created[breached] // DAY_S).astype(int))
            health[hurt] -= 0.25  # a bad service experience damages the relationship
        # NPS: health plus a penalty when a ticket breached in the 60 days before the answer
        n_count = rng.poisson(0.13 * frac)
        sel = n_count > 0
        c_idx = np.repeat(ids[sel] - 1, n_count[sel])
        day = np.repeat(lo[sel], n_count[sel]) + (
            rng.random(len(c_idx)) * np.repeat(hi[sel] - lo[sel], n_count[sel])
        ).astype(int)
        recent_breach = (day - last_breach[c_idx] >= 0) & (day - last_breach[c_idx] <= 60)
        latent = 8.0 + 1.5 * health[c_idx] - 2.6 * recent_breach + rng.normal(0, 1.4, len(c_idx))
        nps_c.append(c_idx)
        nps_day.append(day)
        nps_score.append(np.clip(np.rint(latent), 0, 10).astype(int))

    status = np.where(became < 0, "prospect", np.where(churn_day >= 0, "churned", "active")).astype(object)
    customers = {
        "id": ids,
        "code": np.array([f"C{i:07d}" for i in ids], dtype=object),
        "name": name,
        "kind": kind,
        "industry": industry,
        "company_size": company_size,
        "region": region,
        "city": city,
        "owner_id": owner,
        "acquisition_channel": channel,
        "first_contact_date": _days(first_contact),
        "became_customer_date": np.where(became >= 0, _days(np.maximum(became, 0)), np.datetime64("NaT")),
        "status": status,
        "churned_date": np.where(churn_day >= 0, _days(np.maximum(churn_day, 0)), np.datetime64("NaT")),
        "phone": np.array(phone, dtype=object),
        "email": email,
        "tags": tags,  # plaintext: seed_demo encrypts
    }

    # --- orders -----------------------------------------------------------------------------------
    first = np.concatenate(orders_first)
    oc = np.concatenate(orders_c + [first])
    o_lo, o_hi = np.concatenate(orders_lo), np.concatenate(orders_hi)
    o_day = np.concatenate([o_lo + (rng.random(len(o_lo)) * (o_hi - o_lo)).astype(int), became[first]])
    order_sort = np.lexsort((oc, o_day))
    oc, o_day = oc[order_sort], o_day[order_sort]
    amount = np.round(np.exp(base_amount[oc] + rng.normal(0, 0.55, len(oc))), 2)
    rng.integers(0, 6, len(oc))  # the uniform categories drawn before _categories: every later draw stays as it was
    orders = {
        "customer_id": ids[oc],
        "order_date": _days(o_day),
        "amount": amount,
        "product_category": np.array(PRODUCT_CATEGORIES, dtype=object)[_categories(oc, o_day, seed)],
        "sales_channel": np.array(SALES_CHANNELS, dtype=object)[rng.choice(4, len(oc), p=[0.35, 0.35, 0.2, 0.1])],
    }

    # --- interactions -----------------------------------------------------------------------------
    ic = np.concatenate(inter_c)
    i_lo, i_hi = np.concatenate(inter_lo), np.concatenate(inter_hi)
    i_at = (i_lo + rng.random(len(ic)) * np.maximum(i_hi - i_lo, 1)) * DAY_S
    i_at = np.minimum(np.floor(i_at / 60) * 60, now_s - 60)
    i_channel_idx = rng.choice(7, len(ic), p=[0.3, 0.25, 0.15, 0.1, 0.08, 0.07, 0.05])
    i_channel = np.array(m.INTERACTION_CHANNELS, dtype=object)[i_channel_idx]
    service_channel = np.isin(i_channel_idx, [2, 5])
    interactions = {
        "customer_id": ids[ic],
        "user_id": np.where(service_channel, agent_ids[rng.integers(0, len(agent_ids), len(ic))], owner[ic]),
        "channel": i_channel,
        "direction": np.where(rng.random(len(ic)) < 0.55, "outbound", "inbound").astype(object),
        "occurred_at": _seconds(i_at),
        "subject": np.array([SUBJECTS[c] for c in m.INTERACTION_CHANNELS], dtype=object)[i_channel_idx],
        "notes": np.where(rng.random(len(ic)) < 0.3, "Discussed needs and next steps.", NONE),
        "outcome": np.array(OUTCOMES, dtype=object)[rng.choice(4, len(ic), p=[0.35, 0.4, 0.1, 0.15])],
        "duration_minutes": rng.integers(3, 90, len(ic)),
    }

    # --- tickets and their events -------------------------------------------------------------------
    tc = np.concatenate(tix["c"])
    k = len(tc)
    t_created = np.concatenate(tix["created"])
    t_complaint = np.concatenate(tix["complaint"])
    t_prio = np.concatenate(tix["prio"])
    fr_h, res_h = np.concatenate(tix["fr"]), np.concatenate(tix["res"])
    t_agent = agent_ids[np.concatenate(tix["agent"])]
    fr_target = np.array(
        [
            targets_hours("complaint" if c else "service_request", m.TICKET_PRIORITIES[p])[0]
            for c, p in zip(t_complaint, t_prio)
        ]
    )
    res_target = np.array(
        [
            targets_hours("complaint" if c else "service_request", m.TICKET_PRIORITIES[p])[1]
            for c, p in zip(t_complaint, t_prio)
        ]
    )
    t_kind = np.where(t_complaint, "complaint", np.where(rng.random(k) < 0.6, "service_request", "inquiry")).astype(
        object
    )
    fr_at = np.floor((t_created + fr_h * 3600) / 60) * 60
    analyse_at = fr_at + np.floor(rng.random(k) * np.maximum(res_h - fr_h, 0.1) * 0.4 * 3600 / 60) * 60
    res_at = np.floor((t_created + res_h * 3600) / 60) * 60
    breached = (fr_h > fr_target) | (res_h > res_target)
    gave_feedback = rng.random(k) < 0.62
    close_at = res_at + np.where(gave_feedback, rng.exponential(20, k), 72) * 3600
    close_at = np.floor(close_at / 60) * 60
    csat = np.clip(np.rint(4.2 + 0.35 * health[tc] - 1.3 * breached + rng.normal(0, 0.8, k)), 1, 5).astype(int)
    nan = np.nan
    fr_seen = np.where(fr_at < now_s, fr_at, nan)
    analyse_seen = np.where(analyse_at < now_s, analyse_at, nan)
    res_seen = np.where(res_at < now_s, res_at, nan)
    close_seen = np.where(close_at < now_s, close_at, nan)
    t_status = np.select(
        [~np.isnan(close_seen), ~np.isnan(res_seen), ~np.isnan(analyse_seen), ~np.isnan(fr_seen)],
        ["closed", "resolved", "analysing", "accepted"],
        "new",
    ).astype(object)
    feedback = gave_feedback & ~np.isnan(close_seen)
    ticket_ids = np.arange(1, k + 1)
    tickets = {
        "id": ticket_ids,
        "customer_id": ids[tc],
        "kind": t_kind,
        "category": np.array(TICKET_CATEGORIES, dtype=object)[rng.choice(6, k, p=[0.25, 0.2, 0.15, 0.1, 0.2, 0.1])],
        "priority": np.array(m.TICKET_PRIORITIES, dtype=object)[t_prio],
        "channel": np.array(TICKET_CHANNELS, dtype=object)[rng.choice(5, k, p=[0.35, 0.25, 0.2, 0.1, 0.1])],
        "status": t_status,
        "created_at": _seconds(t_created),
        "first_response_at": _seconds(fr_seen),
        "resolved_at": _seconds(res_seen),
        "closed_at": _seconds(close_seen),
        "first_response_due": _seconds(t_created + fr_target * 3600),
        "resolution_due": _seconds(t_created + res_target * 3600),
        "assignee_id": t_agent,
        "csat": np.where(feedback, csat, NONE).astype(object),
        "feedback_at": _seconds(np.where(feedback, close_seen, nan)),
        "description": _complaint_texts(t_complaint, health[tc] - 1.3 * breached, seed),
        "resolution": np.where(~np.isnan(res_seen), "Resolved and confirmed with the customer.", NONE),
        "reopened": np.zeros(k, dtype=int),
        "version": np.zeros(k, dtype=int),
        "team": np.full(k, "Service", dtype=object),  # the demo agents' team
    }
    steps = [
        (t_created, None, "new", None),
        (fr_seen, "new", "accepted", t_agent),
        (analyse_seen, "accepted", "analysing", t_agent),
        (res_seen, "analysing", "resolved", t_agent),
        (close_seen, "resolved", "closed", t_agent),
    ]
    ev_ticket, ev_at, ev_from, ev_to, ev_user = [], [], [], [], []
    for at, before, after, user in steps:
        ok = ~np.isnan(at)
        ev_ticket.append(ticket_ids[ok])
        ev_at.append(at[ok])
        ev_from.append(np.full(ok.sum(), before, dtype=object))
        ev_to.append(np.full(ok.sum(), after, dtype=object))
        ev_user.append(user[ok] if user is not None else np.full(ok.sum(), None, dtype=object))
    ticket_events = {
        "ticket_id": np.concatenate(ev_ticket),
        "at": _seconds(np.concatenate(ev_at)),
        "user_id": np.concatenate(ev_user).astype(object),
        "from_status": np.concatenate(ev_from),
        "to_status": np.concatenate(ev_to),
        "note": np.full(sum(len(x) for x in ev_ticket), None, dtype=object),
    }
    ticket_events["action"] = np.array([STATUS_ACTIONS[s_] for s_ in ticket_events["to_status"]], dtype=object)
    with_feedback = np.isin(ticket_events["ticket_id"], ticket_ids[feedback]) & (ticket_events["to_status"] == "closed")
    ticket_events["action"][with_feedback] = "feedback"
    _pauses_and_reopens(tickets, ticket_events, analyse_seen, res_at, close_seen, t_agent, now_s)

    # --- NPS ----------------------------------------------------------------------------------------
    nc, n_day, score = np.concatenate(nps_c), np.concatenate(nps_day), np.concatenate(nps_score)
    category = np.where(score >= 9, "promoter", np.where(score >= 7, "passive", "detractor"))
    comment = np.array(
        [COMMENTS[c][j % len(COMMENTS[c])] for c, j in zip(category, rng.integers(0, 1000, len(nc)))], dtype=object
    )
    comment[rng.random(len(nc)) < 0.45] = None
    nps = {
        "customer_id": ids[nc],
        "score": score,
        "comment": comment,
        "responded_at": _seconds(n_day * DAY_S + rng.integers(8 * 3600, 21 * 3600, len(nc))),
        "touchpoint": np.array(NPS_TOUCHPOINTS, dtype=object)[rng.choice(4, len(nc), p=[0.4, 0.25, 0.25, 0.1])],
    }

    # --- leads: one per account (converted when it became a customer) plus leads that never did ---
    extra = int(round(n * 1.9))
    lead_created_day = np.concatenate(
        [np.minimum(first_contact, now_day - 1), window_start - 730 + (rng.random(extra) * span).astype(int)]
    )
    lead_created = lead_created_day * DAY_S + rng.integers(8 * 3600, 19 * 3600, n + extra)
    disq_day = lead_created_day[n:] + 1 + rng.exponential(25, extra).astype(int)
    disqualified = (rng.random(extra) < 0.62) & (disq_day < now_day)
    converted = became >= 0
    lead_status = np.concatenate(
        [
            np.where(converted, "converted", "qualified"),
            np.where(disqualified, "disqualified", np.where(rng.random(extra) < 0.5, "new", "qualified")),
        ]
    ).astype(object)
    x_region = np.array(region_names, dtype=object)[
        rng.choice(len(region_names), extra, p=[REGIONS[r][0] for r in region_names])
    ]
    leads = {
        "company_name": np.concatenate(
            [
                name,
                np.array(pools["zh_company"] + pools["en_company"], dtype=object)[
                    rng.integers(0, len(pools["zh_company"]) + len(pools["en_company"]), extra)
                ],
            ]
        ),
        "source_channel": np.concatenate(
            [channel, np.array(m.ACQUISITION_CHANNELS, dtype=object)[rng.integers(0, 6, extra)]]
        ),
        "created_at": _seconds(lead_created),
        "status": lead_status,
        "kind": np.concatenate([kind, np.where(rng.random(extra) < 0.4, "B2B", "B2C").astype(object)]),
        "industry": np.concatenate(
            [industry, np.array(INDUSTRIES, dtype=object)[rng.integers(0, len(INDUSTRIES), extra)]]
        ),
        "region": np.concatenate([region, x_region]),
        "owner_id": np.concatenate([owner, manager_ids[rng.integers(0, len(manager_ids), extra)]]),
        "converted_customer_id": np.concatenate([np.where(converted, ids, NONE), np.full(extra, NONE)]).astype(object),
        "converted_at": _seconds(
            np.concatenate([np.where(converted, np.maximum(became, 0) * DAY_S + 10 * 3600, nan), np.full(extra, nan)])
        ),
        "disqualified_at": _seconds(
            np.concatenate([np.full(n, nan), np.where(disqualified, disq_day * DAY_S + 11 * 3600, nan)])
        ),
    }
    _lead_work(
        np.random.default_rng(seed + 29),
        leads,
        n=n,
        converted_at=np.concatenate(
            [np.where(converted, np.maximum(became, 0) * DAY_S + 10 * 3600, nan), np.full(extra, nan)]
        ),
        now_s=now_s,
        phone=np.asarray(phone, dtype=object),
        email=email,
        people=pools["zh_person"] + pools["en_person"],
    )
    users: dict[str, Any] = {
        key: [u[key] for u in staff] for key in ("id", "username", "display_name", "email", "role", "team")
    }
    users["active"] = [True] * len(staff)
    users["created_at"] = _seconds(np.full(len(staff), float(window_start * DAY_S)))
    return {
        "users": users,
        "customers": customers,
        "leads": leads,
        "orders": orders,
        "interactions": interactions,
        "tickets": tickets,
        "ticket_events": ticket_events,
        "nps_responses": nps,
    }


SCREENED_SHARE = 0.65  # of the demo's invalid leads, the share its rules caught as they came in
SCREENED_REASONS = {"missing_contact": 0.3, "duplicate": 0.35, "test_data": 0.15, "blocked_domain": 0.2}
HAND_REASONS = {"not_interested": 0.4, "no_budget": 0.25, "unreachable": 0.25, "other": 0.1}
LEAD_MAIL = ("qq.com", "163.com", "126.com", "foxmail.com", "example.cn")


def _lead_work(
    rng: np.random.Generator,
    leads: dict[str, Any],
    *,
    n: int,
    converted_at: np.ndarray,
    now_s: int,
    phone: np.ndarray,
    email: np.ndarray,
    people: list[str],
) -> None:
    """What the sales team did with the leads (in place): when each was contacted and qualified, its contact
    details (an account's lead has the customer's), why an invalid one is invalid and whether the rules caught
    it as it came in (no contact at all, a phone already a customer's, test data, a throw-away mail domain).
    The first `n` leads are the accounts'; of the open leads that never converted, some are only contacted."""
    status, created = leads["status"].copy(), leads["created_at"].astype("int64").astype("float64")
    total, extra = len(status), len(status) - n
    open_extra = np.arange(total) >= n
    status[open_extra & (status == "qualified") & (rng.random(total) < 0.45)] = "contacted"
    latest, nan = float(now_s - 3600), np.nan
    # converted accounts: contacted and qualified between creation and conversion; the rest after creation
    spell = np.where(np.isnan(converted_at), 0.0, converted_at - created)
    converted = status == "converted"
    contacted = np.where(
        converted, created + spell * rng.uniform(0.05, 0.3, total), created + rng.exponential(2.0, total) * DAY_S
    )
    qualified = np.where(
        converted, created + spell * rng.uniform(0.4, 0.85, total), contacted + rng.exponential(5.0, total) * DAY_S
    )
    contacted = np.where(np.isin(status, ("contacted", "qualified", "converted")), np.minimum(contacted, latest), nan)
    qualified = np.where(np.isin(status, ("qualified", "converted")), np.minimum(qualified, latest), nan)
    # the leads' own contact details: an account's are the customer's; a prospect's a mobile and a mail box
    lead_phone = np.concatenate([phone, np.array([f"19{x:09d}" for x in rng.integers(0, 10**9, extra)], dtype=object)])
    lead_email = np.concatenate(
        [email, np.array([f"lead{i:07d}@{d}" for i, d in enumerate(rng.choice(LEAD_MAIL, extra))], dtype=object)]
    )
    no_phone, no_email = open_extra & (rng.random(total) < 0.2), open_extra & (rng.random(total) < 0.4)
    lead_phone[no_phone & ~no_email] = None
    lead_email[no_email] = None
    # why the invalid ones are invalid: most caught by the rules at once, the rest judged by a person
    invalid = status == "disqualified"
    caught = invalid & (rng.random(total) < SCREENED_SHARE)
    reason = np.full(total, None, dtype=object)
    reason[caught] = rng.choice(list(SCREENED_REASONS), int(caught.sum()), p=list(SCREENED_REASONS.values()))
    by_hand = invalid & ~caught
    reason[by_hand] = rng.choice(list(HAND_REASONS), int(by_hand.sum()), p=list(HAND_REASONS.values()))
    company, duplicate_of = leads["company_name"].copy(), np.full(total, None, dtype=object)
    hit = np.flatnonzero(reason == "missing_contact")
    lead_phone[hit], lead_email[hit] = None, None
    hit = np.flatnonzero(reason == "duplicate")  # a customer's phone came in again, after that customer's lead
    order = np.argsort(created[:n], kind="stable")
    earlier = np.searchsorted(created[:n][order], created[hit])
    customer = order[np.minimum((rng.random(len(hit)) * np.maximum(earlier, 1)).astype(int), n - 1)]
    lead_phone[hit], duplicate_of[hit] = phone[customer], customer + 1
    hit = np.flatnonzero(reason == "test_data")
    company[hit] = [("测试公司" if k % 2 else "Test Co ") + str(k) for k in range(len(hit))]
    hit = np.flatnonzero(reason == "blocked_domain")
    lead_email[hit] = [f"sales{k}@mailinator.com" for k in range(len(hit))]
    talked = by_hand & np.isin(reason, ("not_interested", "no_budget"))  # contacted, then turned down
    contacted[talked] = np.minimum(created + rng.uniform(0.1, 3.0, total) * DAY_S, latest)[talked]
    disqualified_at = leads["disqualified_at"].copy()
    disqualified_at[caught] = leads["created_at"][caught]
    leads.update(
        status=status,
        company_name=company,
        contact_name=np.array(people, dtype=object)[rng.integers(0, len(people), total)],
        contacted_at=_seconds(contacted),
        qualified_at=_seconds(qualified),
        phone=lead_phone,
        email=lead_email,
        email_domain=np.array([e.rsplit("@", 1)[1].casefold() if e else None for e in lead_email], dtype=object),
        invalid_reason=reason,
        screened=caught,
        duplicate_of_customer_id=duplicate_of,
        disqualified_at=disqualified_at,
    )


ANGRY_COMPLAINTS = (
    "Second time this happened. I want a refund or I will report it to 12315.",
    "第二次出问题了，要求退款，否则投诉到12315。",
    "Unacceptable service, I want to speak to a manager.",
    "多次反映都没人处理，太失望了，要找领导。",
)


def _complaint_texts(complaint: np.ndarray, mood: np.ndarray, seed: int) -> np.ndarray:
    """What each complaint says: an unhappy customer (low health, a breach) more often writes in anger, in either
    language (core.service_escalation looks for such words). Its own random stream: the other draws stay put."""
    rng = np.random.default_rng([seed, 13])
    angry = complaint & (rng.random(len(complaint)) < np.clip(0.12 - 0.08 * mood, 0.02, 0.4))
    texts = np.where(complaint, "Customer reports a problem and asks for a fix.", "Customer request.").astype(object)
    texts[angry] = np.array(ANGRY_COMPLAINTS, dtype=object)[rng.integers(0, len(ANGRY_COMPLAINTS), int(angry.sum()))]
    return texts


def _pauses_and_reopens(
    tickets: dict[str, Any],
    events: dict[str, Any],
    analyse_seen: np.ndarray,
    res_at: np.ndarray,
    close_seen: np.ndarray,
    agent: np.ndarray,
    now_s: float,
) -> None:
    """Give the service desk's history what real desks have: a fifth of analysed tickets wait on the
    customer for a while before resolution, and 4% of closed tickets are re-opened, resolved and closed
    again. A separate generator keeps every other generated figure as it was."""
    rng = np.random.default_rng([len(res_at), 6])
    k = len(res_at)
    ids = np.asarray(tickets["id"])
    minute = lambda a: np.floor(a / 60) * 60  # noqa: E731
    waits = ~np.isnan(analyse_seen) & (rng.random(k) < 0.2)
    wait_at = minute(analyse_seen + 0.3 * np.maximum(res_at - analyse_seen, 120))
    reply_at = minute(np.minimum(wait_at + rng.exponential(8, k) * 3600, res_at - 60))
    waits &= (reply_at > wait_at) & (wait_at < now_s)
    reply_seen = waits & (reply_at < now_s)
    reopens = ~np.isnan(close_seen) & (rng.random(k) < 0.04)
    reopen_at = minute(close_seen + rng.exponential(24, k) * 3600)
    reresolve_at = minute(reopen_at + rng.exponential(10, k) * 3600 + 600)
    reclose_at = minute(reresolve_at + rng.exponential(20, k) * 3600 + 600)
    reopens &= reopen_at < now_s
    new = [
        (waits, wait_at, "analysing", "waiting", "wait"),
        (reply_seen, reply_at, "waiting", "analysing", "customer_reply"),
        (reopens, reopen_at, "closed", "accepted", "reopen"),
        (reopens & (reresolve_at < now_s), reresolve_at, "accepted", "resolved", "resolve"),
        (reopens & (reclose_at < now_s), reclose_at, "resolved", "closed", "close"),
    ]
    for mask, at, before, after, action in new:
        n = int(mask.sum())
        for key, values in (
            ("ticket_id", ids[mask]),
            ("at", _seconds(at[mask])),
            ("user_id", agent[mask].astype(object)),
            ("from_status", np.full(n, before, dtype=object)),
            ("to_status", np.full(n, after, dtype=object)),
            ("note", np.full(n, None, dtype=object)),
            ("action", np.full(n, action, dtype=object)),
        ):
            events[key] = np.concatenate([events[key], values])
    status = np.asarray(tickets["status"], dtype=object)
    status[waits & ~reply_seen & (status == "analysing")] = "waiting"
    resolved_again, closed_again = reopens & (reresolve_at < now_s), reopens & (reclose_at < now_s)
    status[reopens] = np.where(closed_again, "closed", np.where(resolved_again, "resolved", "accepted"))[reopens]
    tickets["status"] = status
    tickets["resolved_at"] = np.where(
        reopens, _seconds(np.where(resolved_again, reresolve_at, np.nan)), tickets["resolved_at"]
    )
    tickets["closed_at"] = np.where(reopens, _seconds(np.where(closed_again, reclose_at, np.nan)), tickets["closed_at"])
    tickets["reopened"] = reopens.astype(int)


def _survey_history(session: Session, now: datetime, keyring: Keyring) -> int:
    """Last quarter's relationship survey: an NPS run over a tenth of the active customers, started 45 days ago
    for 30 days; about a third answered, each an NPS answer linked to the run as the page's form would write it
    (the closed loop's call-backs for its detractors follow). Returns the answers."""
    from core import facts, surveys
    from core.access import SYSTEM
    from core.customer_list import CustomerQuery, matching_ids
    from core.segmentation import LIFECYCLE_STAGES

    start = now - timedelta(days=45)
    active = CustomerQuery(stages=tuple(s for s in LIFECYCLE_STAGES if s not in ("prospect", "churned")))
    asked = len(matching_ids(session, SYSTEM, active, keyring, now=now)) // 10
    if not asked:
        return 0
    plan = surveys.SurveyPlan(
        "Quarterly relationship survey", "nps", active, (start + timedelta(days=30)).date(), asked
    )
    run = surveys.create_run(session, SYSTEM, plan, keyring, now=start)
    N, A, S = m.table(m.NpsResponse), m.table(m.SurveyRecipient), m.table(m.CustomerStat)
    latest = dict(
        session.execute(
            select(S.c.customer_id, S.c.latest_nps_score).where(
                S.c.customer_id.in_(select(A.c.customer_id).where(A.c.run_id == run))
            )
        ).all()
    )
    draw = random.Random(run)  # about a third answer, close to what they said last time
    answered = []
    for customer_id in sorted(latest):
        if draw.random() >= 0.35:
            continue
        score = min(
            10, max(0, int(latest[customer_id] if latest[customer_id] is not None else 8) + draw.choice((-1, 0, 0, 1)))
        )
        at = (start + timedelta(minutes=draw.randrange(60, 28 * 24 * 60))).replace(second=0, microsecond=0)
        response = new_id(
            session,
            N.insert().values(customer_id=customer_id, score=score, responded_at=at, touchpoint=surveys.TOUCHPOINT),
        )
        session.execute(
            A.update()
            .where(A.c.run_id == run, A.c.customer_id == customer_id)
            .values(answered_at=at, score=score, nps_response_id=response)
        )
        answered.append(customer_id)
    facts.customer_changed(session, answered)  # their list rows; the period facts are rebuilt once by the caller
    return len(answered)


def _loyalty(session, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """A programme running for two years: a quarter of the active customers joined at some point of their
    history, their orders since and their survey answers earned points, some redeemed half of what they held a
    few months ago, and what expired by today is taken out."""
    from core import loyalty

    P, MB, L = m.table(m.LoyaltyProgramme), m.table(m.LoyaltyMember), m.table(m.LoyaltyEntry)
    C, N = m.table(m.Customer), m.table(m.NpsResponse)
    start = now - timedelta(days=730)
    values = loyalty.programme_values(loyalty.DEFAULT)
    session.execute(P.insert().values(**values, version=1, valid_from=start, valid_to=None))
    rows = db.tuples(
        session.execute(
            select(C.c.id, C.c.became_customer_date).where(C.c.status == "active", C.c.id % 4 == 0).order_by(C.c.id)
        )
    )
    members: dict[str, list[object]] = {"customer_id": [], "joined_at": [], "joined_on": []}
    for customer_id, since in rows:
        first = max(datetime.combine(since, datetime.min.time()), start)
        span = max(1, (now - timedelta(days=30) - first).days)
        joined = (first + timedelta(days=(customer_id * 37) % span, hours=10)).replace(microsecond=0)
        members["customer_id"].append(customer_id)
        members["joined_at"].append(joined)
        members["joined_on"].append(joined.date())
    if not members["customer_id"]:
        return
    bulk_insert(session.connection(), MB, members)
    loyalty.earn_from_orders(session, now=now)
    programme = loyalty.current(session)
    answers = db.tuples(
        session.execute(
            select(N.c.id, N.c.customer_id, N.c.responded_at)
            .join(MB, MB.c.customer_id == N.c.customer_id)
            .where(N.c.responded_at >= MB.c.joined_at)
        )
    )
    points = programme.action_points["survey"] if programme else 0
    days = round((programme.expiry_months or 0) * 30.4375) if programme else 0
    bulk_insert(
        session.connection(),
        L,
        {
            "customer_id": [c for _, c, _ in answers],
            "at": [at for _, _, at in answers],
            "kind": ["earn"] * len(answers),
            "points": [points] * len(answers),
            "source": ["survey"] * len(answers),
            "reference": [f"nps:{i}" for i, _, _ in answers],
            "expires_at": [at + timedelta(days=days) if days else None for _, _, at in answers],
            "programme_version": [1] * len(answers),
        },
    )
    held = db.tuples(session.execute(select(L.c.customer_id, func.sum(L.c.points)).group_by(L.c.customer_id)))
    spent = [(c, int(p) // 2) for c, p in held if p and int(p) >= 2000 and c % 8 == 0]
    bulk_insert(
        session.connection(),
        L,
        {
            "customer_id": [c for c, _ in spent],
            "at": [(now - timedelta(days=20 + c % 150)).replace(microsecond=0) for c, _ in spent],
            "kind": ["redeem"] * len(spent),
            "points": [-p for _, p in spent],
            "source": ["redemption"] * len(spent),
            "reason": ["兑换代金券"] * len(spent),  # what the demo's staff typed
            "programme_version": [1] * len(spent),
        },
    )
    loyalty.expire(session, now=now)


def _targets(session, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Seed 003's targets owned by the executive and the team lead, plus a monthly revenue target for the whole
    base and the east region, an NPS target and a team's first-response target: every status has examples."""
    from core import targets
    from core.access import Viewer

    U = m.table(m.User)
    owners = dict(session.execute(select(U.c.username, U.c.id)).all())
    targets.ensure_defaults(session, now=now)
    service_kpis = ("complaint_resolution", "first_response_time", "csat")
    K = m.table(m.KpiTarget)
    for kpi in (
        "complaint_resolution",
        "data_completeness",
        "first_response_time",
        "repurchase_rate",
        "csat",
        "lifetime_value",
    ):
        owner = owners.get("lead" if kpi in service_kpis else "executive")
        session.execute(K.update().where(K.c.kpi == kpi).values(owner_id=owner))
    since = targets.last_half_year(now.date())[1] + timedelta(days=1)
    month = targets.latest_month(now.date())
    revenue = session.scalar(
        select(func.sum(m.table(m.PeriodFact).c.revenue)).where(
            m.table(m.PeriodFact).c.grain == "M", m.table(m.PeriodFact).c.period_start == month.start
        )
    )
    extra = [
        targets.TargetChange("nps", "absolute", 30.0, since, owner_id=owners.get("executive")),
        targets.TargetChange("first_response_sla", "absolute", 0.9, since, team="Service", owner_id=owners.get("lead")),
    ]
    if revenue:  # a round 5 % above last month's revenue, per month; the east region's share of it
        extra.append(
            targets.TargetChange(
                "revenue",
                "absolute",
                float(round(float(revenue) * 1.05, -3)),
                since,
                grain="M",
                owner_id=owners.get("executive"),
            )
        )
        extra.append(
            targets.TargetChange(
                "revenue",
                "absolute",
                float(round(float(revenue) * 0.25, -3)),
                since,
                grain="M",
                region="east",
                owner_id=owners.get("executive"),
            )
        )
    admin = Viewer(owners.get("admin"), "admin", "Administrator", "admin")
    for change in extra:
        targets.create_target(session, admin, change, now=now)
    targets.refresh_baselines(session, now=now)


def _closed_loop_history(session, now: datetime) -> int:  # type: ignore[no-untyped-def]
    """The call-back tasks the closed loop would have created for past detractors (NPS 0-6) and CSAT 1-2,
    nearly all of the older ones done, most within the two days they are given."""
    N, T, C = m.table(m.NpsResponse), m.table(m.Ticket), m.table(m.Customer)
    rows = [
        (r.customer_id, r.owner_id, r.at, f"NPS {r.score}: call back", None, "detractor")
        for r in session.execute(
            select(N.c.customer_id, C.c.owner_id, N.c.responded_at.label("at"), N.c.score)
            .select_from(N.join(C, C.c.id == N.c.customer_id))
            .where(N.c.score <= 6)
        )
    ]
    rows += [
        (r.customer_id, r.owner_id, r.at, f"CSAT {r.csat} on ticket #{r.id}", r.id, "low_csat")
        for r in session.execute(
            select(T.c.id, T.c.customer_id, C.c.owner_id, T.c.feedback_at.label("at"), T.c.csat)
            .select_from(T.join(C, C.c.id == T.c.customer_id))
            .where(T.c.csat <= 2, T.c.feedback_at.is_not(None))
        )
    ]
    if not rows:
        return 0
    rng = np.random.default_rng([len(rows), 7])
    # a working team: almost every call-back older than two weeks is done, recent ones are partly still open,
    # and most are done within the two days they are given (a few go overdue)
    age_days = np.array([(now - r[2]).total_seconds() / 86400 for r in rows])
    done = rng.random(len(rows)) < np.select([age_days > 14, age_days > 2], [0.99, 0.85], 0.3)
    delay_h = rng.gamma(1.2, 20, len(rows))
    columns = {
        "customer_id": [r[0] for r in rows],
        "owner_id": [r[1] for r in rows],
        "title": [r[3] for r in rows],
        "due_date": np.array(
            [(r[2] + timedelta(days=service.FOLLOW_UP_DAYS)).date() for r in rows], dtype="datetime64[D]"
        ),
        "created_at": np.array([r[2] for r in rows], dtype="datetime64[s]"),
        "ticket_id": [r[4] for r in rows],
        "source": [r[5] for r in rows],
    }
    done_at = np.array([r[2] + timedelta(hours=float(h)) for r, h in zip(rows, delay_h)], dtype="datetime64[s]")
    columns["done_at"] = np.where(done & (done_at < np.datetime64(now, "s")), done_at, np.datetime64("NaT"))
    return bulk_insert(session.connection(), m.table(m.Task), columns)


RAW_TABLES = [m.User, m.Customer, m.Lead, m.Order, m.Interaction, m.Ticket, m.TicketEvent, m.NpsResponse]


def _demo_passwords(usernames: list[str], password: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(password, bcrypt hash) per demo user: the given one for all (hashed once), else a random one each."""
    from core.security import hash_password, validate_password

    if password is not None:
        validate_password(password)
        hashed = hash_password(password)
        return dict.fromkeys(usernames, password), dict.fromkeys(usernames, hashed)
    plain = {u: f"{secrets.token_urlsafe(9)}{secrets.randbelow(10)}" for u in usernames}
    return plain, {u: hash_password(p) for u, p in plain.items()}


def protect_contacts(customers: dict[str, object], keyring: Keyring) -> None:
    """Replace plaintext phone/email columns by their encrypted form and search hashes (in place)."""
    for kind in ("phone", "email"):
        plain = list(customers.pop(kind))  # type: ignore[call-overload]
        customers[f"{kind}_enc"] = [encrypt(v, keyring) for v in plain]
        customers[f"{kind}_hash"] = [search_hash(kind, v, keyring) for v in plain]


CAMPAIGN_UPLIFT = 0.5  # the share of contacted members the demo's campaign brings one more order


def _campaign(session, today: date, seed: int) -> None:  # type: ignore[no-untyped-def]
    """A win-back phone campaign two to four months ago over the active customers who bought in the year before
    it but not in its last 60 days, 20 % held out as its control group; half of the contacted members placed
    one more order during it (what the campaign did), so its results show a real effect with its interval."""
    from core import campaigns

    O, C = m.table(m.Order), m.table(m.Customer)
    starts, ends = today - timedelta(days=120), today - timedelta(days=60)
    last = func.max(O.c.order_date)
    quiet = (  # bought in the year before, but not in its last 90 days: the ones to win back
        select(O.c.customer_id)
        .join(C, C.c.id == O.c.customer_id)
        .where(O.c.order_date >= starts - timedelta(days=365), O.c.order_date < starts, C.c.status == "active")
        .group_by(O.c.customer_id)
        .having(last < starts - timedelta(days=60))
    )
    members = sorted(int(i) for i in session.scalars(quiet))
    if len(members) < campaigns.MIN_MEMBERS:
        return
    plan = campaigns.CampaignPlan("2026 沉睡客户电话唤醒", "phone", starts, ends, 60_000.0, 20)
    _, control = campaigns.insert(
        session,
        plan,
        plan.name,
        members,
        segment={"quiet_days": 60},
        by="admin",
        now=datetime.combine(starts - timedelta(days=7), datetime.min.time()),
    )
    rng = np.random.default_rng(seed + 17)
    contacted = [c for c in members if c not in control]
    lucky = [c for c, u in zip(contacted, rng.random(len(contacted))) if u < CAMPAIGN_UPLIFT]
    days = rng.integers(0, (ends - starts).days + 1, len(lucky))
    amounts = np.round(np.exp(rng.normal(8.8, 0.5, len(lucky))), 2)
    if not lucky:
        return
    session.execute(
        O.insert(),
        [
            {
                "customer_id": c,
                "order_date": starts + timedelta(days=int(d)),
                "amount": float(a),
                "product_category": "services",
                "sales_channel": "direct",
            }
            for c, d, a in zip(lucky, days, amounts)
        ],
    )


def _trade_fair(session, today: date) -> None:  # type: ignore[no-untyped-def]
    """A spring trade fair seven to eight months ago: the active east-region customers were invited (20 % held out,
    and the fair did not change what they bought), and the trade-show leads of its weeks came from it, so the
    funnel by campaign has a campaign's leads and its cost per lead."""
    from core import campaigns

    C, L = m.table(m.Customer), m.table(m.Lead)
    starts, ends = today - timedelta(days=240), today - timedelta(days=212)
    invited = sorted(
        int(i) for i in session.scalars(select(C.c.id).where(C.c.status == "active", C.c.region == "east"))
    )
    plan = campaigns.CampaignPlan("春季行业展会", "event", starts, ends, 150_000.0, 20)
    fair, _ = campaigns.insert(
        session,
        plan,
        plan.name,
        invited,
        segment={"regions": ["east"]},
        by="admin",
        now=datetime.combine(starts - timedelta(days=14), datetime.min.time()),
    )
    window = (L.c.created_at >= datetime.combine(starts, datetime.min.time())) & (
        L.c.created_at < datetime.combine(ends + timedelta(days=1), datetime.min.time())
    )
    session.execute(L.update().where(window, L.c.source_channel == "trade_show").values(campaign_id=fair))


RULES_SINCE_DAYS = 120  # the demo's first rules were written this long ago; their firings since are replayed


def _rules(session, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """A few rules an administrator would write (in their own words: Chinese, shown as typed), three of them
    four months old with their firings replayed from the history by the same matcher the dry run uses (their
    actions' effects are not replayed), then one scheduled run as the app would make it: fire counts and
    outcomes have something true to show."""
    from core import rules
    from core.access import Viewer

    R = m.table(m.AutomationRule)
    session.execute(delete(R).where(R.c.shipped.is_(None)))
    admin = Viewer(None, "admin", "Administrator", "admin")
    since = (now - timedelta(days=RULES_SINCE_DAYS)).replace(microsecond=0)
    amounts = session.scalars(select(m.table(m.Order).c.amount).order_by(m.table(m.Order).c.amount.desc()).limit(50))
    big = float(round(min(list(amounts) or [100_000.0]), -3))  # about the 50 largest orders ever
    old = [
        rules.RuleChange(
            "高价值客户的紧急投诉：分给未结工单最少的客服，打标签，通知客户经理",
            "ticket_created",
            conditions={"tier": ["high_value"], "ticket_kind": ["complaint"], "priority": ["urgent", "high"]},
            actions=(
                {"type": "assign", "mode": "least_open", "team": "Service"},
                {"type": "tag", "tag": "重点投诉"},
                {"type": "notify", "to": ["owner"], "title": "高价值客户紧急投诉"},
            ),
        ),
        rules.RuleChange(
            "高价值客户 60 天未联系：5 天内回访",
            "no_contact",
            threshold=60,
            conditions={"tier": ["high_value"]},
            actions=({"type": "task", "to": ["owner"], "due_days": 5, "title": "回访：60 天未联系"},),
        ),
        rules.RuleChange(
            "大额订单：通知客户经理",
            "order_above",
            threshold=big,
            actions=({"type": "notify", "to": ["owner"], "title": "收到大额订单"},),
        ),
    ]
    new = [
        rules.RuleChange(
            "高价值与潜力客户流失风险高：3 天内挽留回访",
            "churn_risk",
            threshold=0.6,
            conditions={"tier": ["high_value", "potential"]},
            actions=({"type": "task", "to": ["owner"], "due_days": 3, "title": "挽留回访：流失风险高"},),
        ),
        rules.RuleChange(
            "导入完成：通知管理员",
            "import_finished",
            actions=({"type": "notify", "to": ["admins"], "title": "导入已完成"},),
        ),
    ]
    F = m.table(m.RuleFiring)
    for change in old:
        number = rules.create_rule(session, admin, change, now=since)
        rule = rules.get(session, number)
        _, hits = rules._replayed(session, rule.trigger, rule.threshold, rule.conditions, start=since, end=now)
        hits = hits.drop_duplicates(["object_id", "episode"])
        kind = rules.TRIGGERS[rule.trigger].object_kind
        rows = [
            {
                "rule_id": rule.id,
                "number": number,
                "version": 1,
                "object_kind": kind,
                "object_id": int(h.object_id),
                "episode": str(h.episode)[:40],
                "customer_id": int(h.customer_id),
                "at": pd.Timestamp(h.at).to_pydatetime().replace(microsecond=0),
                "done": '[{"demo": "replayed history"}]',
            }
            for h in hits.itertuples()
        ]
        if rows:
            session.execute(F.insert(), rows)
    for change in new:
        rules.create_rule(session, admin, change, now=now)
    rules.run(session, now=now)


def _churn_model(engine: Engine, today: date) -> int | None:
    """The demo's churn model, trained and scored as `train-churn` and `score-churn` would: the cockpit and the
    early-warning page read its scores. None when the demo is too small to learn from (the cockpit then uses
    the written rule)."""
    from core import churn

    with session_scope(engine) as session:
        ever = session.scalar(select(func.count()).where(m.Customer.became_customer_date.is_not(None))) or 0
        if ever < churn.MIN_CUSTOMERS:  # refused anyway: spare the training set
            return None
        try:
            trained = churn.train(churn.training_set(session, today))
        except ValidationError:
            return None
        version = churn.save(session, trained, horizon=churn.HORIZON_DAYS, username="demo")
    with session_scope(engine) as session:
        _retention_history(session, today)
        churn.score(session, as_of=today)
    return version


def _retention_history(session: Session, today: date, *, days: int = 120, share: float = 0.6) -> None:
    """Four months of retention work before today, so the page has an effect to measure: the model's warnings
    of then (with their holdout draw), an action on about 60 % of the warned customers open to actions, most
    of them done with an outcome. The demo's churn was generated without regard to these actions, so the
    page shows an effect near zero with its interval: measured, not assumed."""
    from core import churn
    from core.access import SYSTEM
    from core.churn import retention

    past = today - timedelta(days=days)
    churn.score(session, as_of=past)  # enrols the customers warned then
    rng = random.Random(past.toordinal())
    RC, CS = m.table(m.RetentionCohort), m.table(m.ChurnScore)
    warned = session.execute(
        select(RC.c.customer_id, CS.c.drivers)
        .join(CS, CS.c.customer_id == RC.c.customer_id)
        .where(RC.c.held_out.is_(False))
        .order_by(RC.c.customer_id)
    ).all()
    for customer_id, drivers in warned:
        if rng.random() >= share:
            continue
        raising = [d["g"] for d in json.loads(drivers or "[]") if d["c"] > 0]
        kind = rng.choice(retention.KINDS)
        planned = datetime.combine(past + timedelta(days=rng.randint(0, 14)), datetime.min.time()) + timedelta(hours=10)
        form = retention.ActionForm(kind, raising[0] if raising else "other", planned.date() + timedelta(days=14))
        action = retention.create_action(session, SYSTEM, customer_id, form, now=planned)
        if rng.random() < 0.85:
            retention.update_action(
                session,
                SYSTEM,
                action,
                steps_done=retention.PLAYBOOK_STEPS[kind],
                status="done",
                outcome=rng.choices(retention.OUTCOMES, weights=(5, 3, 1, 1))[0],
                now=planned + timedelta(days=rng.randint(1, 14)),
            )


def seed_demo(
    engine: Engine,
    *,
    customers: int,
    keyring: Keyring,
    seed: int = 42,
    today: date | None = None,
    replace: bool = False,
    demo_password: str | None = None,
    progress: Callable[[str, float], None] | None = None,
    force: bool = False,
) -> SeedReport:
    """Write a demo data set in one transaction, then rebuild the summary tables.

    Refuses a database that already holds customers unless `replace` is set (which wipes every row but the
    audit log, and says so in it); a store that is not a demo is refused even then, unless `force`.
    Demo users exist only here: their passwords are `demo_password`, or random and returned once.
    `progress(phase, share done)` is told as each phase starts (generate, insert, summaries, service, done),
    so a first start can show how far it is.
    """
    from core import facts

    def step(phase: str, share: float) -> None:
        if progress is not None:
            progress(phase, share)

    started = time.perf_counter()
    step("generate", 0.0)
    with session_scope(engine) as session:
        existing = session.scalar(select(func.count()).select_from(m.Customer)) or 0
        if existing and not replace:
            raise ValidationError(f"The database already holds {existing} customers; use --replace to wipe it first.")
        demo = session.scalar(select(m.AppMeta.value).where(m.AppMeta.key == "demo")) == "true"
        if existing and not demo and not force:
            raise ValidationError(
                f"The store holds {existing} customers that are not demo data; --replace would "
                "wipe them. Add --force if that is what you want."
            )
    tables = generate(customers, seed=seed, today=today)
    report = SeedReport(customers=customers)
    protect_contacts(tables["customers"], keyring)
    protect_contacts(tables["leads"], keyring)
    report.passwords, hashes = _demo_passwords(list(tables["users"]["username"]), demo_password)
    tables["users"]["password_hash"] = [hashes[u] for u in tables["users"]["username"]]
    report.phases["generate"] = time.perf_counter() - started
    step("insert", 0.15)
    with engine.begin() as conn:
        for model in [
            m.CampaignMember,  # the demo's campaign, made again below
            m.Campaign,
            m.OfferModel,  # learned from the data being replaced
            m.RuleFiring,  # the demo's rules' history, replayed below
            m.Notification,  # to demo users
            m.RetentionAction,
            m.RetentionCohort,
            m.ChurnScore,
            m.CustomerValue,
            m.TierHistory,
            m.ChurnModel,  # learned from the data being replaced
            m.CustomerStat,
            m.SegmentFact,
            m.PeriodFact,
            m.TicketSla,
            m.TicketSteps,
            m.SlaFiring,
            m.Task,
            m.FormSubmission,
            m.SurveyRecipient,
            m.SurveyRun,
            m.KpiTarget,  # owned by demo users; the demo's own are added back below
            m.LoyaltyEntry,
            m.LoyaltyMember,
            m.LoyaltyProgramme,
            *reversed(RAW_TABLES),
        ]:  # never the audit log: it records this too
            conn.execute(delete(m.table(model)))
        if existing:
            conn.execute(
                m.table(m.AuditLog)
                .insert()
                .values(
                    at=clock.now(),
                    username="cli",
                    action="store_replaced",
                    object="store",
                    details=json.dumps({"customers": existing, "demo": demo}),
                )
            )
        conn.execute(delete(m.table(m.AppMeta)))
        # SQLite: secondary indexes are rebuilt after the load (one sort beats millions of random B-tree
        # inserts). MariaDB keeps them: it refuses to drop an index a foreign key relies on.
        indexes = (
            [index for model in RAW_TABLES for index in m.table(model).indexes] if conn.dialect.name == "sqlite" else []
        )
        for index in indexes:
            index.drop(conn)
        for model in RAW_TABLES:
            report.rows[model.__tablename__] = bulk_insert(conn, m.table(model), tables[model.__tablename__])
        for index in indexes:
            index.create(conn)
        reset_sequences(conn, [m.table(model) for model in RAW_TABLES])
        conn.execute(
            m.table(m.AppMeta).insert(), [{"key": "demo", "value": "true"}, {"key": "demo_seed", "value": str(seed)}]
        )
    del tables
    report.phases["insert"] = time.perf_counter() - started - report.phases["generate"]
    step("summaries", 0.55)
    with session_scope(engine) as session:
        # PostgreSQL plans by its statistics, which a server with autovacuum off (or not yet round) lacks after a
        # bulk load: the escalation back-test took 429 s instead of 2 s at 100,000 customers without them
        db.analyze(session, [m.table(model) for model in RAW_TABLES])
        _campaign(session, today or clock.today(), seed)  # its extra orders are in the summaries below
        _trade_fair(session, today or clock.today())
        facts.rebuild_all(session, as_of=today or clock.today())
        # the service desk's policies and clocks over the generated history (tiers come from the stats above)
        step("service", 0.8)
        now = datetime.combine(today, datetime.min.time()) if today else clock.now()
        service.rebuild_ticket_sla(session, now=now)
        _survey_history(session, now, keyring)
        # the answers' months rebuilt in one pass: refreshing each answering customer's dimension keys one by
        # one took minutes at 100,000 customers
        facts.rebuild_period_facts(session, as_of=today or clock.today())
        _closed_loop_history(session, now)
        _targets(session, now)
        _loyalty(session, now)
        db.analyze(session, [m.table(model) for model in (m.Task, m.CustomerStat, m.PeriodFact)])
    report.phases["summaries"] = time.perf_counter() - started - report.phases["insert"] - report.phases["generate"]
    step("churn", 0.9)
    report.churn_model = _churn_model(engine, today or clock.today())
    with session_scope(engine) as session:
        _rules(session, datetime.combine(today, datetime.min.time()) if today else clock.now())
        from core import next_offer

        next_offer.learn(session, today=today or clock.today())
    step("done", 1.0)
    report.seconds = time.perf_counter() - started
    report.phases["churn"] = report.seconds - sum(report.phases.values())
    return report
