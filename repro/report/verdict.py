"""The verdict of a claim from our mean over seeds and its 95% interval against the band the claim
accepts: reproduced when the interval lies inside the band, not reproduced when it lies outside,
inconclusive when it straddles an edge; a single run (no interval) is judged on its value."""
from dataclasses import dataclass

from repro.report.stats import Summary

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
VERDICTS = (REPRODUCED, INCONCLUSIVE, NOT_REPRODUCED)  # best to worst: of several comparisons, the worst wins


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    strict_low: bool = False  # the low edge itself is outside (a margin of 0 is no win)

    def contains(self, value: float) -> bool:
        above = value > self.low if self.strict_low else value >= self.low
        return above and value <= self.high

    def margin(self, value: float) -> float:
        """How far `value` is from the nearest edge, inside or out: the largest interval half-width
        that still decides a mean there (0 on an edge)."""
        if self.contains(value):
            return min(value - self.low, self.high - value)
        return self.low - value if value <= self.low else value - self.high


def verdict(ours: Summary, band: Band) -> str:
    if ours.ci95 is None:
        return REPRODUCED if band.contains(ours.mean) else NOT_REPRODUCED
    return interval_verdict(ours.mean, ours.ci95, band)


def interval_verdict(mean: float, half_width: float, band: Band) -> str:
    low, high = mean - half_width, mean + half_width
    if band.contains(low) and band.contains(high):
        return REPRODUCED
    if high < band.low or low > band.high or (band.strict_low and high == band.low):
        return NOT_REPRODUCED
    return INCONCLUSIVE
