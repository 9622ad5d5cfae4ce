"""RULER's string-match-all score (spec §5.4), used for all four tasks."""


def matched_fraction(prediction: str, references) -> float:
    """The share of references found in the prediction, as case-insensitive substrings (so a
    reference inside a longer word counts: D18's `word` in `word_3`)."""
    found = prediction.lower()
    return sum(reference.lower() in found for reference in references) / len(references)


def string_match_all(predictions: list[str], references: list) -> float:
    """Mean matched fraction over samples, in percent, rounded to 2 decimals."""
    if len(predictions) != len(references) or not predictions:
        raise ValueError(f"{len(predictions)} predictions for {len(references)} reference lists; need as many, at least one")
    fractions = [matched_fraction(prediction, refs) for prediction, refs in zip(predictions, references)]
    return round(100 * sum(fractions) / len(fractions), 2)


def empty_predictions(predictions: list[str]) -> int:
    return sum(prediction == "" for prediction in predictions)
