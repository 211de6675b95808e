"""Edit a scenario file's YAML text by key path, keeping its comments and layout.

The app's edits are ``{key path: value}`` changes (``agent_groups.gold.shifts[0].agents: 14``,
``arrivals.scale: {presales: 1.2}``; :data:`DELETE` removes a key or a list item).  Applied to
the user's own file with ruamel.yaml's round-trip loader, only the edited values change: the
comments, the key order, flow mappings such as ``- {start: "09:00", end: "20:00", agents: 8}``
and every value not edited are written back as they were.

Floats are written with at most :data:`SIGNIFICANT` significant digits
(``496.79999999999995`` -> ``496.8``): the noise of binary arithmetic is not a planner's number.

Pure functions of their arguments (text in, text out); errors are
:class:`~sim.errors.InputError` naming the key path.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
import yaml as pyyaml

from sim.errors import InputError
from sim.scenario import parse_path

__all__ = ["DELETE", "Rename", "SIGNIFICANT", "load", "dump", "apply_changes", "edit_text", "tidy"]

SIGNIFICANT = 10


class _Delete:
    """The value of a change that removes the key (or list item) at its path."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()


class Rename(str):
    """The value of a change that renames the key at its path (kept at its place, with its
    comments): ``{"agent_groups.temp": Rename("temps")}``."""

    def __repr__(self) -> str:
        return f"Rename({str(self)!r})"


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never fold a long flow mapping the file wrote on one line
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def load(text: str, *, source: str = "scenario") -> Any:
    """The round-trip document of ``text`` (comments kept)."""
    try:
        return _yaml().load(text)
    except YAMLError as exc:
        raise InputError(f"not valid YAML ({exc})", file=source) from None


def dump(doc: Any) -> str:
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue()


def tidy(value: Any) -> Any:
    """``value`` with floats rounded to :data:`SIGNIFICANT` significant digits (whole floats
    kept as floats: ``1.0`` stays a number of the same kind)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return value
        return float(f"{value:.{SIGNIFICANT}g}")
    if isinstance(value, Mapping):
        return {k: tidy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [tidy(v) for v in value]
    return value


def _scalar(value: Any) -> Any:
    """A new scalar as written: floats tidied; a string quoted when a YAML 1.1 reader (PyYAML,
    which peakplan reads files with) would read it as something else (``09:00`` is the
    sexagesimal number 540 there)."""
    value = tidy(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)  # 45, not 45.0: as a planner writes it
    if isinstance(value, str) and not isinstance(value, DoubleQuotedScalarString):
        try:
            plain = pyyaml.safe_load(value) == value
        except pyyaml.YAMLError:
            plain = False
        if not plain or ":" in value:
            return DoubleQuotedScalarString(value)
    return value


def _flow_like(sibling: Any) -> bool:
    return isinstance(sibling, (CommentedMap, CommentedSeq)) and sibling.fa.flow_style()


def _node(value: Any, *, like: Any = None) -> Any:
    """Plain data as ruamel nodes; a mapping takes the flow style of ``like`` (a sibling), so
    a shift added to a list of one-line shifts is written on one line too."""
    value = tidy(value)
    if isinstance(value, Mapping):
        m = CommentedMap()
        for k, v in value.items():
            inner = like.get(k) if isinstance(like, Mapping) else None
            m[k] = _node(v, like=inner)
        if _flow_like(like):
            m.fa.set_flow_style()
        return m
    if isinstance(value, (list, tuple)):
        s = CommentedSeq()
        first = like[0] if isinstance(like, list) and len(like) else None
        for v in value:
            s.append(_node(v, like=first))
        if _flow_like(like) or (like is None and all(
                not isinstance(v, (Mapping, list, tuple)) for v in value)):
            s.fa.set_flow_style()  # a short list of numbers or names on one line
        return s
    return _scalar(value)


def _set(doc: Any, path: str, value: Any, *, source: str) -> None:
    try:
        parts = parse_path(path)
    except ValueError as exc:
        raise InputError(str(exc), file=source, field=path) from None
    node = doc
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(node, Mapping):
            if part not in node:
                if value is DELETE:
                    return  # nothing to remove
                node[part] = CommentedSeq() if isinstance(nxt, int) else CommentedMap()
            child = node[part]
            if child is None or not isinstance(child, (Mapping, list)):
                node[part] = CommentedSeq() if isinstance(nxt, int) else CommentedMap()
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            raise InputError("no such key in the file", file=source, field=path)
    last = parts[-1]
    if isinstance(node, Mapping):
        if value is DELETE:
            node.pop(last, None)
            return
        if isinstance(value, Rename):
            if last not in node:
                raise InputError("no such key in the file to rename", file=source, field=path)
            if str(value) in node:
                raise InputError(f"{str(value)!r} is already a key here", file=source,
                                 field=path)
            keys = list(node.keys())
            at = keys.index(last)
            comment = node.ca.items.pop(last, None) if hasattr(node, "ca") else None
            item = node.pop(last)
            node.insert(at, str(value), item)
            if comment is not None:
                node.ca.items[str(value)] = comment
            return
        old = node.get(last)
        sibling = old if old is not None else next(
            (v for v in node.values() if isinstance(v, (Mapping, list))), None)
        if isinstance(old, (Mapping, list)) or isinstance(value, (Mapping, list, tuple)):
            new = _node(value, like=sibling)
            if old is not None and not isinstance(old, (Mapping, list)):
                # A number that becomes a mapping (scale: 1.0 -> one per queue) stays on its
                # line, where its comment is.
                new.fa.set_flow_style()
            node[last] = new
        else:
            node[last] = _scalar(value)
    elif isinstance(node, list) and isinstance(last, int):
        if value is DELETE:
            if last < len(node):
                del node[last]
            return
        like = node[last] if last < len(node) else (node[-1] if len(node) else None)
        new = _node(value, like=like) if isinstance(value, (Mapping, list, tuple)) \
            else _scalar(value)
        if last < len(node):
            node[last] = new
        elif last == len(node):
            node.append(new)
        else:
            raise InputError(f"index {last} is beyond the list's end ({len(node)} items)",
                             file=source, field=path)
    else:
        raise InputError("no such key in the file", file=source, field=path)


def _order(changes: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    """Deletions of list items last and from the back, so that earlier indexes stay valid."""
    items = list(changes.items())
    # Renames first: the other changes name the new keys.
    items = [pv for pv in items if isinstance(pv[1], Rename)] + \
        [pv for pv in items if not isinstance(pv[1], Rename)]
    keep = [(p, v) for p, v in items if not (v is DELETE and p.endswith("]"))]
    drop = [(p, v) for p, v in items if v is DELETE and p.endswith("]")]
    drop.sort(key=lambda pv: [(-x if isinstance(x, int) else 0) for x in parse_path(pv[0])])
    return keep + drop


def apply_changes(doc: Any, changes: Mapping[str, Any], *, source: str = "scenario") -> Any:
    """Apply ``{key path: value | DELETE}`` to a round-trip document, in place; returns it."""
    for path, value in _order(changes):
        _set(doc, path, value, source=source)
    return doc


def edit_text(text: str, changes: Mapping[str, Any], *, source: str = "scenario") -> str:
    """``text`` with the changes applied; unchanged text when there are none."""
    if not changes:
        return text
    doc = load(text, source=source)
    if not isinstance(doc, Mapping):
        raise InputError("expected a mapping of keys to values at the top", file=source)
    return dump(apply_changes(doc, changes, source=source))
