"""Drafts: the Scenario page's unsaved edits kept in the workspace, so a reload loses nothing.

While the open scenario has edits that are not saved as a what-if, the page keeps them as
``<workspace>/drafts/<id>.yaml``, written again (whole, by an atomic rename: a reader never
sees half a file) after every edit, and the address carries the id (``?draft=<id>``).  A
reload of the browser starts a new session: the page reads the draft the address names, opens
the scenario it was made on and gives the editors the draft's tables, so the edits, a renamed
group, a rejected value still waiting to be corrected, are as they were.  The draft goes when
the edits are saved as a what-if, undone, or discarded; drafts nobody opened for
:data:`KEEP_DAYS` days are removed when another draft is written.

A draft holds the editors' tables (:class:`app_pages.edits.Tables`), not the edited file: the
file is made from them again by the same code as before the reload (comments kept, a renamed
group renamed in place).  It names the scenario it was made on (``normal_day``,
``whatif:NAME``, ``new:FORECAST``, or ``upload``: the uploaded file is kept beside it as
``<id>.upload.yaml``, written once, and read again as an upload is) and that scenario's
:func:`token`, so a draft made on an earlier version of a file is restored with a note saying
so.

Ids are random (:func:`new_id`, 96 bits): a draft is found only by the address that carries it.
Only the ``drafts/`` folder of the workspace is written, never a scenario or what-if file, and
a draft is read with the hardened YAML reader and checked cell by cell, as any file of a shared
workspace (:mod:`app_pages.workspace`).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.errors import InputError
from sim.files import parse_yaml

from app_pages import workspace
from app_pages.edits import SLOWDOWN_PCT, Tables

__all__ = ["FOLDER", "KEEP_DAYS", "Draft", "new_id", "check_id", "folder", "path_of", "shown",
           "body", "to_text", "from_text", "write", "write_upload", "read", "read_upload",
           "remove", "prune", "SESSION", "follow_address", "forget"]

FOLDER = "drafts"
KEEP_DAYS = 30  # a draft not written for this long is an abandoned session's
VERSION = 1     # of the format below
_ID = re.compile(r"^[0-9a-f]{24}$")
_INT_COLUMNS = ("chat_concurrency", "agents")
_FLOAT_COLUMNS = (SLOWDOWN_PCT, "aht_s", "wrap_up_s", "scale")
_TABLES = ("groups", "shifts", "queues", "windows")
SESSION = "scn.draft"  # session state: {"id", "pending", "restore", "restored", "written"}
HEADER = ("# Unsaved edits of the Scenario page of peakplan's app, kept so that a reload of the\n"
          "# page loses nothing: restored when the address says ?draft={id}, removed when they\n"
          "# are saved as a what-if, undone or discarded.  Written by the app: not a scenario.\n")


@dataclass(frozen=True)
class Draft:
    """The unsaved edits of one session: the editors' ``tables`` of the scenario ``choice``
    (the page's choice: ``normal_day``, ``whatif:NAME``, ``new:FORECAST``, ``upload``) whose
    :func:`token` was ``token``; ``source`` names it as the page does; ``changes`` counts the
    key-path changes (None: an edit was rejected); ``upload`` the uploaded file's name."""

    id: str
    choice: str
    source: str
    token: str
    tables: Tables
    changes: int | None
    saved: dt.datetime
    upload: str | None = None


def new_id() -> str:
    return secrets.token_hex(12)


def check_id(text: Any) -> str:
    """A draft id from the address (checked: 24 lower-case hex digits, nothing else)."""
    value = str(text).strip()
    if not _ID.match(value):
        raise InputError(f"{value[:40]!r} is not a draft id (expected the 24 hex digits the "
                         "page put in the address)", field="draft")
    return value


def folder() -> Path:
    return workspace.root() / FOLDER


def path_of(draft_id: str) -> Path:
    return folder() / f"{check_id(draft_id)}.yaml"


def _upload_path(draft_id: str) -> Path:
    return folder() / f"{check_id(draft_id)}.upload.yaml"


def shown(draft_id: str) -> str:
    return f"{workspace.label()}{FOLDER}/{check_id(draft_id)}.yaml"


def _cell(value: Any) -> Any:
    """A table cell as plain YAML data (None for an empty cell)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _table_data(frame: pd.DataFrame) -> dict[str, Any]:
    return {"columns": [str(c) for c in frame.columns],
            "rows": [[_cell(v) for v in row] for row in frame.itertuples(index=False)]}


def body(*, choice: str, source: str, token: str, tables: Tables, changes: int | None,
         upload: str | None = None) -> dict[str, Any]:
    """The draft's content without its time: equal bodies need no new write."""
    data: dict[str, Any] = {"draft": VERSION, "scenario": choice, "source": source,
                            "base": token, "changes": changes}
    if upload is not None:
        data["upload"] = upload
    data["tables"] = {"scale": _cell(tables.scale),
                      **{t: _table_data(getattr(tables, t)) for t in _TABLES
                         if getattr(tables, t) is not None}}
    return data


def to_text(draft_id: str, data: dict[str, Any], saved: dt.datetime) -> str:
    return HEADER.format(id=check_id(draft_id)) + yaml.safe_dump(
        {**data, "saved": saved.isoformat(timespec="seconds")}, sort_keys=False,
        allow_unicode=True, width=100, default_flow_style=None)


def _frame(data: Any, name: str, *, source: str) -> pd.DataFrame:
    """One table of a draft, checked (a shared workspace's file: any of it may be wrong)."""
    where = f"tables.{name}"
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list) \
            or not isinstance(data.get("rows"), list):
        raise InputError("expected columns: [...] and rows: [[...], ...]", file=source,
                         field=where)
    columns = data["columns"]
    if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise InputError("expected different column names", file=source, field=where)
    rows = data["rows"]
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns) or not all(
                v is None or isinstance(v, (bool, int, float, str)) for v in row):
            raise InputError(f"expected {len(columns)} plain values", file=source,
                             field=f"{where}.rows[{i}]")
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    for c in frame.columns:
        if c in _INT_COLUMNS or c in _FLOAT_COLUMNS:
            values = pd.to_numeric(frame[c], errors="coerce")
            if values.isna().sum() > frame[c].isna().sum():
                bad = int(frame.index[values.isna() & frame[c].notna()][0])
                raise InputError(f"{frame[c].iloc[bad]!r} is not a number", file=source,
                                 field=f"{where}.rows[{bad}] ({c})")
            whole = c in _INT_COLUMNS and values.notna().all() and (values % 1 == 0).all()
            frame[c] = values.astype("int64") if whole else values.astype("float64")
    return frame


