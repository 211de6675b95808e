"""Files the app reads: shipped scenarios, forecasts and targets, and what the user uploads.

Every reader goes through the same planner/sim functions as the command line
(:func:`~sim.scenario.load_scenario`, :func:`~sim.forecast.read_forecast`,
:func:`~planner.staffing.read_targets`), so a bad file gets the very message ``peakplan`` prints
for it (``str(InputError)``).  An upload is written to a private temporary folder under its own
file name first; messages name the file as uploaded, not the temporary folder.

A scenario lives in the app as YAML text (:func:`scenario_text`): :meth:`Scenario.to_dict` with
the arrivals inline, so it needs no forecast file next to it, it can be downloaded as it is, and
it is a plain string that cached functions can key on.

Uploads come from anyone who can reach the app: each is at most :data:`MAX_UPLOAD_MB` (the
``server.maxUploadSize`` of ``.streamlit/config.toml``, which the browser's uploader enforces
first), and the pages read them through :mod:`app_pages.bounded` (a child process with a time
limit), calling the ``read_uploaded_*`` functions here, which run in that child.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import TypeVar

import pandas as pd
import yaml

from sim.errors import InputError
from sim.files import load_yaml
from sim.forecast import Forecast, read_forecast
from planner.staffing import QueuePlan, read_targets
from sim.scenario import Scenario, load_scenario, scenario_from_dict

__all__ = ["SCENARIOS", "MAX_UPLOAD_MB", "MAX_SUMMARY_COLUMNS", "Upload", "shipped_scenarios",
           "shipped_forecasts", "shipped_targets", "scenario_text", "scenario_from_text",
           "read_uploaded_scenario", "uploaded_scenario_text", "read_uploaded_forecast",
           "read_uploaded_targets", "read_uploaded_summary", "read_summary_csv",
           "check_sweep_summary", "uploaded_name"]

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
# A week of 15-minute intervals for 20 queues is ~0.5 MB as a forecast CSV or inline arrivals;
# 5 MB leaves room for a month and stays quick to read.  Also .streamlit/config.toml's
# server.maxUploadSize (a test keeps the two equal).
MAX_UPLOAD_MB = 5
MAX_SUMMARY_COLUMNS = 1_000  # a sweep's summary.csv: ~20 measures and the varied key paths

T = TypeVar("T")


@dataclass(frozen=True)
class Upload:
    """An uploaded file: its name as the user's browser gave it, and its bytes."""

    name: str
    data: bytes

    @classmethod
    def of(cls, uploaded: object | None) -> Upload | None:
        """From what ``st.file_uploader`` returns (None when nothing is uploaded)."""
        if uploaded is None:
            return None
        return cls(name=str(getattr(uploaded, "name", "upload")),
                   data=bytes(uploaded.getvalue()))  # type: ignore[attr-defined]

    def check_size(self) -> None:
        """Refuse a file over :data:`MAX_UPLOAD_MB` (the browser refuses it first; this holds
        for any other client of the server)."""
        if len(self.data) > MAX_UPLOAD_MB * 1024 * 1024:
            raise InputError(f"{len(self.data) / (1024 * 1024):,.1f} MB is over the app's limit "
                             f"of {MAX_UPLOAD_MB} MB for an upload (a forecast of a week of "
                             "15-minute intervals for 20 queues is about 0.5 MB)",
                             file=uploaded_name(self.name))


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios under ``scenarios/`` by name (``normal_day``, ``singles_day``)."""
    # Targets and planning-rules files live beside the scenarios but are not scenarios.
    return {p.stem: p for p in sorted(SCENARIOS.glob("*.yaml"))
            if not p.stem.endswith(("_targets", "_rules"))}


def shipped_forecasts() -> dict[str, Path]:
    return {p.name: p for p in sorted(SCENARIOS.glob("*_forecast.csv"))}


def shipped_targets() -> dict[str, Path]:
    return {p.name: p for p in sorted(SCENARIOS.glob("*_targets.yaml"))}


def scenario_text(scenario: Scenario) -> str:
    """The scenario as self-contained YAML (arrivals inline, scale applied), floats without
    the noise of binary arithmetic (``496.8``, not ``496.79999999999995``)."""
    from sim.yaml_edit import tidy

    return yaml.safe_dump(tidy(scenario.to_dict()), sort_keys=False, allow_unicode=True,
                          width=100)


def scenario_from_text(text: str, *, source: str) -> Scenario:
    """A scenario from :func:`scenario_text` (or any scenario YAML with inline arrivals).

    For the app's own texts (an upload is read by :func:`read_uploaded_scenario`, in a child
    process): libyaml's safe loader when there is one, as each run and edit parses the text
    again in the server (a month of inline arrivals: a second in pure Python)."""
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc})", file=source) from None
    if not isinstance(data, dict):
        raise InputError("expected a mapping of keys to values at the top", file=source)
    return scenario_from_dict(data, source=source)


def uploaded_name(name: str) -> str:
    """The last part of an uploaded file's name (never a path out of the temporary folder)."""
    base = Path(name.replace("\\", "/")).name
    return base if base not in ("", ".", "..") else "upload"


