"""The one error type for bad user input: it names the file, the field and what was expected.

Everything a user writes (scenario files, forecast CSVs, targets files, CLI flags) is checked at
the edge and reported as an :class:`InputError`; the CLI turns it into a one-line message and
exit status 2, the app into ``st.error``.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

__all__ = ["InputError", "printable", "count"]


class InputError(ValueError):
    """Bad input from the user, with where it is and what was expected.

    ``str(error)`` reads ``FILE: FIELD: PROBLEM`` (parts that are unknown are left out).
    """

    def __init__(self, problem: str, *, file: str | Path | None = None,
                 field: str | None = None) -> None:
        self.problem = printable(problem)
        self.file = None if file is None else printable(str(file))
        self.field = None if field is None else printable(field, limit=FIELD_LIMIT)
        super().__init__(": ".join(p for p in (self.file, self.field, self.problem) if p))


FIELD_LIMIT = 120


def printable(text: str, *, limit: int | None = None) -> str:
    """``text`` safe for one terminal line: control and format characters (newlines, tabs,
    right-to-left overrides, zero-width spaces, lone surrogates) written as escapes, so a key
    named ``"a\\nb"`` cannot break the message over two lines or reorder it; cut to ``limit``
    characters with "..." when given."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn") and ch != " ":
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                       if cat != "Cs" else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    clean = "".join(out)
    if limit is not None and len(clean) > limit:
        clean = clean[:limit - 3] + "..."
    return clean


def count(x: float) -> str:
    """A count for a message: ``12,345`` as usual, ``1.23e+300`` when the thousands separators
    would fill the line (a forecast cell of 1e308 is a typo, not a number to spell out)."""
    return f"{x:,.0f}" if abs(x) < 1e15 else f"{x:.3g}"