def from_text(text: str, *, source: str, draft_id: str) -> Draft:
    data = parse_yaml(text, source=source)
    if data.get("draft") != VERSION:
        raise InputError(f"not a draft of the Scenario page (expected draft: {VERSION})",
                         file=source)
    for key in ("scenario", "source", "base"):
        if not isinstance(data.get(key), str):
            raise InputError("expected a text", file=source, field=key)
    changes = data.get("changes")
    if changes is not None and (isinstance(changes, bool) or not isinstance(changes, int)):
        raise InputError("expected a whole number or null", file=source, field="changes")
    upload = data.get("upload")
    if upload is not None and not isinstance(upload, str):
        raise InputError("expected the uploaded file's name", file=source, field="upload")
    tables = data.get("tables")
    if not isinstance(tables, dict):
        raise InputError("expected the tables of the Scenario page", file=source,
                         field="tables")
    scale = tables.get("scale")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or \
            not math.isfinite(scale):
        raise InputError("expected a number", file=source, field="tables.scale")
    frames = {t: _frame(tables.get(t), t, source=source) for t in _TABLES
              if t != "windows" or "windows" in tables}
    saved = data.get("saved")
    try:
        when = dt.datetime.fromisoformat(str(saved))
    except ValueError:
        raise InputError(f"{saved!r} is not a time", file=source, field="saved") from None
    return Draft(id=draft_id, choice=data["scenario"], source=data["source"],
                 token=data["base"], tables=Tables(scale=float(scale), **frames),
                 changes=changes, saved=when, upload=upload)


