"""Children's names and dates of birth as text to find: every way a date is written, one pattern for thousands.

The privacy scan looks for them in every store; retention removes them from what people typed, and keeps a file
holding one out of the inspection's record, while the accepted lists still say whose names they are.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
# What a removed name or date of birth is replaced by.
REMOVED = "[name removed]"
_LISTS = ("ehc_plans", "sen_support")  # the lists that name children (the providers list names settings)


def date_forms(day: date) -> list[str]:
    """Return the ways a date of birth could be written: ISO, dd/mm/yyyy, '12 March 2015', '12 Mar 2015', repr."""
    month = MONTHS[day.month - 1]
    forms = [day.isoformat(), f"{day:%d/%m/%Y}", f"{day.day} {month} {day.year}", f"{day:%d} {month} {day.year}",
             f"{day.day} {month[:3]} {day.year}", f"{month} {day.day}, {day.year}",
             f"date({day.year}, {day.month}, {day.day})"]
    return list(dict.fromkeys(forms))


def trie_pattern(needles: Iterable[str]) -> str:
    """Return one regular expression matching any of the (lower-case) needles, as a trie: fast for thousands."""
    trie: dict[str, Any] = {}
    for needle in needles:
        node = trie
        for char in needle:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        group = branches[0] if len(branches) == 1 and len(branches[0]) == 1 else f"(?:{'|'.join(branches)})"
        return f"{group}?" if "" in node else group

    return pattern(trie)


@dataclass(frozen=True)
class ChildNames:
    """The first names, last names and dates of birth of the children on an inspection's lists, as one pattern.

    Each is matched as a whole word, ignoring case: a first name shared by a member of staff is removed from typed
    text too (a comment loses a word rather than keeping a child's name).
    """

    pattern: re.Pattern[str] | None
    count: int

    @classmethod
    def of(cls, children: Iterable[tuple[str, str, date | None]]) -> ChildNames:
        """Return the pattern of (first name, last name, date of birth) triples."""
        needles: set[str] = set()
        count = 0
        for first, last, born in children:
            count += 1
            needles |= {part.lower() for name in (first, last) for part in str(name).split() if len(part) >= 2}
            if born is not None:
                needles |= {form.lower() for form in date_forms(born)}
        if not needles:
            return cls(None, count)
        return cls(re.compile(rf"(?<!\w)(?:{trie_pattern(needles)})(?!\w)", re.IGNORECASE), count)

    def redact(self, text: str) -> str:
        """Return `text` with every name and date of birth on the lists replaced by REMOVED."""
        return self.pattern.sub(REMOVED, text) if self.pattern and text else text

    def found_in(self, text: str) -> bool:
        """Say whether `text` holds a name or date of birth on the lists."""
        return bool(self.pattern and text and self.pattern.search(text))

    def found_in_file(self, data: bytes) -> bool:
        """Say whether a file's text, or that of any part of an Office or OpenDocument package, holds one."""
        if self.pattern is None:
            return False
        texts = [data]
        if data.startswith(b"PK\x03\x04"):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as package:
                    texts += [package.read(info) for info in package.infolist() if info.file_size < 64 << 20]
            except (zipfile.BadZipFile, OSError):
                pass
        return any(self.found_in(text.decode("utf-8", errors="replace")) for text in texts)


def names_in_lists(folder: Path) -> ChildNames:
    """Return the names of the children on the checked lists stored in `folder` (none if nothing is stored)."""
    from send_inspection.childdata.store import MANIFEST, load_stored  # pandas only when there are lists

    if not (Path(folder) / MANIFEST).exists():
        return ChildNames(None, 0)
    data = load_stored(folder)
    children: list[tuple[str, str, date | None]] = []
    for kind in _LISTS:
        frame = data.frame(kind)  # type: ignore[arg-type]
        if frame is not None:
            children += zip(frame["first_name"], frame["last_name"], frame["date_of_birth"], strict=True)
    return ChildNames.of(children)
