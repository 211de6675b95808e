"""The scenarios a page can run: the Scenario page's (as edited, original), saved what-ifs and
the shipped ones, by label, and the text of a chosen one.  One list for Compare, the capacity
review and the Plan page."""

from __future__ import annotations

import streamlit as st

from sim.errors import InputError

from app_pages import inputs, runs, whatifs

__all__ = ["EDITED", "ORIGINAL", "scenario_choices", "text_of"]

EDITED, ORIGINAL = "Scenario page, as edited", "Scenario page, original"
_WHATIF = "what-if: "


def scenario_choices(*, edited_first: bool = True) -> dict[str, tuple[str, str]]:
    """label -> (text, source); text "" is read when chosen (:func:`text_of`).

    The edited scenario is offered only while it is the latest edit of the scenario the
    Scenario page shows: after a rejected edit, or a change of scenario, it is out of date."""
    edited = st.session_state.get("scn.edited")
    base = st.session_state.get("scn.base")
    current = bool(edited and base and edited.get("token") == base.get("token")
                   and not st.session_state.get("scn.rejected"))
    page: list[tuple[str, tuple[str, str]]] = []
    if base:
        page.append((ORIGINAL, (base["text"], base["source"])))
    if current:
        page.append((EDITED, (edited["text"], edited["source"])))
    if edited_first:
        page.reverse()
    choices = dict(page)
    for name in whatifs.names():
        choices[f"{_WHATIF}{name}"] = ("", whatifs.shown(name))
    for name, path in inputs.shipped_scenarios().items():
        choices[name] = ("", f"scenarios/{path.name}")
    return choices


def text_of(choices: dict[str, tuple[str, str]], label: str) -> tuple[str, str]:
    """The (text, source) of a chosen label, reading a what-if or shipped file if needed."""
    text, source = choices[label]
    if text:
        return text, source
    if label.startswith(_WHATIF):
        try:
            return runs.shipped_text(whatifs.path_of(label.removeprefix(_WHATIF))), source
        except InputError as exc:
            raise InputError(exc.problem, file=source, field=exc.field) from None
    return runs.shipped_text(inputs.shipped_scenarios()[label]), source
