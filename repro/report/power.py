"""How many seeds would decide a claim: the smallest seed count at which the 95% interval of the
mean, with the spread observed over our seeds, would lie wholly inside the claim's band or wholly
outside it, if the mean stayed where it is. A mean on an edge of the band is never decided."""
import math

from repro.report.stats import Z_975, t_975
from repro.report.verdict import INCONCLUSIVE, Band, interval_verdict

CANNOT_BE_DECIDED = "cannot be decided"
_T_TABLE_SEEDS = 31  # beyond this count, t_975 is the normal quantile and the count has a closed form


def seeds_to_decide(mean: float, std: float | None, band: Band) -> int | str | None:
    """The seed count (at least 2), CANNOT_BE_DECIDED, or None without a spread (a single seed)."""
    if std is None:
        return None
    if band.margin(mean) == 0 and std > 0:
        return CANNOT_BE_DECIDED
    n = 2
    while n <= _T_TABLE_SEEDS and interval_verdict(mean, t_975(n - 1) * std / math.sqrt(n), band) == INCONCLUSIVE:
        n += 1
    if n > _T_TABLE_SEEDS:
        n = max(n, math.ceil((Z_975 * std / band.margin(mean)) ** 2))
        while interval_verdict(mean, Z_975 * std / math.sqrt(n), band) == INCONCLUSIVE:  # the edge itself
            n += 1
    return n
