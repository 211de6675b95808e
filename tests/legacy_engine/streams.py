"""Random streams owned by a run: one ``numpy.random.Generator`` per random source.

Every source (the arrivals of each queue, its handle times, its patience, its transfer draws,
and the same for contacts transferred into it) gets its own stream, spawned from one
``SeedSequence(seed)`` with a key derived from the source's *name*, not its position.  Two
scenarios run with the same seed therefore draw the same arrivals, handle times and patience
for the same queue even when other queues or groups differ: they differ only where the
scenarios differ (common random numbers).
"""

from __future__ import annotations

import math
import zlib
from typing import Literal

import numpy as np

__all__ = ["stream", "unit_variates", "VariateBuffer"]


def stream(seed: int, *names: str) -> np.random.Generator:
    """The generator of the source named by ``names`` (e.g. ``("presales", "arrivals")``)."""
    key = tuple(zlib.crc32(n.encode("utf-8")) for n in names)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def unit_variates(rng: np.random.Generator, size: int,
                  kind: Literal["exponential", "lognormal", "gamma"], cv: float) -> np.ndarray:
    """``size`` positive variates with mean 1 and coefficient of variation ``cv``."""
    if kind == "exponential":
        return rng.standard_exponential(size)
    if kind == "lognormal":
        sigma2 = math.log1p(cv * cv)
        return rng.lognormal(-0.5 * sigma2, math.sqrt(sigma2), size)
    if kind == "gamma":
        shape = 1.0 / (cv * cv)
        return rng.gamma(shape, 1.0 / shape, size)
    raise ValueError(f"unknown distribution {kind!r}")


class VariateBuffer:
    """Unit-mean variates drawn in batches and handed out one at a time as Python floats.

    For draws whose number is not known in advance (contacts created by transfers): numpy is
    fast per batch, slow per call, so the hot path pops from a list.
    """

    __slots__ = ("_rng", "_kind", "_cv", "_batch", "_values")

    def __init__(self, rng: np.random.Generator, kind: str = "uniform", cv: float = 1.0,
                 batch: int = 4096) -> None:
        self._rng, self._kind, self._cv, self._batch = rng, kind, cv, batch
        self._values: list[float] = []

    def next(self) -> float:
        if not self._values:
            if self._kind == "uniform":
                block = self._rng.random(self._batch)
            else:
                block = unit_variates(self._rng, self._batch, self._kind, self._cv)
            # Reversed so that pop() hands them out in the order drawn.
            self._values = block[::-1].tolist()
        return self._values.pop()
