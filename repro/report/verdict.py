"""The verdict of a claim from our mean over seeds and its 95% interval against the band the claim
accepts: reproduced when the interval lies inside the band, not reproduced when it lies outside,
inconclusive when it straddles an edge; a single run (no interval) is judged on its value. An
ordering of models that all sit at their task's chance level is `at chance`: the task measured
nothing there, so no band and no seed count can order them."""
from dataclasses import dataclass

from repro.report.stats import Summary

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
AT_CHANCE = "at chance"
VERDICTS = (REPRODUCED, INCONCLUSIVE, NOT_REPRODUCED)  # a claim of the paper's, best to worst
# Best to worst: of several comparisons, the worst wins; one at chance is untested, so it hides a win but
# not a comparison the data can still decide.
RANKED = (REPRODUCED, AT_CHANCE, INCONCLUSIVE, NOT_REPRODUCED)


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


def at_chance(ours: Summary, chance: float) -> bool:
    """Whether a model's runs are consistent with guessing: the 95% interval of their mean holds the chance
    level. A single run has no interval, and a value alone cannot tell, so it never is."""
    return ours.ci95 is not None and abs(ours.mean - chance) <= ours.ci95
