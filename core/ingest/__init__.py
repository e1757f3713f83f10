"""Bringing a company's own data in: files read in any common encoding, columns mapped to fields, values
cleaned and checked, rows matched to what the store holds, and one batch written through the write path.

- `files`: CSV (encoding detected, delimiter sniffed, title rows above the header skipped) and Excel.
- `fields`: the fields of each kind of import, their header synonyms in both languages, value synonyms.
- `clean`: one cleaner per field type (text, phone, email, date, amount, coded value).
- `batch`: preview (nothing written) and import (one transaction), saved mappings, the batch record.
"""
