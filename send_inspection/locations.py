"""Say where in an imported file a problem is, the same way for every import."""

from __future__ import annotations


def where(file: str, *, row: int | None, column: str | None, label: str, ident: str | None) -> str:
    """Return `file, row R, column 'C', <label> X`, leaving out what is not known."""
    parts = [file]
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column!r}")
    if ident:
        parts.append(f"{label} {ident}")
    return ", ".join(parts)
