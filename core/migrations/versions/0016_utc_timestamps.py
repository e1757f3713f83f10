"""timestamps stored as UTC instants: every date-time column moved from the zone it was stamped in

Until now a store kept the wall times of the zone recorded in app_meta `store_timezone` (CRM_TIMEZONE or the
server's clock); from here it keeps UTC and converts to the display zone on the way in and out (core.clock).
A wall time repeated when the clocks went back is read as the first of the two, as before.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 01:00:00
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ZONE_KEY = "store_timezone"


def _stamped_zone(bind: sa.engine.Connection) -> str:
    from core import clock

    meta = sa.table("app_meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    recorded = bind.execute(sa.select(meta.c.value).where(meta.c.key == ZONE_KEY)).scalar()
    return str(recorded) if recorded else clock.zone_name()


def _moves(bind: sa.engine.Connection, name: str, *, back: bool) -> None:
    """Move every date-time column of every table by the zone's offset (to UTC, or `back` to the wall time)."""
    from core import clock
    from core.db import shifted_sql

    zone = clock.named(name)
    if zone.is_utc:
        return
    dialect = bind.dialect.name
    quote = bind.dialect.identifier_preparer.quote
    inspector = sa.inspect(bind)
    ranges = zone.ranges()  # instants: moved forward by the offset of their range
    if not back:  # wall times: a change's wall time read by the offset before it, moved back
        walls: list[datetime | None] = [None, *(c + o for c, o in zip(zone.changes, zone.offsets)), None]
        ranges = [(low, high, -offset) for low, high, offset in zip(walls, walls[1:], zone.offsets)]
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        columns = [c["name"] for c in inspector.get_columns(table) if isinstance(c["type"], sa.DateTime)]
        if not columns:
            continue
        values = {c: shifted_sql(quote(c), dialect, ranges) for c in columns}
        assignments = ", ".join(f"{quote(c)} = {sql}" for c, sql in values.items())
        bind.execute(sa.text(f"UPDATE {quote(table)} SET {assignments}"))  # a NULL stays NULL


def upgrade() -> None:
    bind = op.get_bind()
    _moves(bind, _stamped_zone(bind), back=False)


def downgrade() -> None:
    bind = op.get_bind()
    _moves(bind, _stamped_zone(bind), back=True)
