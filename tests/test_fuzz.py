"""Fuzz test of the CLI's edge: hundreds of broken inputs, each a one-line message or a result.

A seeded generator (``numpy.random.default_rng(SEED)``, so every run builds the same cases)
mutates the shipped scenarios, forecasts and targets files: deleted keys, wrong types,
NaN/inf/huge/negative numbers, unicode, binary bytes, duplicate keys, YAML aliases and small
alias bombs, deep nesting, truncated files, time zones.  Each case runs through
``planner.cli.main`` in-process (``staff --forecast F --targets T``, ``simulate S --reps 1``,
``sweep S --vary ... --out DIR``, ``review S --reps 1 --fix-case none --out DIR``) and must
either succeed (exit 0) or fail as the CLI promises (exit 2 and exactly one line on stderr,
starting ``peakplan: ``, at most :data:`MESSAGE_LIMIT` characters with no control characters
and no stray warning before it), within :data:`CASE_LIMIT_S` seconds and without an exception.

The shipped scenarios are shrunk first (their first 8 intervals, a tenth of the volumes) so
that a case that runs through is quick.  Every failure is collected and reported at the end
with its mutation, command and what happened, so one run lists them all.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import signal
import threading
import time
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
import pytest
import yaml

from planner.cli import main

SEED = 20261201
CASES = {"staff-forecast": 70, "staff-targets": 60, "staff-semantic": 11, "simulate": 110,
         "simulate-forecast": 35, "simulate-semantic": 24, "sweep": 45, "sweep-vary": 20,
         "review": 30}
CASE_LIMIT_S = 20
# The longest one-line message accepted (the case's folder counted as "DIR").
MESSAGE_LIMIT = 400
# A case that tries to allocate too much gets a MemoryError (reported) rather than taking
# the machine down with it.
MEMORY_LIMIT_BYTES = 8 * 2**30
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BASES = ("normal_day", "singles_day")


# --------------------------------------------------------------------------------------------
# Base inputs: the shipped files, shrunk
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Base:
    name: str
    scenario: dict[str, Any]  # arrivals.file is "forecast.csv"
    forecast: pd.DataFrame  # strings, as in the file
    targets_text: str


def load_bases() -> list[Base]:
    bases = []
    for name in BASES:
        scenario = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8"))
        fc = pd.read_csv(SCENARIOS / f"{name}_forecast.csv", dtype=str)
        first = sorted(fc["interval_start"].unique())[:8]
        fc = fc[fc["interval_start"].isin(first)].reset_index(drop=True)
        fc["contacts"] = (fc["contacts"].astype(float) * 0.1).round(1).map("{:g}".format)
        scenario["arrivals"]["file"] = "forecast.csv"
        bases.append(Base(name, scenario, fc,
                          (SCENARIOS / f"{name}_targets.yaml").read_text(encoding="utf-8")))
    return bases


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def dump_csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


# --------------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------------
WRONG_TYPES: list[Any] = ["abc", [1, 2], {"x": 1}, None, True, False, "", "30s", "1h30m"]
BAD_NUMBERS: list[Any] = [math.nan, math.inf, -math.inf, 1e308, -1, -1e-9, 0, 10**30, 1e-300,
                          2**63, 0.5, 1e9, 10**6, -0.0]
UNICODE: list[str] = ["prés€ales", "😀", "\u202eevil", "z\u200b", "日本語", "a\tb", "a\nb",
                      "'\"", "${HOME}", "../../etc/passwd", "x" * 400]
BAD_CELLS: list[str] = ["nan", "inf", "-inf", "-1", "1e308", "1e400", "1e20", "abc", "",
                        "1,5", "0x10", "-0", "true", "😀", "1e-320", "NaN", "x" * 400]
BAD_TIMES: list[str] = ["", "garbage", "2026-13-45T00:00", "2026-11-04T00:00+25:00",
                        "9999-12-31T23:59", "0001-01-01", "2026-11-04T00:00:00.5",
                        "2026-11-04 00:00Z", "1e9", "2026-11-04T24:00", "tomorrow", "😀"]


@dataclass
class Mutant:
    description: str
    text: str | bytes


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path in a nested structure of dicts and lists (the root excluded)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield prefix + (i,)
            yield from _paths(value, prefix + (i,))


def _copy(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for part in path[:-1]:
        node = node[part]
    return node


def _label(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _choice(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _yaml_lines_with_values(text: str) -> list[int]:
    return [i for i, line in enumerate(text.splitlines())
            if ":" in line and not line.lstrip().startswith(("#", "-"))
            and line.split(":", 1)[1].split("#")[0].strip()]


def mutate_yaml(rng: np.random.Generator, data: dict[str, Any]) -> Mutant:
    """One mutation of a YAML document given as data (structure) or its text."""
    kind = _choice(rng, ["delete", "delete", "wrong-type", "number", "numeric-leaf",
                         "numeric-leaf", "numeric-leaf", "scale-leaf", "text-leaf", "unicode",
                         "unicode-key", "semantic", "semantic", "duplicate-key", "alias",
                         "alias-bomb", "deep-nesting", "truncate", "binary", "binary-inside",
                         "empty", "not-a-mapping", "tabs", "add-unknown-key"])
    text = dump_yaml(data)
    paths = list(_paths(data))
    numeric = [p for p in paths if isinstance(_get(data, p), (int, float))
               and not isinstance(_get(data, p), bool)]
    texts = [p for p in paths if isinstance(_get(data, p), str)]
    if kind in ("numeric-leaf", "scale-leaf") and numeric:
        mutated = _copy(data)
        path = _choice(rng, numeric)
        parent = _parent(mutated, path)
        if kind == "numeric-leaf":
            value = _choice(rng, BAD_NUMBERS)
        else:
            factor = _choice(rng, [0, 1e-6, 0.01, 3, 100, 1e4, 1e6, -1])
            value = parent[path[-1]] * factor
        parent[path[-1]] = value
        return Mutant(f"{_label(path)} = {_short(value)}", dump_yaml(mutated))
    if kind == "text-leaf" and texts:
        mutated = _copy(data)
        path = _choice(rng, texts)
        value = _choice(rng, ["24:00", "23:59", "00:00", "12:60", "7:5", "-01:00", "08:00:30",
                              "2026-11-04T00:00+08:00", "2026-11-04", "1970-01-01T00:00",
                              "voice", "chat", "exponential", "lognormal", "", " "])
        _parent(mutated, path)[path[-1]] = value
        return Mutant(f"{_label(path)} = {_short(value)}", dump_yaml(mutated))
    if kind == "semantic":
        return _semantic(rng, data)
    if kind in ("delete", "wrong-type", "number", "unicode", "unicode-key") and paths:
        mutated = _copy(data)
        path = _choice(rng, paths)
        parent = _parent(mutated, path)
        if kind == "delete":
            del parent[path[-1]]
            return Mutant(f"delete {_label(path)}", dump_yaml(mutated))
        if kind == "unicode-key":
            if isinstance(parent, dict):
                new_key = _choice(rng, UNICODE)
                parent[new_key] = parent.pop(path[-1])
                return Mutant(f"rename key {_label(path)} to {_short(new_key)}",
                              dump_yaml(mutated))
            kind = "unicode"
        value = _choice(rng, {"wrong-type": WRONG_TYPES, "number": BAD_NUMBERS,
                              "unicode": UNICODE}[kind])
        parent[path[-1]] = value
        # safe_dump writes nan/inf as .nan/.inf, which YAML reads back as floats.
        return Mutant(f"{_label(path)} = {_short(value)}", dump_yaml(mutated))
    lines = text.splitlines()
    with_values = _yaml_lines_with_values(text)
    if kind == "duplicate-key" and with_values:
        i = _choice(rng, with_values)
        copy = lines[i]
        if rng.random() < 0.5:
            key, _ = copy.split(":", 1)
            copy = f"{key}: {_choice(rng, ['15', '30', 'abc', '0', '-1'])}"
        lines.insert(i + 1, copy)
        return Mutant(f"duplicate key line {i + 1} ({lines[i].strip()[:40]!r} twice)",
                      "\n".join(lines) + "\n")
    if kind == "alias" and len(with_values) >= 2:
        i, j = sorted(rng.choice(with_values, size=2, replace=False))
        key_i, value_i = lines[i].split(":", 1)
        key_j, _ = lines[j].split(":", 1)
        lines[i] = f"{key_i}: &anchor {value_i.split('#')[0].strip()}"
        lines[j] = f"{key_j}: *anchor"
        return Mutant(f"alias: line {j + 1} reuses line {i + 1}'s value",
                      "\n".join(lines) + "\n")
    if kind == "alias-bomb":
        levels, width = int(rng.integers(3, 6)), int(rng.integers(3, 6))
        bomb = [f"bomb0: &a0 [{', '.join(['lol'] * width)}]"]
        for k in range(1, levels):
            bomb.append(f"bomb{k}: &a{k} [{', '.join([f'*a{k - 1}'] * width)}]")
        if rng.random() < 0.5 and with_values:
            # The bomb's last level as the value of a real key.
            i = _choice(rng, with_values)
            key, _ = lines[i].split(":", 1)
            lines[i] = f"{key}: *a{levels - 1}"
            where = f"as the value of line {i + 1}"
        else:
            where = "as unknown top-level keys"
        return Mutant(f"alias bomb {width}^{levels} {where}", "\n".join(bomb + lines) + "\n")
    if kind == "deep-nesting" and with_values:
        depth = int(_choice(rng, [50, 1000, 5000]))
        i = _choice(rng, with_values)
        key, _ = lines[i].split(":", 1)
        opener, closer = _choice(rng, [("[", "]"), ("{a: ", "}")])
        lines[i] = f"{key}: {opener * depth}1{closer * depth}"
        return Mutant(f"nesting {depth} deep ({opener.strip()}) at line {i + 1}",
                      "\n".join(lines) + "\n")
    if kind == "truncate":
        cut = int(rng.integers(1, max(2, len(text))))
        return Mutant(f"truncated at character {cut} of {len(text)}", text[:cut])
    if kind == "binary":
        size = int(rng.integers(16, 2000))
        return Mutant(f"{size} random bytes", rng.bytes(size))
    if kind == "binary-inside":
        raw = text.encode("utf-8")
        at = int(rng.integers(len(raw)))
        junk = rng.bytes(int(rng.integers(1, 64)))
        return Mutant(f"random bytes inserted at byte {at}", raw[:at] + junk + raw[at:])
    if kind == "empty":
        return Mutant("empty file", _choice(rng, ["", "\n", "# only a comment\n", "---\n"]))
    if kind == "not-a-mapping":
        other = _choice(rng, ["- a\n- b\n", "just text\n", "42\n", "[1, 2, 3]\n", "null\n"])
        return Mutant(f"top level is {other.strip()!r}", other)
    if kind == "tabs":
        return Mutant("indentation with tabs", text.replace("  ", "\t"))
    key = _choice(rng, UNICODE[:5])
    return Mutant(f"unknown top-level key {_short(key)}", text + f"{json.dumps(key)}: 1\n")


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for part in path:
        node = node[part]
    return node


TARGET_SEMANTICS: list[tuple[str, Any]] = [
    ("patience_s", 1e300), ("patience_s", 1e-300), ("aht_s", 1e-300), ("aht_s", 1e300),
    ("shrinkage", 0.999999), ("chat_concurrency", 10**6), ("chat_slowdown", 1e300),
    ("target", {"max_occupancy": 1e-300}),
    ("target", {"service_level": 0.999999999, "within_s": 0}),
    ("target", {"max_asa_s": 1e-300}), ("target", {"max_abandon": 1e-300})]
SCENARIO_SEMANTICS = ["transfer-loop", "transfer-cycle", "overlapping-breaks", "tz-start",
                      "tiny-interval", "huge-interval", "scale", "one-shift-huge",
                      "break-outside-shift", "no-agents", "priority-tie", "warmup"]


def _semantic(rng: np.random.Generator, data: dict[str, Any], pick: int | None = None
              ) -> Mutant:
    """A well-formed file that means something questionable (a scenario or a targets file);
    ``pick`` chooses the kind (else at random)."""
    mutated = _copy(data)
    if "agent_groups" not in mutated:  # a targets file
        queue = _choice(rng, sorted(mutated.get("queues", {"q": {}})))
        plan = mutated.setdefault("queues", {}).setdefault(queue, {})
        key, value = (TARGET_SEMANTICS[pick % len(TARGET_SEMANTICS)] if pick is not None
                      else _choice(rng, TARGET_SEMANTICS))
        plan[key] = value
        return Mutant(f"queues.{queue}.{key} = {_short(value)}", dump_yaml(mutated))
    queues = list(mutated["queues"])
    kind = (SCENARIO_SEMANTICS[pick % len(SCENARIO_SEMANTICS)] if pick is not None
            else _choice(rng, SCENARIO_SEMANTICS))
    if kind in ("transfer-loop", "transfer-cycle"):
        ring = queues[:2] if kind == "transfer-loop" else queues[:3]
        mutated["transfers"] = [{"from": a, "to": b, "probability": 1.0}
                                for a, b in zip(ring, ring[1:] + ring[:1])]
        return Mutant(f"transfers with probability 1 around {' -> '.join(ring)}",
                      dump_yaml(mutated))
    group = mutated["agent_groups"][_choice(rng, sorted(mutated["agent_groups"]))]
    shift = group["shifts"][0]
    if kind == "overlapping-breaks":
        hours, minutes = (int(v) for v in str(shift["start"]).split(":"))
        first = (hours * 60 + minutes + 60) % 1440
        shift["breaks"] = [{"start": f"{m // 60:02d}:{m % 60:02d}", "minutes": 60}
                           for m in (first, (first + 30) % 1440)]
        return Mutant(f"two overlapping breaks on one shift ({shift['breaks']})",
                      dump_yaml(mutated))
    if kind == "break-outside-shift":
        shift["breaks"] = [{"start": shift["end"], "minutes": 600}]
        return Mutant("a 10-hour break starting at the shift's end", dump_yaml(mutated))
    if kind == "tz-start":
        start = str(mutated["start"])[:16].replace(" ", "T")
        mutated["start"] = start + _choice(rng, ["+08:00", "Z", "+01:00", ":00.000001"])
        return Mutant(f"start = {mutated['start']}", dump_yaml(mutated))
    if kind in ("tiny-interval", "huge-interval"):
        mutated["interval_min"] = 1e-6 if kind == "tiny-interval" else 1e6
        return Mutant(f"interval_min = {mutated['interval_min']:g}", dump_yaml(mutated))
    if kind == "scale":
        mutated["arrivals"]["scale"] = _choice(rng, [True, 1e308, 1e-300, 0, 1e3, "1"])
        return Mutant(f"arrivals.scale = {mutated['arrivals']['scale']!r}", dump_yaml(mutated))
    if kind == "one-shift-huge":
        shift["agents"] = _choice(rng, [10**5, 10**6, 10**9, 10**30])
        return Mutant(f"one shift of {shift['agents']:,} agents", dump_yaml(mutated))
    if kind == "no-agents":
        for g in mutated["agent_groups"].values():
            for sh in g["shifts"]:
                sh["agents"] = 0
        return Mutant("every shift has 0 agents", dump_yaml(mutated))
    if kind == "priority-tie":
        for q in mutated["queues"].values():
            q["priority"] = 1
        return Mutant("every queue has priority 1", dump_yaml(mutated))
    mutated["warmup_min"] = _choice(rng, [1e9, -5, 10**6, 240])
    return Mutant(f"warmup_min = {mutated['warmup_min']}", dump_yaml(mutated))


def mutate_csv(rng: np.random.Generator, frame: pd.DataFrame) -> Mutant:
    """One mutation of a forecast table (strings)."""
    kind = _choice(rng, ["delete-column", "contacts-cell", "contacts-cell", "time-cell",
                         "dst-offsets", "mixed-offsets", "queue-id", "duplicate-row",
                         "aht-column", "extra-field", "missing-field", "binary",
                         "binary-inside", "truncate", "empty", "header-only", "crlf-bom",
                         "semicolons", "huge-volumes", "quoted-newline", "shuffle-rows",
                         "garbage-header"])
    fc = frame.copy()
    text = dump_csv(fc)
    row = int(rng.integers(len(fc)))
    if kind == "delete-column":
        column = _choice(rng, list(fc.columns))
        return Mutant(f"column {column} deleted", dump_csv(fc.drop(columns=[column])))
    if kind == "contacts-cell":
        value = _choice(rng, BAD_CELLS)
        fc.loc[row, "contacts"] = value
        return Mutant(f"contacts of row {row + 1} = {_short(value)}", dump_csv(fc))
    if kind == "time-cell":
        value = _choice(rng, BAD_TIMES)
        fc.loc[row, "interval_start"] = value
        return Mutant(f"interval_start of row {row + 1} = {_short(value)}", dump_csv(fc))
    if kind in ("dst-offsets", "mixed-offsets"):
        times = pd.to_datetime(fc["interval_start"])
        switch = times.unique()[len(times.unique()) // 2]
        if kind == "dst-offsets":
            # Clocks forward an hour at the middle interval: later times an hour later, +02:00.
            later = times >= switch
            shown = times + pd.to_timedelta(later.astype(int), unit="h")
            offsets = np.where(later, "+02:00", "+01:00")
            fc["interval_start"] = [f"{t:%Y-%m-%dT%H:%M}{o}" for t, o in zip(shown, offsets)]
            return Mutant("UTC offsets changing from +01:00 to +02:00 (DST) mid-file",
                          dump_csv(fc))
        fc["interval_start"] = [f"{t:%Y-%m-%dT%H:%M}" + ("+08:00" if t >= switch else "")
                                for t in times]
        return Mutant("offsets on the later half only", dump_csv(fc))
    if kind == "queue-id":
        value = _choice(rng, UNICODE + ["", " ", "nope"])
        fc.loc[row, "queue"] = value
        return Mutant(f"queue of row {row + 1} = {_short(value)}", dump_csv(fc))
    if kind == "duplicate-row":
        fc = pd.concat([fc, fc.iloc[[row]]], ignore_index=True)
        return Mutant(f"row {row + 1} twice", dump_csv(fc))
    if kind == "aht-column":
        value = _choice(rng, ["0", "-5", "inf", "nan", "1e308", "1e-300", "", "300", "abc"])
        fc["aht_s"] = "300"
        fc.loc[row, "aht_s"] = value
        return Mutant(f"aht_s column, row {row + 1} = {_short(value)}", dump_csv(fc))
    lines = text.splitlines()
    if kind == "extra-field":
        lines[row + 1] += ",7,8"
        return Mutant(f"row {row + 1} has extra fields", "\n".join(lines) + "\n")
    if kind == "missing-field":
        lines[row + 1] = lines[row + 1].rsplit(",", 1)[0]
        return Mutant(f"row {row + 1} lacks its last field", "\n".join(lines) + "\n")
    if kind == "binary":
        size = int(rng.integers(16, 2000))
        raw = rng.bytes(size)
        if rng.random() < 0.5:
            raw = raw.replace(b"\0", b"\1")  # decodable as Latin-1 junk, no NUL
        return Mutant(f"{size} random bytes", raw)
    if kind == "binary-inside":
        raw = text.encode("utf-8")
        at = int(rng.integers(len(raw)))
        return Mutant(f"random bytes inserted at byte {at}",
                      raw[:at] + rng.bytes(int(rng.integers(1, 64))) + raw[at:])
    if kind == "truncate":
        cut = int(rng.integers(1, len(text)))
        return Mutant(f"truncated at character {cut} of {len(text)}", text[:cut])
    if kind == "empty":
        return Mutant("empty file", _choice(rng, ["", "\n", "\ufeff"]))
    if kind == "header-only":
        return Mutant("header only", lines[0] + "\n")
    if kind == "crlf-bom":
        return Mutant("BOM and CRLF line ends", "\ufeff" + "\r\n".join(lines) + "\r\n")
    if kind == "semicolons":
        return Mutant("semicolon-separated", text.replace(",", ";"))
    if kind == "huge-volumes":
        factor = _choice(rng, [1e6, 1e9, 1e12, 1e300])
        fc["contacts"] = (fc["contacts"].astype(float) * factor).map("{:g}".format)
        return Mutant(f"every volume x {factor:g}", dump_csv(fc))
    if kind == "quoted-newline":
        fc.loc[row, "queue"] = "pre\nsales"
        return Mutant(f"queue of row {row + 1} has a quoted newline", dump_csv(fc))
    if kind == "shuffle-rows":
        order = rng.permutation(len(fc))
        return Mutant("rows shuffled", dump_csv(fc.iloc[order]))
    garbage = "".join(chr(int(c)) for c in rng.integers(0x21, 0x2FF, size=400))
    return Mutant("400-character garbage header", garbage + "\n" + "\n".join(lines[1:]) + "\n")


VARY = ["arrivals.scale=0.5,1", "arrivals.scale=nan", "arrivals.scale=-1",
        "arrivals.scale=1e308", "start=1", "interval_min=0",
        "agent_groups.gold.shifts[0].agents=1..3:1", "agent_groups.gold.shifts[0].agents=1e9",
        "queues.presales.aht_s=inf", "nope=1", "arrivals.scale=", "arrivals.scale=1..1000000:1",
        "queues.presales.patience_s=true", "agent_groups.gold.shifts[99].agents=1",
        "arrivals.scale=😀", "arrivals.scale=1..0:1", "arrivals.scale=1..2:0",
        "queues.presales.aht_s=-5,0", "=1", "arrivals=1", "name=1,2",
        "agent_groups.gold.shifts[0].agents=0.5", "arrivals.scale=" + ",".join(["1"] * 500)]


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------
@dataclass
class Case:
    command: str
    mutation: str
    files: dict[str, str | bytes]
    args: list[str]  # after the command; {dir} is the case's folder

    def argv(self, folder: Path) -> list[str]:
        return [self.command] + [a.replace("{dir}", str(folder)) for a in self.args]


def build_cases(seed: int = SEED) -> list[Case]:
    rng = np.random.default_rng(seed)
    bases = load_bases()
    cases: list[Case] = []
    for kind, count in CASES.items():
        for k in range(count):
            base = _choice(rng, bases)
            files: dict[str, str | bytes] = {
                "scenario.yaml": dump_yaml(base.scenario),
                "forecast.csv": dump_csv(base.forecast),
                "targets.yaml": base.targets_text}
            vary = "arrivals.scale=0.5,1"
            if kind == "staff-forecast" or kind == "simulate-forecast":
                mutant = mutate_csv(rng, base.forecast)
                files["forecast.csv"] = mutant.text
                what = f"{base.name} forecast: {mutant.description}"
            elif kind == "staff-targets":
                mutant = mutate_yaml(rng, yaml.safe_load(base.targets_text))
                files["targets.yaml"] = mutant.text
                what = f"{base.name} targets: {mutant.description}"
            elif kind == "staff-semantic":
                mutant = _semantic(rng, yaml.safe_load(base.targets_text), pick=k)
                files["targets.yaml"] = mutant.text
                what = f"{base.name} targets: {mutant.description}"
            elif kind == "simulate-semantic":
                mutant = _semantic(rng, base.scenario, pick=k)
                files["scenario.yaml"] = mutant.text
                what = f"{base.name} scenario: {mutant.description}"
            elif kind == "sweep-vary":
                vary = _choice(rng, VARY)
                what = f"{base.name} sweep --vary {vary!r}"
            else:
                mutant = mutate_yaml(rng, base.scenario)
                files["scenario.yaml"] = mutant.text
                what = f"{base.name} scenario: {mutant.description}"
            command = kind.split("-")[0]
            args = {"staff": ["--forecast", "{dir}/forecast.csv", "--targets",
                              "{dir}/targets.yaml"],
                    "simulate": ["{dir}/scenario.yaml", "--reps", "1"],
                    "sweep": ["{dir}/scenario.yaml", "--vary", vary, "--jobs", "1",
                              "--out", "{dir}/sweep"],
                    "review": ["{dir}/scenario.yaml", "--reps", "1", "--fix-case", "none",
                               "--cases", "base=1", "--out", "{dir}/review"]}[command]
            cases.append(Case(command, what, files, args))
    return cases


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------
class CaseTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def memory_limit(limit: int) -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    new = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (new, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@dataclass
class Outcome:
    case: Case
    folder: Path
    code: int | None = None
    stderr: str = ""
    error: str | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def problem(self) -> str | None:
        """What broke the CLI's promise, or None."""
        if self.error is not None:
            return self.error
        if self.code not in (0, 2):
            return f"exit {self.code}: {self.stderr.strip()[:300]!r}"
        if self.code == 2:
            lines = self.stderr.splitlines()
            if self.warnings:
                return f"exit 2 after a stray warning ({self.warnings[0][:200]}): {lines[-1:]}"
            if len(lines) != 1 or not lines[0].startswith("peakplan: "):
                return f"exit 2 with {len(lines)} stderr line(s): {self.stderr[:300]!r}"
            # Readable: values quoted in messages are cut (~80 characters) and escaped, so
            # neither a 400-character key nor a right-to-left override reaches the terminal.
            message = lines[0].replace(str(self.folder), "DIR")
            if len(message) > MESSAGE_LIMIT:
                return f"message of {len(message)} characters: {message[:300]!r}..."
            odd = [c for c in message if unicodedata.category(c) in ("Cc", "Cf")]
            if odd:
                return f"message holds control character U+{ord(odd[0]):04X}: {message[:300]!r}"
        return None


