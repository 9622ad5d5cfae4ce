"""Fit a task's prompt to a token budget (spec §5.4): the largest n whose prompt tokens, answer
prefix included, plus the tokens it may generate stay within the budget."""
from collections.abc import Callable


def effective_budget(requested: int, window: int) -> int:
    """The model never reads more than its window, so a larger budget would not be used."""
    return min(requested, window)


def fit_units(cost: Callable[[int], int], budget: int, most: int | None = None) -> int:
    """The largest n with cost(n) <= budget (cost growing with n), searched by doubling an upper
    bound from max(8, budget) and then bisecting; n = 1 when even that does not fit (the caller sees
    the overrun). `most` bounds n where a larger one adds nothing."""
    def fits(n: int) -> bool:
        return cost(n) <= budget

    if not fits(1):
        return 1
    low, high = 1, max(8, budget) if most is None else min(max(8, budget), most)
    while fits(high):
        if high == most:
            return high
        low, high = high, 2 * high if most is None else min(2 * high, most)
    while high - low > 1:  # fits(low), not fits(high)
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low
