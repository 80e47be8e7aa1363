"""Small statistics for rounds of measurements: percentiles, medians and ranges."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` (0..1) percentile by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Spread:
    """The median of per-round values and their range: noisy machines drift, medians hold."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(0.0, 0.0, 0.0)
        return cls(statistics.median(values), min(values), max(values))

    def as_dict(self, digits: int = 3) -> dict[str, float]:
        return {
            "median": round(self.median, digits),
            "min": round(self.low, digits),
            "max": round(self.high, digits),
        }


@dataclass(frozen=True)
class Measurement:
    """What one run of one server (or loop) measured: a rate and latency percentiles."""

    requests: int
    seconds: float
    errors: int = 0
    unexpected: int = 0
    refused: int = 0
    """Answers that asked to come back later (429/503 with Retry-After), when allowed."""
    timeouts: int = 0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    """How many answers had each HTTP status (wrk runs)."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @classmethod
    def of_latencies(
        cls, latencies_s: Sequence[float], seconds: float, errors: int = 0
    ) -> Measurement:
        """From per-request latencies (seconds) measured by a Python load loop."""
        ms = [value * 1000 for value in latencies_s]
        return cls(
            requests=len(ms),
            seconds=seconds,
            errors=errors,
            p50_ms=percentile(ms, 0.50),
            p90_ms=percentile(ms, 0.90),
            p99_ms=percentile(ms, 0.99),
            max_ms=max(ms, default=0.0),
        )