def run_case(case: Case, folder: Path, read: Callable[[], tuple[str, str]]) -> Outcome:
    folder.mkdir(parents=True)
    for name, content in case.files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
    outcome = Outcome(case, folder)
    read()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with time_limit(CASE_LIMIT_S):
                outcome.code = main(case.argv(folder))
        except CaseTimeout as exc:
            outcome.error = f"timeout: {exc}"
        except SystemExit as exc:  # argparse
            outcome.code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # noqa: BLE001 - every escape is the finding
            if isinstance(exc, KeyboardInterrupt):
                raise
            outcome.error = f"{type(exc).__name__}: {str(exc)[:300]}"
    outcome.seconds = time.perf_counter() - start
    outcome.warnings = [f"{w.category.__name__}: {str(w.message)[:200]}" for w in caught]
    outcome.stderr = read()[1]
    return outcome


def run_all(cases: list[Case], root: Path, read: Callable[[], tuple[str, str]]
            ) -> list[Outcome]:
    assert threading.current_thread() is threading.main_thread()  # signal.alarm needs it
    with memory_limit(MEMORY_LIMIT_BYTES):
        return [run_case(case, root / f"case{i:03d}", read) for i, case in enumerate(cases)]


def failure_report(outcomes: list[Outcome]) -> list[dict[str, str]]:
    return [{"case": o.folder.name, "mutation": o.case.mutation,
             "command": "peakplan " + " ".join(o.case.argv(o.folder)),
             "problem": o.problem() or ""}
            for o in outcomes if o.problem() is not None]


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------
def test_generator_is_deterministic_and_large_enough() -> None:
    first, second = build_cases(), build_cases()
    assert len(first) >= 300
    assert [(c.mutation, c.files) for c in first] == [(c.mutation, c.files) for c in second]
    kinds = " ".join(c.mutation for c in first)
    for word in ("delete", "alias bomb", "duplicate key", "nesting", "truncated",
                 "random bytes", "nan", "inf", "😀", "DST"):
        assert word in kinds, word


