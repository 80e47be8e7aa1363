"""Scenarios: each measures Watercooler against its ceiling in interleaved rounds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import Measurement, Spread


@dataclass(frozen=True)
class Settings:
    """Scale of a run: `--quick` shortens rounds, never drops a scenario."""

    quick: bool
    rounds: int
    seconds: float
    connections: int
    work: Path
    scale: str = ""
    """The dataset's scale (bench.dataset.SCALES) when not the default for `quick`."""

    @property
    def dataset(self) -> str:
        return self.scale or ("quick" if self.quick else "full")

    @property
    def label(self) -> str:
        return self.dataset


@dataclass
class Pair:
    """One round: the target's measurement and the ceiling's, taken back to back."""

    target: Measurement
    ceiling: Measurement

    @property
    def ratio(self) -> float:
        return self.target.rate / self.ceiling.rate if self.ceiling.rate else 0.0


@dataclass
class Result:
    scenario: str
    title: str
    goal: str
    rounds: list[Pair] = field(default_factory=list)
    absolute: list[Measurement] = field(default_factory=list)
    """Rounds of a scenario whose goal is absolute (no ceiling to compare with)."""
    extra: dict[str, Any] = field(default_factory=dict)
    met: bool | None = None

    def ratio(self) -> Spread:
        return Spread.of([pair.ratio for pair in self.rounds])

    def as_dict(self) -> dict[str, Any]:
        targets = [pair.target for pair in self.rounds] or self.absolute
        ceilings = [pair.ceiling for pair in self.rounds]
        return {
            "scenario": self.scenario,
            "title": self.title,
            "goal": self.goal,
            "met": self.met,
            "ratio": round(self.ratio().median, 3) if self.rounds else None,
            "ratio_rounds": self.ratio().as_dict() if self.rounds else None,
            "figure_rps": Spread.of([t.rate for t in targets]).as_dict(1),
            "ceiling_rps": Spread.of([c.rate for c in ceilings]).as_dict(1),
            "p50_ms": Spread.of([t.p50_ms for t in targets]).as_dict(),
            "p99_ms": Spread.of([t.p99_ms for t in targets]).as_dict(),
            "ceiling_p50_ms": Spread.of([c.p50_ms for c in ceilings]).as_dict(),
            "ceiling_p99_ms": Spread.of([c.p99_ms for c in ceilings]).as_dict(),
            "errors": sum(t.errors + t.unexpected + t.timeouts for t in targets),
            "ceiling_errors": sum(c.errors + c.unexpected + c.timeouts for c in ceilings),
            "requests": sum(t.requests for t in targets),
            **self.extra,
        }


Scenario = Callable[[Settings], list[Result]]


def wrk_rounds(
    result: Result,
    settings: Settings,
    *,
    target_url: str,
    ceiling_url: str,
    requests: Path,
    expect: int = 200,
    after_round: Callable[[], object] | None = None,
    ceiling_requests: Path | None = None,
) -> None:
    """`settings.rounds` interleaved rounds of the same pre-built requests: ceiling, then
    target; `after_round` runs after each (to wait for a queue to drain, say).
    `ceiling_requests` when the ceiling serves the same answer at another path."""
    from bench import wrk

    for _ in range(settings.rounds):
        load = {"seconds": settings.seconds, "connections": settings.connections}
        bare = wrk.run(ceiling_url, ceiling_requests or requests, expect=expect, **load)
        ours = wrk.run(target_url, requests, expect=expect, **load)
        result.rounds.append(Pair(ours, bare))
        if after_round is not None:
            after_round()
