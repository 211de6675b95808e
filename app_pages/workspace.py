"""The workspace: the one folder whose sweep folders the app opens.

The app may be a server shared by a team, so a folder typed on the Sweeps page is a request
from anyone who can reach it: only folders inside the workspace are opened.  The workspace is
``runs/`` beside ``app.py`` (where ``peakplan sweep --out runs/NAME`` writes), or the folder
named by the environment variable :data:`ENV` (``PEAKPLAN_WORKSPACE``; a relative value is
taken from the folder of ``app.py``).

A name is taken relative to the workspace (``grid``, ``team/grid``; ``runs/grid`` too when the
workspace is ``runs/``, as the command line's ``--out`` reads it; an absolute path only when it
is inside the workspace), and opened only if it has no ``..`` and no ``~`` and still lies inside
the workspace once every symbolic link is resolved.  Everything else gets one message,
:data:`NOT_OPENED`, whether the folder exists or not, so the message tells nothing about the
server's other folders.  Inside the workspace, messages name folders relative to it
(``runs/grid``), never by their absolute path.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from sim.errors import InputError

__all__ = ["ENV", "NOT_OPENED", "root", "label", "shown", "inside", "resolve", "sweep_folders"]

ENV = "PEAKPLAN_WORKSPACE"
APP_DIR = Path(__file__).resolve().parent.parent


def root() -> Path:
    """The workspace folder, symbolic links resolved (read at every call: a test, or an admin
    restarting the app, may set :data:`ENV`)."""
    given = os.environ.get(ENV, "").strip()
    folder = Path(given).expanduser() if given else Path("runs")  # the admin's ~, not a user's
    if not folder.is_absolute():
        folder = APP_DIR / folder
    return folder.resolve()


def label() -> str:
    """The workspace as messages name it: its folder name, ``runs/``."""
    return f"{root().name}/"


NOT_OPENED = ("no sweep folder of that name in the workspace (expected a folder under {label}, "
              "as listed above or as given to `peakplan sweep --out`; nothing outside the "
              "workspace is opened, nor a path with '..' or '~')")


def _refused() -> InputError:
    return InputError(NOT_OPENED.format(label=label()))


def inside(path: Path, *, base: Path | None = None) -> bool:
    """Whether ``path``, symbolic links resolved, is the workspace or lies inside it."""
    base = root() if base is None else base
    try:
        real = path.resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links
        return False
    return real == base or base in real.parents


def shown(path: Path) -> str:
    """``path`` (inside the workspace) as messages name it: ``runs/grid/intervals``."""
    base = root()
    try:
        rel = path.resolve().relative_to(base)
    except (OSError, RuntimeError, ValueError):
        return label()
    return label() + rel.as_posix() if rel.parts else label()


def _candidates(typed: str, base: Path) -> list[Path]:
    """Where a typed name may point inside ``base`` (nothing for what is refused outright)."""
    text = typed.strip()
    if not text or "\0" in text or text.startswith("~") or PureWindowsPath(text).drive:
        return []  # C:\..., \\server\share: never a folder of the workspace either
    posix = text.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    if ".." in parts:
        return []
    if posix.startswith("/"):
        # An absolute path is taken only when it names a folder inside the workspace.
        path = Path(posix)
        return [path] if inside(path, base=base) else []
    parts = tuple(p for p in parts if p != ".")
    found = [base.joinpath(*parts)]
    if len(parts) > 1 and parts[0] == base.name:
        found.append(base.joinpath(*parts[1:]))  # "runs/grid", as written for --out
    return found


def resolve(typed: str) -> Path:
    """The folder inside the workspace that ``typed`` names, symbolic links resolved.

    Raises :class:`InputError` with :data:`NOT_OPENED` (the same text for a folder outside the
    workspace, a missing one and one refused for its form), or a message naming the empty
    input.
    """
    if not typed.strip():
        raise InputError(f"no folder given (expected the name of a sweep folder under "
                         f"{label()})")
    base = root()
    for path in _candidates(typed, base):
        try:
            if inside(path, base=base) and path.is_dir():
                return path.resolve()
        except OSError:  # a name too long, a folder not ours to list: the same answer
            continue
    raise _refused()


def sweep_folders() -> list[str]:
    """The sweep folders in the workspace (those with a summary.csv), by name relative to the
    workspace, newest first; folders whose link leads out of the workspace are left out."""
    base = root()
    if not base.is_dir():
        return []
    found = []
    for p in base.iterdir():
        summary = p / "summary.csv"
        try:
            if inside(p, base=base) and inside(summary, base=base) and summary.is_file():
                found.append((summary.stat().st_mtime, p.name))
        except OSError:
            continue
    return [name for _, name in sorted(found, reverse=True)]