def test_shrunk_bases_run_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The unmutated inputs succeed: a failure in the fuzz is the mutation's."""
    bases = load_bases()
    cases = []
    for base in bases:
        files = {"scenario.yaml": dump_yaml(base.scenario),
                 "forecast.csv": dump_csv(base.forecast), "targets.yaml": base.targets_text}
        cases += [Case("staff", "none", files, ["--forecast", "{dir}/forecast.csv",
                                                "--targets", "{dir}/targets.yaml"]),
                  Case("simulate", "none", files, ["{dir}/scenario.yaml", "--reps", "1"])]
    outcomes = run_all(cases, tmp_path, capsys.readouterr)
    assert [o.code for o in outcomes] == [0] * len(cases), [o.stderr for o in outcomes]


@pytest.mark.slow
def test_fuzz_cli_gives_a_result_or_one_line(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cases = build_cases()
    start = time.perf_counter()
    outcomes = run_all(cases, tmp_path, capsys.readouterr)
    total = time.perf_counter() - start
    failures = failure_report(outcomes)
    report = os.environ.get("PEAKPLAN_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps(
            {"total_s": total, "cases": len(cases), "failures": failures,
             "exit_codes": [o.code for o in outcomes],
             "warnings_on_success": [[o.folder.name, o.case.mutation, o.warnings[:3]]
                                     for o in outcomes if o.code == 0 and o.warnings]},
            indent=1, ensure_ascii=False), encoding="utf-8")
    listing = "\n".join(f"{f['case']}: {f['mutation']}\n    {f['command']}\n    {f['problem']}"
                        for f in failures)
    assert not failures, f"{len(failures)} of {len(cases)} cases broke the promise:\n{listing}"
