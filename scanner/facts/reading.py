"""Reading one typed fact out of a host's observations: the one way checks and the scan summary
turn a collector's stored data into its fact model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from scanner.facts.host import HostObservation, PartMissing
from scanner.model import Observation, Outcome

F = TypeVar("F", bound=BaseModel)


class MissingFacts(Exception):
    """The facts were not gathered: the collector's outcome, or the probe's reason, says why."""

    def __init__(self, collector: str, outcome: Outcome, detail: str):
        super().__init__(detail)
        self.collector, self.outcome, self.detail = collector, outcome, detail


def collector_of(model: type[BaseModel]) -> str:
    return model.COLLECTOR  # type: ignore[attr-defined]


def part_of(model: type[BaseModel]) -> str:
    """The host probe whose parsed output the model is ("" for a whole observation)."""
    return getattr(model, "PART", "")


def read_fact(observations: Mapping[str, Observation], model: type[F], cache: dict[type, Any] | None = None) -> F:
    """The collector's data as `model`; MissingFacts when it was not gathered. `cache` (one per
    host) keeps what was validated, the host envelope included, for the next read."""
    cache = {} if cache is None else cache
    if model in cache:
        return cache[model]
    collector, part = collector_of(model), part_of(model)
    obs = observations.get(collector)
    if obs is None:
        raise MissingFacts(collector, Outcome.NOT_COLLECTED, f"{collector}: not collected")
    if obs.outcome != Outcome.OK:
        raise MissingFacts(collector, obs.outcome, obs.detail)
    data = obs.data
    if part:  # one probe's part of the host collector's observation
        if HostObservation not in cache:
            cache[HostObservation] = HostObservation.model_validate(data)
        try:
            data = cache[HostObservation].part(part)
        except PartMissing as exc:
            raise MissingFacts(collector, Outcome.NOT_COLLECTED, str(exc)) from None
    cache[model] = model.model_validate(data)
    return cache[model]
