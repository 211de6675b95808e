"""Time-varying Poisson arrivals with piecewise-constant rates, sampled exactly.

Interval ``i`` of queue ``q`` has rate ``contacts[q, i] / interval_s``.  A Poisson process with
a constant rate over an interval is, given its count ``N ~ Poisson(contacts)``, ``N`` uniform
points in the interval; the intervals are independent.  Sampling that way is exact, with no
thinning and no error at interval edges.
"""

from __future__ import annotations

import numpy as np

__all__ = ["arrival_times"]


def arrival_times(rng: np.random.Generator, contacts: np.ndarray, *,
                  interval_s: float) -> np.ndarray:
    """Sorted arrival times in seconds from the start, for one queue.

    ``contacts[i]`` is the expected number of arrivals in interval ``i`` (may be fractional).
    """
    contacts = np.asarray(contacts, dtype=float)
    counts = rng.poisson(contacts)
    starts = np.repeat(np.arange(contacts.size) * interval_s, counts)
    times = starts + rng.random(starts.size) * interval_s
    times.sort()
    return times
