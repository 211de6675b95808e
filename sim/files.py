"""Reading the YAML files users write, with errors that name the file and the field.

The YAML reader is deliberately narrow, because files come from users and, in the app, from
uploads to a shared server: no aliases (``*name``: scenario files have no need for them, and
nested aliases expand exponentially: a 400-byte "billion laughs" file hangs any loader that
follows them), at most :data:`MAX_DEPTH` levels of nesting (deeper ends in a RecursionError),
at most :data:`MAX_YAML_BYTES` bytes, and no key given twice in one mapping (PyYAML keeps the
last silently: a second ``gold:`` group would replace the first roster).
"""

from __future__ import annotations

import re

from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from sim.errors import InputError

__all__ = ["load_yaml", "parse_yaml", "validate", "field_path", "StrictModel", "quote",
           "MAX_YAML_BYTES", "MAX_DEPTH"]

MAX_YAML_BYTES = 5_000_000  # a week of 15-minute inline arrivals for 20 queues is ~0.5 MB
MAX_DEPTH = 32  # scenario files nest 6 levels deep
QUOTE_LIMIT = 80

M = TypeVar("M", bound=BaseModel)


def _admits_bool(annotation: Any) -> bool:
    # A nested model checks its own fields; Any (and bool) take a true/false as it is.
    if annotation is bool or annotation is Any or (isinstance(annotation, type)
                                                   and issubclass(annotation, BaseModel)):
        return True
    return any(_admits_bool(a) for a in get_args(annotation))


def _bool_inside(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, dict):
        return any(_bool_inside(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_bool_inside(v) for v in value)
    return False


class StrictModel(BaseModel):
    """Base of every model users write: unknown keys are errors, values are frozen, numbers are
    finite (``.inf`` is no handle time), and a true/false never stands for a number, not even
    inside a mapping such as ``speed: {presales: true}`` (YAML reads `yes` as true; pydantic
    would make it 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if _bool_inside(value) and not _admits_bool(cls.model_fields[info.field_name].annotation):
            if isinstance(value, bool):
                raise ValueError(f"expected a number or text, got {str(value).lower()}")
            raise ValueError("expected numbers or text, got true/false inside")
        return value


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters with "...".

    A message must stay one readable line whatever the user wrote (a 400-character binary
    header, a list of a million numbers): long containers are not even rendered whole.
    """
    if isinstance(value, (list, tuple, dict, set)) and len(value) > limit:
        text = f"{type(value).__name__} of {len(value):,} items"
        return text
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class _YAMLRefused(yaml.YAMLError):
    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases, with a nesting limit and no duplicate keys."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _YAMLRefused(f"alias *{event.anchor} is not allowed (scenario files need no "
                               "anchors or aliases: write the value out)", event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _YAMLRefused(f"nested more than {MAX_DEPTH} levels deep", 
                               self.peek_event().start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: PyYAML names it below
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise _YAMLRefused(f"key {quote(key)} is given twice (lines {first} and "
                                   f"{line}); keep one", key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)


def parse_yaml(text: str, *, source: str | Path) -> dict[str, Any]:
    """The top-level mapping of YAML ``text`` (see the module doc for what is refused)."""
    if len(text) > MAX_YAML_BYTES:
        raise InputError(f"{len(text):,} characters is too large for a scenario, targets or "
                         f"grid file (at most {MAX_YAML_BYTES:,})", file=source)
    if "\0" in text:
        raise InputError("not a text file (expected UTF-8 YAML)", file=source)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{where}not valid YAML ({problem})"
                         if not isinstance(exc, _YAMLRefused) else f"{where}{problem}",
                         file=source) from None
    except RecursionError:
        raise InputError(f"nested too deeply (at most {MAX_DEPTH} levels)",
                         file=source) from None
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of keys to values at the top, found "
                         f"{type(data).__name__}", file=source)
    return data


def load_yaml(path: str | Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file; an :class:`InputError` if there is none."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=path)
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise InputError(f"{size:,} bytes is too large for a scenario, targets or grid "
                             f"file (at most {MAX_YAML_BYTES:,})", file=path)
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("not a text file (expected UTF-8 YAML)", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", file=path) from None
    return parse_yaml(text, source=path)


def field_path(loc: tuple[Any, ...]) -> str:
    """pydantic's error location as a key path: ``queues.presales.target.within_s``,
    ``agent_groups.gold.shifts[0].agents``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def validate(model: type[M], data: Any, *, file: str | Path, prefix: tuple[Any, ...] = ()) -> M:
    """``model.model_validate(data)``, with the first error as an :class:`InputError`.

    ``prefix`` is the location of ``data`` in the file, for the field path of messages.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # A misspelt key shows up twice: as an unknown key and as the required key it was
        # meant to be.  Name the misspelling: it is what the user must fix.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p
                                                   and p.startswith(("function", "tagged"))))
        # Class names mean nothing in a scenario file ("... or instance of CallbackSpec").
        msg = re.sub(r" or instance of \w+", "", err["msg"].removeprefix("Value error, "))
        # A tuple is how the model keeps a list; the file has lists.
        msg = msg.replace("a valid tuple", "a list")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling; see the README for the format)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        given = err.get("input")
        if err["type"] not in ("missing", "extra_forbidden") and not isinstance(given, dict) \
                and ", got " not in msg:
            msg += f", got {quote(given)}"
        more = len(errors) - 1
        if more:
            msg += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise InputError(msg, file=file, field=field_path(prefix + loc) or None) from None
