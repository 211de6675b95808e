"""Reading the YAML files users write, with errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from sim.errors import InputError

__all__ = ["load_yaml", "validate", "field_path", "StrictModel"]

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every model users write: unknown keys are errors, values are frozen, and a
    true/false never stands for a number (YAML reads `yes` as true; pydantic would make it 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool):
            annotation = cls.model_fields[info.field_name].annotation
            if annotation is not bool:
                raise ValueError(f"expected a number or text, got {str(value).lower()}")
        return value


def load_yaml(path: str | Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file; an :class:`InputError` if there is none."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError("not a text file (expected UTF-8 YAML)", file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{where}not valid YAML ({problem})", file=path) from None
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of keys to values at the top, found "
                         f"{type(data).__name__}", file=path)
    return data


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
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling; see the README for the format)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        given = err.get("input")
        if err["type"] not in ("missing", "extra_forbidden") and not isinstance(given, dict) \
                and ", got " not in msg:
            msg += f", got {given!r}"
        more = len(errors) - 1
        if more:
            msg += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise InputError(msg, file=file, field=field_path(prefix + loc) or None) from None
