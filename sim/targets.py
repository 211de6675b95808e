"""What a queue must achieve (:class:`Target`) and what staffing needs to know about it
(:class:`QueuePlan`): part of the scenario model, used by the Erlang staffing table and the
simulator's judgement of missed targets alike.  Times in seconds, shares in [0, 1].
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.files import StrictModel

__all__ = ["Target", "QueuePlan"]


class Target(StrictModel):
    """What a queue must achieve in every interval.  Any target left out is not checked."""

    service_level: float | None = Field(0.8, gt=0.0, lt=1.0,
                                        description="answered within within_s / offered")
    within_s: float | None = Field(20.0, ge=0.0, description="service-level threshold, s")
    max_asa_s: float | None = Field(None, gt=0.0, description="mean wait of answered, s")
    max_abandon: float | None = Field(None, gt=0.0, le=1.0,
                                      description="abandoned / offered (needs patience_s)")
    max_occupancy: float | None = Field(None, gt=0.0, le=1.0,
                                        description="busy time / staffed time")


class QueuePlan(StrictModel):
    """What staffing needs to know about one queue."""

    channel: Literal["voice", "chat"] = "voice"
    aht_s: float | None = Field(None, gt=0.0,
                                description="mean handle time incl. wrap-up, s; the forecast's "
                                            "aht_s column wins where it has a value")
    patience_s: float | None = Field(None, gt=0.0,
                                     description="mean patience, s; Erlang A when given")
    target: Target = Target()
    chat_concurrency: int = Field(1, ge=1, le=20)
    chat_slowdown: float = Field(0.0, ge=0.0, le=2.0,
                                 description="extra handle time per extra chat held")
    shrinkage: float = Field(0.0, ge=0.0, lt=1.0)
