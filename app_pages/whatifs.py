"""Named what-ifs: edited scenarios saved as YAML files in the workspace, so they last.

A what-if ``peak plus temps`` is the file ``<workspace>/whatifs/peak_plus_temps.yaml``: the
scenario file the planner started from, with the edits written into it (its comments kept,
:mod:`sim.yaml_edit`), so ``peakplan simulate runs/whatifs/peak_plus_temps.yaml`` reads it
too.  A scenario whose arrivals are a forecast CSV next to it gets that CSV copied beside the
what-if (under its own name, or ``<what-if>_<name>`` when another forecast of that name is
there already), so the folder is self-contained.

Names are the planner's words (letters, digits, spaces, ``-`` and ``_``, at most 60); the
file name is the name with spaces as ``_``.  Nothing outside the workspace is read or written
(:mod:`app_pages.workspace`).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sim.errors import InputError
from sim.files import load_yaml
from sim.yaml_edit import edit_text

from app_pages import workspace

__all__ = ["FOLDER", "folder", "slug", "names", "path_of", "save", "delete", "shown"]

FOLDER = "whatifs"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,59}$")


def folder() -> Path:
    return workspace.root() / FOLDER


def slug(name: str) -> str:
    """The file stem of a what-if name (checked)."""
    text = str(name).strip()
    if not _NAME.match(text):
        raise InputError(f"{text!r} is not a what-if name (expected letters, digits, spaces, "
                         "'-' or '_', at most 60, starting with a letter or digit)",
                         field="what-if name")
    return re.sub(r"\s+", "_", text)


def names() -> list[str]:
    """The saved what-ifs by file stem, newest first."""
    base = folder()
    if not base.is_dir():
        return []
    found = []
    for p in base.glob("*.yaml"):
        if workspace.inside(p) and p.is_file() and _NAME.match(p.stem):
            found.append((p.stat().st_mtime, p.stem))
    return [n for _, n in sorted(found, reverse=True)]


def path_of(name: str) -> Path:
    """The file of a saved what-if (InputError when there is none of that name)."""
    path = folder() / f"{slug(name)}.yaml"
    if not (path.is_file() and workspace.inside(path)):
        raise InputError(f"no what-if named {name!r} in the workspace (expected one of: "
                         f"{', '.join(names()) or 'none saved yet'})", field="what-if")
    return path


def shown(name: str) -> str:
    return f"{workspace.label()}{FOLDER}/{slug(name)}.yaml"


def save(name: str, text: str, *, forecast: Path | None = None,
         overwrite: bool = False) -> Path:
    """Write the what-if ``name`` (YAML ``text``); ``forecast`` is the CSV its
    ``arrivals.file`` names, copied beside it.  Refuses an existing name unless
    ``overwrite``."""
    stem = slug(name)
    base = folder()
    base.mkdir(parents=True, exist_ok=True)
    if not workspace.inside(base):
        raise InputError("the what-if folder leads out of the workspace: not written",
                         file=workspace.label() + FOLDER)
    path = base / f"{stem}.yaml"
    if path.exists() and not overwrite:
        raise InputError(f"a what-if named {name!r} exists already (choose another name, or "
                         "tick 'replace it')", field="what-if name")
    if forecast is not None:
        target = base / forecast.name
        if target.exists() and target.read_bytes() != forecast.read_bytes():
            target = base / f"{stem}_{forecast.name}"
        if not target.exists() or target.read_bytes() != forecast.read_bytes():
            shutil.copyfile(forecast, target)
        if target.name != forecast.name or _arrivals_file(text) != target.name:
            text = edit_text(text, {"arrivals.file": target.name}, source=shown(name))
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a file
    return path


def _arrivals_file(text: str) -> str | None:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    arrivals = data.get("arrivals") if isinstance(data, dict) else None
    return arrivals.get("file") if isinstance(arrivals, dict) else None


def delete(name: str) -> None:
    """Remove the what-if's YAML (a forecast copied beside it stays: others may use it)."""
    path_of(name).unlink()


def forecast_of(path: Path) -> Path | None:
    """The forecast CSV a scenario file's ``arrivals.file`` names, if it is a file."""
    data = load_yaml(path)
    arrivals = data.get("arrivals")
    file = arrivals.get("file") if isinstance(arrivals, dict) else None
    if not isinstance(file, str):
        return None
    target = Path(file) if Path(file).is_absolute() else path.resolve().parent / file
    return target if target.is_file() else None
