"""Builds the shipped forecasts from the figures of ../shared/domain.md (run it to rebuild).

    python scenarios/make_forecasts.py

Every number below says where it comes from.  The shape within the day is a smooth sum of
bumps at the peaks the domain notes name, so the files are reproducible, not sampled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
INTERVAL_MIN = 30  # half-hours: handle times here are 6-12 min, so 30-min intervals are enough

# Normal day, team of ~50 (domain.md "Figures": ~2,500 chats and ~400 calls a day).
CHATS_PER_DAY = 2_500
CALLS_PER_DAY = 400
# Chat split: pre-sales ask more than after-sales on an ordinary day (assumption, 55/45).
CHAT_SPLIT = {"presales": 0.55, "aftersales": 0.45}
# Phone split: complaints and privileged operations (refund overrides, address changes after
# dispatch) are the phone work; half each (assumption).
CALL_SPLIT = {"complaints": 0.5, "privileged": 0.5}

# Peaks of a normal day (domain.md: peaks 10-11h, 14-16h, 20-23h): (centre hour, width h, weight)
NORMAL_BUMPS = [(10.5, 1.2, 1.0), (15.0, 1.4, 0.9), (21.5, 1.6, 1.0)]
BASE_LEVEL = 0.08  # night-time floor relative to the peaks (chat stays open all night)

# Singles' Day (domain.md): chats x5 for the day, calls x3; 00:00-01:00 at 6-8x the normal
# peak half-hour (we take 7x); a second wave at 20:00.
SD_CHAT_FACTOR = 5.0
SD_CALL_FACTOR = 3.0
SD_MIDNIGHT_X_NORMAL_PEAK = 7.0
SD_SECOND_WAVE = (20.5, 1.5, 1.6)  # centre, width, weight relative to a normal peak
# After-sales grows faster on the day itself (order changes start at once): 50/50 on 11.11.
SD_CHAT_SPLIT = {"presales": 0.5, "aftersales": 0.5}


def _profile(bumps: list[tuple[float, float, float]], base: float) -> np.ndarray:
    """Relative volume per half-hour of a day (48 values summing to 1)."""
    hours = (np.arange(48) + 0.5) * INTERVAL_MIN / 60
    shape = np.full(48, base)
    for centre, width, weight in bumps:
        shape += weight * np.exp(-0.5 * ((hours - centre) / width) ** 2)
    # Quiet hours 02-07h: a real contact centre sees a trough there.
    shape *= np.where((hours > 2) & (hours < 7), 0.35, 1.0)
    return shape / shape.sum()


def _rows(day: str, totals: dict[str, np.ndarray]) -> pd.DataFrame:
    starts = pd.date_range(day, periods=48, freq=f"{INTERVAL_MIN}min")
    frames = [pd.DataFrame({"interval_start": starts.strftime("%Y-%m-%dT%H:%M"), "queue": q,
                            "contacts": np.round(v).astype(int)}) for q, v in totals.items()]
    return pd.concat(frames).sort_values(["interval_start", "queue"], kind="stable")


def normal_day() -> pd.DataFrame:
    p = _profile(NORMAL_BUMPS, BASE_LEVEL)
    volumes = {q: CHATS_PER_DAY * s * p for q, s in CHAT_SPLIT.items()}
    volumes |= {q: CALLS_PER_DAY * s * p for q, s in CALL_SPLIT.items()}
    return _rows("2026-11-04", volumes)


def singles_day() -> pd.DataFrame:
    normal = _profile(NORMAL_BUMPS, BASE_LEVEL)
    normal_peak_half_hour = CHATS_PER_DAY * normal.max()
    # The day without its midnight spike: the normal shape plus the 20:00 wave ...
    rest = _profile(NORMAL_BUMPS + [SD_SECOND_WAVE], BASE_LEVEL)
    # ... and the spike: the first two half-hours at 7x the normal peak, decaying over 01-03h.
    spike = np.zeros(48)
    spike[:2] = SD_MIDNIGHT_X_NORMAL_PEAK * normal_peak_half_hour
    spike[2:6] = SD_MIDNIGHT_X_NORMAL_PEAK * normal_peak_half_hour * np.array([.45, .25, .12,
                                                                               .06])
    remaining = SD_CHAT_FACTOR * CHATS_PER_DAY - spike.sum()
    chats = spike + remaining * rest
    volumes = {q: s * chats for q, s in SD_CHAT_SPLIT.items()}
    # Calls triple but keep the day's shape with the 20:00 wave: the midnight rush is of
    # shoppers, who chat; phone calls (complaints, privileged operations) come later.
    calls = SD_CALL_FACTOR * CALLS_PER_DAY * rest
    volumes |= {q: s * calls for q, s in CALL_SPLIT.items()}
    return _rows("2026-11-11", volumes)


if __name__ == "__main__":
    normal_day().to_csv(HERE / "normal_day_forecast.csv", index=False)
    singles_day().to_csv(HERE / "singles_day_forecast.csv", index=False)
    print("wrote", HERE / "normal_day_forecast.csv", HERE / "singles_day_forecast.csv")
