"""The one error type for bad user input: it names the file, the field and what was expected.

Everything a user writes (scenario files, forecast CSVs, targets files, CLI flags) is checked at
the edge and reported as an :class:`InputError`; the CLI turns it into a one-line message and
exit status 2, the app into ``st.error``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad input from the user, with where it is and what was expected.

    ``str(error)`` reads ``FILE: FIELD: PROBLEM`` (parts that are unknown are left out).
    """

    def __init__(self, problem: str, *, file: str | Path | None = None,
                 field: str | None = None) -> None:
        self.problem = problem
        self.file = None if file is None else str(file)
        self.field = field
        super().__init__(": ".join(p for p in (self.file, self.field, problem) if p))
