"""Import: a file of customers, orders, tickets, answers, interactions or leads, its columns mapped to fields, a
preview of what would happen, then one transaction. Nothing is written before the user confirms."""

import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from core.errors import CrmError
from core.i18n import label
from core.ingest import batch
from core.ingest.fields import FIELDS, KINDS, Mapping, propose
from core.ingest.files import ENCODINGS
from ui import context, data, import_parts
from ui.context import lang, page_guard, reason, tr
from ui.forms import flash

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"

viewer = page_guard("import")
current = lang()
st.title(tr("import.title"))
st.caption(tr("import.caption"))
flash()

kind = st.segmented_control(
    tr("import.kind"), KINDS, format_func=lambda k: tr(f"import.kind.{k}"), default=KINDS[0], key="imp_kind"
)
kind = kind or KINDS[0]
upload = st.file_uploader(tr("import.file"), type=["csv", "txt", "tsv", "xlsx", "xls"], key="imp_file")
import_parts.translate_uploader()
samples = sorted(p.name for p in SAMPLES.glob(f"*-{kind}-*"))
sample = (
    None
    if upload
    else st.selectbox(
        tr("import.sample"), samples, index=None, key="imp_sample", placeholder=tr("customer_form.choose")
    )
)
if upload is None and sample is None:
    st.info(tr("import.start"))
    history = data.read(batch.recent_batches, viewer)
    if history:
        import_parts.history(history)
    st.stop()
file_name = upload.name if upload else str(sample)
content = upload.getvalue() if upload else (SAMPLES / str(sample)).read_bytes()
digest = hashlib.sha256(content).hexdigest()

left, middle, right = st.columns(3)
source = left.text_input(
    tr("import.source"),
    value=batch.default_source(file_name),
    max_chars=64,
    help=tr("import.source.help"),
    key=f"imp_source_{digest[:12]}",
)
encoding = middle.selectbox(
    tr("import.encoding"),
    ["auto", *ENCODINGS],
    key="imp_encoding",
    format_func=lambda e: tr("import.encoding.auto") if e == "auto" else e,
)
try:
    table, rows = import_parts.read(
        content,
        digest,
        kind=kind,
        file_name=file_name,
        encoding=None if encoding == "auto" else encoding,
        sheet=st.session_state.get("imp_sheet"),
    )
except CrmError as err:
    st.error(reason(err))
    st.stop()
if table.sheets:
    right.selectbox(tr("import.sheet"), table.sheets, key="imp_sheet")
st.caption(
    tr(
        "import.read",
        rows=f"{rows:,}",
        encoding=table.encoding or "Excel",
        skipped=table.skipped_above_header,
    )
)
st.dataframe(pd.DataFrame([cells for _, cells in table.head], columns=table.header), hide_index=True)

# --- mapping: proposed from the header, or a saved one; every field editable -----------------------------
saved = data.read(batch.mappings, viewer, kind=kind)
chosen = st.selectbox(
    tr("import.saved"), list(saved), index=None, placeholder=tr("import.saved.none"), key=f"imp_saved_{kind}"
)
base = saved[chosen] if chosen else propose(kind, table.header)
mapping = Mapping(kind=kind, values={k: dict(v) for k, v in base.values.items()})
stamp = f"{kind}_{digest[:12]}_{chosen or ''}"
with st.expander(tr("import.mapping"), expanded=True):
    columns = st.columns(3)
    for i, spec in enumerate(FIELDS[kind]):
        where = columns[i % 3]
        options = [None, *table.header]
        proposed = base.columns.get(spec.name)
        column = where.selectbox(
            tr(f"import.field.{spec.name}") + (" *" if spec.required else ""),
            options,
            index=options.index(proposed) if proposed in options else 0,
            format_func=lambda c: tr("import.no_column") if c is None else str(c),
            key=f"imp_col_{stamp}_{spec.name}",
        )
        if column:
            mapping.columns[spec.name] = column
        elif spec.type == "code" and spec.required:  # no column: one value for every row
            fixed = where.selectbox(
                tr("import.fixed_value", field=tr(f"import.field.{spec.name}")),
                [None, *spec.codes],
                index=[None, *spec.codes].index(base.fixed.get(spec.name))
                if base.fixed.get(spec.name) in spec.codes
                else 0,
                format_func=lambda c, s=spec: tr("import.no_value") if c is None else label(s.labels or "", c, current),
                key=f"imp_fix_{stamp}_{spec.name}",
            )
            if fixed:
                mapping.fixed[spec.name] = fixed

# values nobody knows, from every check of this file: map each to a code, or leave it to refuse those rows
unknown: dict[str, dict[str, int]] = st.session_state.setdefault(f"imp_unknown_{stamp}", {})
if unknown:
    with st.container(border=True):
        st.markdown(tr("import.unknown"))
        for name, counts in unknown.items():
            spec = batch.spec_of(kind, name)
            for value, n in sorted(counts.items(), key=lambda item: -item[1])[:20]:
                picked = st.selectbox(
                    tr("import.unknown_value", field=tr(f"import.field.{name}"), value=value, n=n),
                    [None, *spec.codes],
                    format_func=lambda c, s=spec: (
                        tr("import.reject") if c is None else label(s.labels or "", c, current)
                    ),
                    key=f"imp_val_{stamp}_{name}_{value}",
                )
                if picked:
                    mapping.values.setdefault(name, {})[value] = picked
plan_key = (digest, kind, source, table.encoding, table.sheet, mapping.to_json())
last = st.session_state.get("imp_plan")
plan = last[1] if last and last[0] == plan_key else None

with st.expander(tr("import.save_mapping")):
    with st.form("imp_save_mapping", clear_on_submit=False):
        name = st.text_input(tr("import.mapping_name"), value=chosen or source, max_chars=64)
        if st.form_submit_button(tr("import.save")):
            try:
                data.write(batch.save_mapping, viewer, name=name, mapping=mapping)
                st.success(tr("import.saved_as", name=name))
            except CrmError as err:
                st.error(reason(err))

# --- preview, then import -------------------------------------------------------------------------------
if st.button(tr("import.check"), key="imp_check", type="secondary" if plan else "primary"):
    try:
        plan = data.read(
            batch.preview, viewer, kind=kind, table=table, mapping=mapping, source=source, keyring=context.keyring()
        )
    except CrmError as err:
        st.error(reason(err))
        st.stop()
    st.session_state["imp_plan"] = (plan_key, plan)
    for name, counts in plan.unknown.items():
        unknown.setdefault(name, {}).update(counts)
    st.rerun()  # the unknown values (if any) are offered above
if plan is None:
    if last:  # the mapping changed since the last check
        st.info(tr("import.check_again"))
    st.stop()
for key, values in plan.problems:
    st.error(tr(key, **{k: tr(f"import.field.{v}") if k == "field" else v for k, v in values.items()}))
if not plan.ready:
    st.stop()
import_parts.plan_outcome(plan, table, file_name, current)
work = plan.counts["new"] + plan.counts["update"]
if st.button(tr("import.run", n=f"{work:,}"), type="primary", disabled=work == 0, key="imp_run"):
    try:
        done = data.write(
            batch.run,
            viewer,
            kind=kind,
            table=table,
            mapping=mapping,
            source=source,
            keyring=context.keyring(),
            file_name=file_name,
            data=content,
        )
    except CrmError as err:
        st.error(reason(err))
        st.stop()
    st.session_state.pop("imp_plan", None)
    st.session_state["flash"] = tr("import.done", **{k: f"{v:,}" for k, v in done.counts.items()})
    st.rerun()
