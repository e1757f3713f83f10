"""Alembic environment: runs on the connection core.db passes in (no alembic.ini, no global engine)."""

from alembic import context

from core.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via core.db.migrate / the CLI
    raise RuntimeError("Run migrations with `python -m core migrate`.")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
