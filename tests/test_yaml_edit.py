"""sim.yaml_edit: a scenario file edited by key path keeps its comments and layout, changes only
the edited values, and writes floats without binary noise."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from sim.errors import InputError
from sim.scenario import load_scenario
from sim.yaml_edit import DELETE, Rename, edit_text, tidy

ROOT = Path(__file__).resolve().parent.parent
SINGLES = (ROOT / "scenarios/singles_day.yaml").read_text(encoding="utf-8")


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_no_changes_give_the_text_back_unchanged():
    assert edit_text(SINGLES, {}) == SINGLES


def test_one_value_changes_one_line_and_keeps_its_comment():
    out = edit_text(SINGLES, {"agent_groups.temp.shifts[1].agents": 60})
    assert changed_lines(SINGLES, out) == [
        '-      - {start: "18:00", end: "23:00", agents: 50}                  # the 20:00 wave',
        '+      - {start: "18:00", end: "23:00", agents: 60}                  # the 20:00 wave']


def test_floats_are_written_without_noise():
    out = edit_text(SINGLES, {"queues.presales.aht_s": 414 * 1.2})   # 496.79999999999995
    assert "aht_s: 496.8 " in out and "496.7999" not in out
    assert tidy({"a": [0.1 + 0.2, 2.0]}) == {"a": [0.3, 2.0]}


def test_added_shift_is_one_line_like_its_siblings_and_times_stay_text():
    out = edit_text(SINGLES, {"agent_groups.temp.shifts[2]": {"start": "09:00",
                                                               "end": "13:00", "agents": 5,
                                                               "breaks": [{"start": "11:00",
                                                                           "minutes": 15.0}]}})
    assert changed_lines(SINGLES, out) == [
        '+      - {start: "09:00", end: "13:00", agents: 5, breaks: [{start: "11:00", '
        'minutes: 15}]}']
    # PyYAML (YAML 1.1) reads an unquoted 09:00 as the number 540: the time is quoted.
    data = yaml.safe_load(out)
    assert data["agent_groups"]["temp"]["shifts"][2]["start"] == "09:00"


def test_removed_items_renamed_keys_and_new_mappings():
    out = edit_text(SINGLES, {"agent_groups.voice.shifts[0]": DELETE,
                              "agent_groups.temp": Rename("temps"),
                              "agent_groups.temps.chat_concurrency": 4,
                              "arrivals.scale": {"presales": 1.2}})
    lines = changed_lines(SINGLES, out)
    assert any(x.startswith("-      - {start: \"22:00\", end: \"06:00\", agents: 10}")
               for x in lines)
    # The renamed group keeps its place and its comment.
    assert "+  temps:                         # temporary staff booked for the waves" in \
        "\n".join(lines)
    assert "+  scale: {presales: 1.2}" in lines
    data = yaml.safe_load(out)
    assert list(data["agent_groups"])[1] == "temps"
    assert data["agent_groups"]["temps"]["chat_concurrency"] == 4
    assert "# Singles' Day (11.11), first 24 hours" in out           # the header stays


def test_the_edited_file_is_the_edited_scenario(tmp_path):
    out = edit_text(SINGLES, {"agent_groups.gold.shifts[1].agents": 20,
                              "arrivals.scale": 1.1})
    (tmp_path / "s.yaml").write_text(out)
    (tmp_path / "singles_day_forecast.csv").write_bytes(
        (ROOT / "scenarios/singles_day_forecast.csv").read_bytes())
    edited = load_scenario(tmp_path / "s.yaml")
    base = load_scenario(ROOT / "scenarios/singles_day.yaml")
    assert edited.spec.agent_groups["gold"].shifts[1].agents == 20
    assert edited.contacts.sum() == pytest.approx(1.1 * base.contacts.sum())


def test_a_path_that_does_not_fit_the_file_is_named():
    with pytest.raises(InputError, match=r"agent_groups\.temp\.shifts\[9\]: index 9 is beyond"):
        edit_text(SINGLES, {"agent_groups.temp.shifts[9]": {"start": "09:00"}})
    with pytest.raises(InputError, match="not valid YAML"):
        edit_text("a: [unclosed\n", {"a": 1})
    with pytest.raises(InputError, match="already a key"):
        edit_text(SINGLES, {"agent_groups.temp": Rename("gold")})
