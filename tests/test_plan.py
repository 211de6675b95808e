"""The plan loop (planner/plan.py) and ``peakplan plan`` (planner/plan_cli.py): Erlang
requirement, cover, simulation with common random numbers, verification with fresh seeds."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from planner.plan import (VERIFY_SEED_OFFSET, default_rules, erlang_requirement, plan_roster,
                          pools)
from planner.plan_cli import add_plan_parser
from sim.errors import InputError
from sim.planning import planning_from_dict
from sim.scenario import load_scenario, scenario_from_dict

HOURS = 24
# A day's contacts per hour: night, morning rise, midday, evening.
PROFILE = [20, 15, 10, 10, 10, 20, 40, 80, 140, 180, 200, 200, 180, 170, 180, 190, 180, 160,
           140, 120, 100, 80, 50, 30]


def _one_queue_scenario(*, groups: dict | None = None) -> object:
    return scenario_from_dict({
        "name": "one queue", "start": "2026-11-11T00:00", "interval_min": 60,
        "warmup_min": 60,
        "queues": {"calls": {"aht_s": 300, "target": {"service_level": 0.8, "within_s": 20}}},
        "arrivals": {"calls": [float(x) for x in PROFILE]},
        "agent_groups": groups or {"team": {"skills": {"calls": 1}}}}, source="one.yaml")


def _rules(data: dict):
    return planning_from_dict(data, file="rules.yaml", prefix="")


HOURLY = {"interval_min": 60,
          "patterns": {"hour": {"starts": "00:00-23:00", "every_min": 60, "lengths_h": [1, 2]}}}


@pytest.mark.slow
def test_single_queue_plan_within_one_agent_of_erlang() -> None:
    sc = _one_queue_scenario()
    rules = _rules({**HOURLY, "groups": {"team": {"patterns": ["hour"]}}, "keep": "none"})
    plan = plan_roster(sc, rules, reps=5, seed=3)
    erlang = erlang_requirement(sc)
    cov = plan.cover.coverage
    first = plan.first_cover.coverage
    # Where the patterns allow it (the cover of the Erlang requirement matches it exactly),
    # the plan after simulation stays within one agent of Erlang: for one queue, Erlang is
    # the model the simulator runs (SIPP aside).
    allowed = (first["planned"] - first["required"]).abs() < 1e-9
    judged = plan.verified.set_index("interval_start")["judged"]
    mask = allowed.to_numpy() & judged.reindex(cov["interval_start"]).to_numpy()
    assert mask.sum() >= 18
    diff = cov["planned"].to_numpy() - erlang.agents[0]
    assert np.abs(diff[mask]).max() <= 1.0 + 1e-9
    assert plan.verified_queues["targets_met"].all()


def _two_queue_scenario() -> object:
    half = [x / 2 for x in PROFILE]
    return scenario_from_dict({
        "name": "two queues", "start": "2026-11-11T00:00", "interval_min": 60,
        "warmup_min": 60,
        "queues": {"a": {"aht_s": 300, "target": {"service_level": 0.8, "within_s": 20}},
                   "b": {"aht_s": 300, "target": {"service_level": 0.8, "within_s": 20}}},
        "arrivals": {"a": half, "b": half},
        "agent_groups": {"both": {"skills": {"a": 1, "b": 1}}}}, source="two.yaml")


@pytest.mark.slow
def test_cross_skilled_plan_beats_per_queue_erlang_and_meets_targets_on_fresh_seeds() -> None:
    sc = _two_queue_scenario()
    rules = _rules({**HOURLY, "groups": {"both": {"patterns": ["hour"]}}, "keep": "none"})
    plan = plan_roster(sc, rules, reps=5, seed=11)
    assert plan.total_agent_hours < plan.erlang_agent_hours - 10
    # The first cover staffs each queue alone: at least the per-queue Erlang hours.
    assert plan.first_cover.agent_hours >= plan.erlang_agent_hours
    assert plan.verify_seed == 11 + VERIFY_SEED_OFFSET
    assert plan.verified_queues["targets_met"].all(), plan.verified_queues
    # Interval by interval: most judged intervals meet their targets on the fresh seeds too
    # (near the target a few confident misses come by chance, one in ten at 0.9).
    judged = plan.verified[plan.verified["judged"]]
    assert judged["miss"].mean() <= 0.1


def test_scenario_without_contacts_is_a_cover_only() -> None:
    sc = scenario_from_dict({
        "start": "2026-11-11T00:00", "interval_min": 60, "queues": {"a": {"aht_s": 300}},
        "arrivals": {"a": [0.0] * 4}, "agent_groups": {"g": {"skills": {"a": 1}}}},
        source="empty.yaml")
    plan = plan_roster(sc, default_rules(sc))
    assert plan.verified is None and plan.cover.agent_hours == 0


def test_default_rules_book_each_queues_first_group() -> None:
    sc = load_scenario("scenarios/singles_day.yaml")
    rules = default_rules(sc)
    # presales: temp before intern (more agents); aftersales: gold; complaints: voice before
    # phone_temp; privileged: phone_temp before team_lead.
    assert set(rules.groups) == {"temp", "gold", "voice", "phone_temp"}
    assert rules.patterns["any"].lengths_h == (4, 5, 6, 7, 8, 9)
    assert rules.keep == "roster"


def test_pools_join_queues_that_share_agents_and_units() -> None:
    sc = load_scenario("scenarios/singles_day.yaml")
    # Pre-sales and after-sales chat share interns and temps, but their Erlang agents hold 3
    # and 5 chats (the concurrency of the groups that take each first): not one unit.
    assert sorted(pools(sc)) == [("aftersales",), ("complaints", "privileged"), ("presales",)]


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------
def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_plan_parser(sub)
    args = parser.parse_args(["plan", *argv])
    return args.run(args)


def _write_one_queue(tmp_path) -> tuple:
    sc = _one_queue_scenario()
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(sc.to_dict(), sort_keys=False), encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({**HOURLY, "groups": {"team": {"patterns": ["hour"]}},
                                     "keep": "none"}), encoding="utf-8")
    return path, rules


def test_cli_writes_the_out_folder_and_json(tmp_path, capsys) -> None:
    path, rules = _write_one_queue(tmp_path)
    out = tmp_path / "plan"
    assert _run([str(path), "--rules", str(rules), "--reps", "2", "--max-rounds", "2",
                 "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("cost", "agent_hours", "shortfall_agent_intervals", "status", "rounds",
                "shifts", "erlang_agent_hours", "verified"):
        assert key in data
    assert data["status"] == "optimal"
    assert set(data["shifts"][0]) >= {"group", "pattern", "start", "end", "agents", "breaks"}
    assert set(data["verified"]["calls"]) >= {"service_level", "abandon_rate", "asa_s",
                                              "targets_met"}
    assert sorted(p.name for p in out.iterdir()) == ["coverage.csv", "planned.yaml",
                                                     "shifts.csv", "verified.csv"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".plan.")]
    planned = load_scenario(out / "planned.yaml")
    booked = sum(s.agents * s.length_min / 60 for s in planned.spec.agent_groups["team"].shifts)
    assert booked == pytest.approx(data["agent_hours"])
    shifts = pd.read_csv(out / "shifts.csv")
    assert shifts["hours"].sum() == pytest.approx(data["agent_hours"])
    # A second run refuses the non-empty folder, unless --force.
    with pytest.raises(InputError, match="not empty") as exc:
        _run([str(path), "--rules", str(rules), "--out", str(out)])
    assert exc.value.field == "--out"


def test_cli_never_writes_over_an_input(tmp_path) -> None:
    path, rules = _write_one_queue(tmp_path)
    with pytest.raises(InputError, match="holds an input"):
        _run([str(path), "--rules", str(rules), "--out", str(tmp_path), "--force"])


def test_cli_requirement_and_rules_without_scenario(tmp_path, capsys) -> None:
    req = tmp_path / "req.csv"
    req.write_text("interval_start,queue,agents\n" + "".join(
        f"2026-11-11T{h:02d}:00,{q},{n}\n" for h in range(8, 12) for q, n in
        (("presales", 3), ("aftersales", 2))), encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text("interval_min: 60\npatterns: {p: {starts: ['08:00'], lengths_h: [4]}}\n"
                     "groups: {both: {patterns: [p], skills: [presales, aftersales]}}\n",
                     encoding="utf-8")
    out = tmp_path / "out"
    assert _run(["--requirement", str(req), "--rules", str(rules), "--json", "--out",
                 str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["agent_hours"] == 20 and data["verified"] is None
    assert sorted(p.name for p in out.iterdir()) == ["coverage.csv", "roster.yaml",
                                                     "shifts.csv"]


def test_cli_prints_the_plan(tmp_path, capsys) -> None:
    path, rules = _write_one_queue(tmp_path)
    assert _run([str(path), "--rules", str(rules), "--reps", "2", "--max-rounds", "1"]) == 0
    text = capsys.readouterr().out
    for part in ("Shifts to book:", "Total: cost", "Plain per-queue Erlang plan",
                 "Shortfall: none.", "Verified with fresh seeds"):
        assert part in text


@pytest.mark.parametrize("argv, field", [
    (["--reps", "0"], "--reps"),
    (["--confidence", "1.5"], "--confidence"),
    (["--max-rounds", "0"], "--max-rounds"),
    (["--time-limit-s", "0"], "--time-limit-s"),
    (["--seed", "-1"], "--seed"),
    (["--jobs", "0"], "--jobs"),
])
def test_cli_bad_flags(tmp_path, argv: list[str], field: str) -> None:
    path, rules = _write_one_queue(tmp_path)
    with pytest.raises(InputError) as exc:
        _run([str(path), "--rules", str(rules), *argv])
    assert exc.value.field == field


def test_cli_needs_a_scenario_or_requirement_and_rules(tmp_path) -> None:
    with pytest.raises(InputError, match="give SCENARIO.yaml"):
        _run(["--requirement", str(tmp_path / "r.csv")])


def test_cli_bad_rules_file_names_file_and_key(tmp_path) -> None:
    path, _ = _write_one_queue(tmp_path)
    rules = tmp_path / "bad.yaml"
    rules.write_text("groups: {team: {patterns: [nope]}}\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown pattern 'nope'") as exc:
        _run([str(path), "--rules", str(rules)])
    assert exc.value.file == str(rules) and exc.value.field == "groups.team.patterns[0]"