def _write_atomic(path: Path, text: str) -> None:
    base = folder()
    base.mkdir(parents=True, exist_ok=True)
    if not workspace.inside(base) or not workspace.inside(path.parent):
        raise InputError("the drafts folder leads out of the workspace: not written",
                         file=workspace.label() + FOLDER)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a draft
    finally:
        tmp.unlink(missing_ok=True)


def write(draft_id: str, data: dict[str, Any], *, now: dt.datetime | None = None) -> Path:
    """Write the draft ``draft_id`` (a :func:`body`), and remove abandoned drafts."""
    path = path_of(draft_id)
    _write_atomic(path, to_text(draft_id, data, now or dt.datetime.now()))
    prune(keep=draft_id)
    return path


def write_upload(draft_id: str, raw: str) -> None:
    """Keep the uploaded scenario file of a draft beside it (once: it does not change)."""
    _write_atomic(_upload_path(draft_id), raw)


def read(draft_id: str) -> Draft:
    """The draft ``draft_id`` (an :class:`InputError` naming it when it is gone or damaged)."""
    path = path_of(draft_id)
    name = shown(draft_id)
    if not (path.is_file() and workspace.inside(path)):
        raise InputError("no such draft in the workspace (it was saved as a what-if, undone "
                         f"or discarded, or is older than {KEEP_DAYS} days)", file=name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read ({type(exc).__name__})", file=name) from None
    return from_text(text, source=name, draft_id=draft_id)


def read_upload(draft_id: str) -> str:
    path = _upload_path(draft_id)
    if not (path.is_file() and workspace.inside(path)):
        raise InputError("the uploaded scenario of this draft is missing",
                         file=f"{workspace.label()}{FOLDER}/{path.name}")
    return path.read_text(encoding="utf-8", errors="replace")


def remove(draft_id: str) -> None:
    """Remove a draft (and its uploaded file); nothing happens when it is gone already."""
    for path in (path_of(draft_id), _upload_path(draft_id)):
        if workspace.inside(path):
            path.unlink(missing_ok=True)


def prune(*, keep: str | None = None, now: float | None = None) -> list[str]:
    """Remove the drafts not written for :data:`KEEP_DAYS` days (but ``keep``); their ids."""
    base = folder()
    if not base.is_dir():
        return []
    limit = (time.time() if now is None else now) - KEEP_DAYS * 86_400.0
    gone = []
    ids = {p.name.split(".", 1)[0] for p in base.glob("*.yaml")}
    for draft_id in sorted(i for i in ids if _ID.match(i) and i != keep):
        # A draft's age is its own file's (its upload, written once, is older).
        own, upload = path_of(draft_id), _upload_path(draft_id)
        try:
            stamp = (own if own.exists() else upload).stat().st_mtime
        except OSError:
            continue
        if stamp < limit:
            remove(draft_id)
            gone.append(draft_id)
    return gone


def follow_address() -> None:
    """Called by ``app.py`` before every page: a draft id in the address (a reload, on any
    page) becomes the session's draft, to be restored when the Scenario page runs; and the
    session's draft stays in the address whatever page is open (a page change clears it)."""
    import streamlit as st

    ss = st.session_state
    current = ss.get(SESSION)
    wanted = st.query_params.get("draft")
    if current is None:
        if wanted:
            ss[SESSION] = {"id": str(wanted), "pending": True}
    elif wanted != current["id"]:
        st.query_params["draft"] = current["id"]


def forget(*, delete: bool) -> None:
    """The session has no draft any more (``delete``: its file is removed too)."""
    import streamlit as st

    current = st.session_state.pop(SESSION, None)
    st.query_params.pop("draft", None)
    if delete and current is not None:
        try:
            remove(current["id"])
        except (InputError, OSError):
            pass  # an id that was never ours, or a file gone already: nothing to remove
