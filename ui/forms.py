"""Form plumbing shared by the pages: one-time tokens, field-level messages, one outcome message after rerun.

A form's widgets are keyed by its current token. After a successful save the token is renewed (a fresh,
empty form) and the page reruns, so the new record shows at once everywhere; a second submission of the
same token is refused by core and writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from core.errors import AlreadySubmitted, CrmError, FieldErrors
from ui.context import reason, tr

T_ = TypeVar("T_")


def token(form: str) -> str:
    key = f"token_{form}"
    if key not in st.session_state:
        st.session_state[key] = uuid.uuid4().hex
    return st.session_state[key]


class Slots:
    """A placeholder under each field, filled with that field's message when a submission is refused, and
    one at the top of the form (the first call inside it) for "correct the fields marked below"."""

    def __init__(self) -> None:
        self._slots: dict[str, object] = {}
        self._top: object | None = None

    def __call__(self, name: str) -> None:
        self._slots[name] = st.empty()

    def top(self) -> None:
        self._top = st.empty()

    def show(self, errors: dict[str, tuple[str, dict[str, object]]]) -> None:
        for name, (key, values) in errors.items():
            slot = self._slots.get(name)
            if slot is not None:
                slot.error(tr(key, **values), icon=":material/error:")  # type: ignore[attr-defined]
        (self._top or st).error(tr("form.fix_fields"))  # type: ignore[attr-defined]


def submit(form: str, slots: Slots, save: Callable[[str], T_], *, done: str) -> T_ | None:
    """Run `save(token)`; on success renew the token, keep `done` for the next run and rerun the page."""
    try:
        result = save(token(form))
    except FieldErrors as err:
        slots.show(err.errors)
        return None
    except AlreadySubmitted:
        st.info(tr("form.already_submitted"))
        return None
    except CrmError as err:
        st.error(tr("form.refused", reason=reason(err)))
        return None
    st.session_state[f"token_{form}"] = uuid.uuid4().hex
    st.session_state["flash"] = done
    st.rerun()
    return result


def flash() -> None:
    """The confirmation of the last save, shown once at the top of the next run."""
    message = st.session_state.pop("flash", None)
    if message:
        st.success(message, icon=":material/check_circle:")


def saved(save: Callable[[], T_], slots: Slots, *, done: str | Callable[[T_], str], form: str) -> None:
    """Run a counter-keyed form's write: each field's message under it, a refusal as one message; on success a
    fresh form (the counter `form` moves on), the confirmation (or what `done` makes of the write's result) kept
    for the next run, and a rerun."""
    try:
        outcome = save()
    except FieldErrors as err:
        slots.show(err.errors)
    except CrmError as err:
        st.error(tr("form.refused", reason=reason(err)))
    else:
        st.session_state["flash"] = done(outcome) if callable(done) else done
        st.session_state[form] = st.session_state.get(form, 0) + 1
        st.rerun()


def confirm_duplicates(matches: list[Any] | None, *, key: str | None = None) -> bool:
    """The possible duplicates a save was refused for (a customer's code and name only when the viewer may
    see them), and the box to save it anyway: ticked means confirmed."""
    if not matches:
        return False
    st.warning(tr("customer_form.duplicate"))
    for match in matches:
        st.text(
            tr(
                f"customer_form.match.{match.why}",
                code=match.code or tr("customer_form.not_yours"),
                name=match.name or "",
            )
        )
    return bool(st.checkbox(tr("customer_form.confirm"), key=key))
