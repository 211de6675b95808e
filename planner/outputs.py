"""Writing results without losing anything the user wrote.

Two rules, for every command that writes:

- **Never over an input.**  A result file never replaces a file that an input of the command
  names (the scenario, its forecast CSV, a targets or rules file), with or without ``--force``.
- **Whole or absent.**  A single file is written to a temporary name beside it and renamed into
  place; a results folder is built as a hidden ``.NAME.partial-PID-XXXX`` folder beside the
  target and renamed into place when complete, so a folder is either whole or not there.
  Leftovers of a killed run (whose process is gone) are removed by the next run.

Files and folders follow the umask, as files made by ``open`` do (``tempfile`` would make them
private to the user, and colleagues could not read the results).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sim.errors import InputError

__all__ = ["write_new_file", "output_folder", "check_out_dir", "umask"]

_PARTIAL = ".partial-"


def umask() -> int:
    """The process umask, read without changing it (``os.umask`` sets it, racing threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _follow_umask(path: Path, *, folder: bool = False) -> None:
    os.chmod(path, (0o777 if folder else 0o666) & ~umask())


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.resolve() == b.resolve()
    except OSError:
        return False


def write_new_file(path: Path, write: Callable[[Path], Any], *, force: bool,
                   protect: Sequence[Path] = (), field: str = "--out") -> None:
    """Write a result file atomically; never over an input, nor over a file without --force.

    ``write(tmp_path)`` writes the content; the file appears under ``path`` only complete.
    """
    path = Path(path)
    for p in protect:
        if _same_file(path, Path(p)):
            raise InputError("is an input of this command; refusing to overwrite it",
                             file=path, field=field)
    if path.is_dir():
        raise InputError("is a folder (expected the path of a file to write)", file=path,
                         field=field)
    if path.exists() and not force:
        raise InputError("already exists; choose another path or add --force to replace it",
                         file=path, field=field)
    if not path.parent.exists():
        raise InputError(f"folder {path.parent} does not exist", file=path, field=field)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write there ({exc.strerror})", file=path,
                         field=field) from None
    os.close(fd)
    try:
        write(Path(tmp))
        _follow_umask(Path(tmp))
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"cannot write ({exc.strerror})", file=path, field=field) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check_out_dir(path: Path, *, force: bool, protect: Sequence[Path],
                  field: str = "--out") -> None:
    """Refuse a results folder that would mix with or replace what the user has."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError("exists and is not a folder", file=path, field=field)
    for p in protect:
        if path.resolve() == Path(p).resolve().parent and not force:
            raise InputError("is the folder of an input; choose a separate folder for "
                             "results", file=path, field=field)
    _remove_leftovers(path)
    if path.is_dir() and any(path.iterdir()) and not force:
        raise InputError("is not empty; choose a new folder or add --force to write into it",
                         file=path, field=field)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot be created ({exc.strerror or exc})", file=path,
                         field=field) from None
    if not os.access(path.parent, os.W_OK):
        raise InputError(f"cannot write in {path.parent} (permission denied)", file=path,
                         field=field)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_leftovers(path: Path) -> None:
    """Remove ``.NAME.partial-PID-*`` folders beside ``path`` whose process is gone."""
    parent = path.parent
    if not parent.is_dir():
        return
    prefix = f".{path.name}{_PARTIAL}"
    for entry in parent.iterdir():
        if not entry.name.startswith(prefix) or not entry.is_dir():
            continue
        pid_text = entry.name[len(prefix):].split("-", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def output_folder(path: Path, *, force: bool, protect: Sequence[Path] = (),
                  field: str = "--out") -> Iterator[Path]:
    """A folder to write results into; it appears under ``path`` only once the block ends
    without an error.

    Checks ``path`` first (see :func:`check_out_dir`).  With ``force`` into a folder that has
    files, each result replaces its namesake there (never a file an input names: refused
    before anything moves); otherwise the whole folder is renamed into place at once.
    """
    path = Path(path)
    check_out_dir(path, force=force, protect=protect, field=field)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}{_PARTIAL}{os.getpid()}-",
                                    dir=path.parent))
    except OSError as exc:
        raise InputError(f"cannot be created ({exc.strerror or exc})", file=path,
                         field=field) from None
    try:
        yield tmp
        _follow_umask(tmp, folder=True)
        if not path.exists() or (path.is_dir() and not any(path.iterdir())):
            os.replace(tmp, path)  # an empty folder is replaced whole (rename(2))
            return
        names = sorted(p.name for p in tmp.iterdir())
        for name in names:
            for p in protect:
                if _same_file(path / name, Path(p)):
                    raise InputError(f"{name} there is an input of this command; refusing to "
                                     "overwrite it (choose another folder)", file=path,
                                     field=field)
        for name in names:
            target = path / name
            if target.is_dir():
                raise InputError(f"{name} there is a folder; refusing to replace it",
                                 file=path, field=field)
            os.replace(tmp / name, target)
    except OSError as exc:
        raise InputError(f"cannot write ({exc.strerror or exc})", file=path,
                         field=field) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