@contextmanager
def _upload_folder() -> Iterator[Path]:
    """A private temporary folder; messages naming files in it are rewritten by
    :func:`_as_uploaded`."""
    with tempfile.TemporaryDirectory(prefix="peakplan-upload-") as tmp:
        yield Path(tmp)


def _as_uploaded(exc: InputError, folder: Path) -> InputError:
    """The same error, naming files as the user uploaded them (without the temporary folder)."""
    prefixes = {str(folder) + os.sep, str(folder.resolve()) + os.sep}

    def strip(text: str | None) -> str | None:
        if text is None:
            return None
        for p in prefixes:
            text = text.replace(p, "")
        return text

    return InputError(strip(exc.problem) or "", file=strip(exc.file), field=exc.field)


def _read(upload: Upload, reader: Callable[[Path], T], folder: Path) -> T:
    path = folder / uploaded_name(upload.name)
    path.write_bytes(upload.data)
    try:
        return reader(path)
    except InputError as exc:
        raise _as_uploaded(exc, folder) from None


def read_uploaded_scenario(scenario: Upload, forecast: Upload | None = None) -> Scenario:
    """Validate an uploaded scenario YAML.

    A scenario whose ``arrivals.file`` is a path relative to the scenario file cannot find that
    file in an upload: the forecast CSV must be uploaded with it (``forecast``; it is put where
    the scenario expects it, whatever its own name).  An absolute ``arrivals.file``, or one
    out of the scenario's folder, is refused: an upload reads no file of the server.  A
    scenario with inline arrivals needs nothing else.
    """
    with _upload_folder() as folder:
        name = uploaded_name(scenario.name)
        data = _read(scenario, load_yaml, folder)
        arrivals = data.get("arrivals")
        file = arrivals.get("file") if isinstance(arrivals, dict) else None
        if isinstance(file, str) and (Path(file).is_absolute()
                                      or PureWindowsPath(file).is_absolute()):
            # The server's own files are not the user's to read.
            raise InputError(
                f"forecast file not found in the upload: {file!r} is an absolute path, which "
                "an uploaded scenario cannot read (expected the file name of the forecast CSV "
                "uploaded with it, or the arrivals given inline)", file=name,
                field="arrivals.file")
        if isinstance(file, str):
            if forecast is None:
                raise InputError(
                    f"the forecast {file!r} is a file next to the scenario, which an upload "
                    "does not bring along (expected the forecast CSV uploaded with the "
                    "scenario, or the arrivals given inline: a list of contacts per interval "
                    "for each queue)", file=name, field="arrivals.file")
            target = (folder / file).resolve()
            if folder.resolve() not in target.parents:
                raise InputError(f"{file!r} is outside the scenario's folder (expected a file "
                                 "name next to the scenario)", file=name,
                                 field="arrivals.file")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(forecast.data)
        loaded = _read(scenario, load_scenario, folder)
        # The scenario is kept as text with its arrivals inline: nothing in it points to the
        # temporary folder, which is gone after this.
        return dataclasses.replace(loaded, source=name, base_dir=None)


def uploaded_scenario_text(scenario: Upload, forecast: Upload | None = None) -> str:
    """:func:`read_uploaded_scenario` as self-contained YAML text (:func:`scenario_text`)."""
    return scenario_text(read_uploaded_scenario(scenario, forecast))


def read_uploaded_forecast(upload: Upload, *, interval_min: float | None = None) -> Forecast:
    """Validate an uploaded forecast CSV (the checks of ``peakplan staff --forecast``)."""
    with _upload_folder() as folder:
        forecast = _read(upload, lambda p: read_forecast(p, interval_min=interval_min), folder)
    return dataclasses.replace(forecast, source=uploaded_name(upload.name))


def read_uploaded_targets(upload: Upload) -> dict[str, QueuePlan]:
    """Validate an uploaded targets YAML (the checks of ``peakplan staff --targets``)."""
    with _upload_folder() as folder:
        return _read(upload, read_targets, folder)


def check_sweep_summary(summary: pd.DataFrame, source: str) -> None:
    """The columns a sweep's summary.csv has (point, queue, service_level), and not more than
    :data:`MAX_SUMMARY_COLUMNS`."""
    if summary.shape[1] > MAX_SUMMARY_COLUMNS:
        raise InputError(f"{summary.shape[1]:,} columns (at most {MAX_SUMMARY_COLUMNS:,}: "
                         "expected the summary.csv of peakplan sweep)", file=source)
    missing = [c for c in ("point", "queue", "service_level") if c not in summary.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (expected the summary.csv of "
                         "peakplan sweep)", file=source)


def read_summary_csv(data: bytes | Path, *, source: str) -> pd.DataFrame:
    """A sweep's summary.csv (bytes, or a file), checked by :func:`check_sweep_summary`."""
    try:
        summary = pd.read_csv(io.BytesIO(data) if isinstance(data, bytes) else data)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        # pandas quotes the offending text: a binary file's would fill the page
        first = first if len(first) <= 80 else first[:77] + "..."
        raise InputError(f"not a readable CSV ({first})", file=source) from None
    check_sweep_summary(summary, source)
    return summary


def read_uploaded_summary(upload: Upload) -> pd.DataFrame:
    """An uploaded summary.csv of a sweep."""
    return read_summary_csv(upload.data, source=uploaded_name(upload.name))
