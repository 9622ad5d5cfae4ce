"""The four RULER-core tasks (spec §5.4): each builds a sample from its seed and a size n (units of
context), as an instruction, the context, a question and an answer prefix, with the strings a
correct answer contains.

What a sample says is drawn from random.Random(sample seed), so it is the same at every n; where
its context is placed or shuffled is drawn from random.Random(sample seed + n), so a prompt is a
function of (seed, n) alone and the budget search cannot shift it (the original shared one
generator across the search, D18). The wording is ours, laid out as RULER lays out these tasks."""
import math
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

# Lowercase nature words: keys of the needle, and the words of the common-words list.
WORD_BANK = (
    "river", "meadow", "forest", "canyon", "glacier", "willow", "maple", "cedar", "fern", "moss",
    "pebble", "boulder", "valley", "summit", "lagoon", "marsh", "prairie", "dune", "coral", "reef",
    "tide", "breeze", "thunder", "rain", "frost", "dew", "mist", "cloud", "storm", "rainbow",
    "acorn", "pine", "birch", "oak", "lily", "tulip", "daisy", "clover", "thistle", "ivy",
    "falcon", "sparrow", "heron", "otter", "badger", "fox", "deer", "salmon", "trout", "beetle",
    "cricket", "firefly", "orchid", "lotus", "bamboo", "cactus", "volcano", "island", "stream", "spring",
)
# Five short neutral sentences about grass, sky and sun: one line of haystack per copy.
NOISE = ("Green grass covers the open field. Above it the sky stays a clear blue. "
         "The sun rises warm and bright. A light wind moves across the hills. Then the day goes on.")

NEEDLE_VALUE_DIGITS = 7
CHAIN_LENGTH = 5
VARIABLE_LETTERS = 5
CHAIN_VALUE_DIGITS = 5
COMMON_WORDS, COMMON_REPEATS = 10, 8
UNCOMMON_WORDS, FEWEST_UNCOMMON = 40, 5
CODED_WORDS, CODED_WORD_LETTERS = 32, 6
FILLER = "..."  # rank 0 of the coded text, never an answer
FREQUENT_ANSWERS = 3


@dataclass(frozen=True)
class Sample:
    instruction: str
    context: str
    question: str
    answer_prefix: str
    references: tuple[str, ...]

    @property
    def prompt(self) -> str:
        """What the model reads: the template with the context inserted, then the answer prefix."""
        return f"{self.instruction}\n\n{self.context}\n\n{self.question}\n{self.answer_prefix}"


@dataclass(frozen=True)
class Task:
    build: Callable[[int, int], Sample]  # (sample seed, n) -> Sample
    max_new: int  # generated tokens at most
    most_units: int | None = None  # where a larger n adds nothing to the prompt


def _number(rng: random.Random, digits: int) -> str:
    return str(rng.randrange(10 ** (digits - 1), 10 ** digits))


def _distinct(draw: Callable[[], str], count: int) -> list[str]:
    drawn: list[str] = []
    while len(drawn) < count:
        candidate = draw()
        if candidate not in drawn:
            drawn.append(candidate)
    return drawn


def niah_single_1(seed: int, n: int) -> Sample:
    """One needle (a key's magic number) at line ⌊n/2⌋ of n copies of the noise paragraph."""
    rng = random.Random(seed)
    key = "-".join(rng.sample(WORD_BANK, 2))
    value = _number(rng, NEEDLE_VALUE_DIGITS)
    lines = [NOISE] * n
    lines.insert(n // 2, f"Among the special magic numbers for {key} is {value}.")
    return Sample(
        instruction="A long text follows. Special magic numbers are hidden in it; remember every one of them, "
                    "because you will be asked about them afterwards.",
        context="\n".join(lines),
        question=f"Which special magic numbers does the text above give for {key}?",
        answer_prefix=f"The special magic numbers for {key} that the text gives are",
        references=(value,),
    )


def vt(seed: int, n: int) -> Sample:
    """A chain of assignments (the first a number, each next the previous variable), its statements in
    order at sorted distinct lines among n noise lines."""
    rng = random.Random(seed)
    names = _distinct(lambda: "".join(rng.choices(string.ascii_uppercase, k=VARIABLE_LETTERS)), CHAIN_LENGTH)
    value = _number(rng, CHAIN_VALUE_DIGITS)
    statements = [f"Let {name} be {source}." for name, source in zip(names, [value, *names[:-1]])]
    positions = sorted(random.Random(seed + n).sample(range(max(n, CHAIN_LENGTH)), CHAIN_LENGTH))
    lines = [NOISE] * n
    for position, statement in zip(positions, statements):  # increasing: each lands at its own line
        lines.insert(position, statement)
    return Sample(
        instruction="The text below hides a chain of variable assignments. Follow the chain and remember "
                    "which variables take which value.",
        context="\n".join(lines),
        question=f"Name every variable that ends up holding the value {value}.",
        answer_prefix=f"Following the chain, {len(names)} variables hold the value {value}. They are:",
        references=tuple(names),
    )


def cwe(seed: int, n: int) -> Sample:
    """Ten common words eight times each among max(5, n) (at most 40) words seen once, shuffled and numbered."""
    rng = random.Random(seed)
    common = rng.sample(WORD_BANK, COMMON_WORDS)
    uncommon = [f"{rng.choice(WORD_BANK)}_{index}" for index in range(UNCOMMON_WORDS)]
    words = common * COMMON_REPEATS + uncommon[:min(max(FEWEST_UNCOMMON, n), UNCOMMON_WORDS)]
    random.Random(seed + n).shuffle(words)
    return Sample(
        instruction="Below is a numbered list of words. Some words occur many more times than the others; "
                    "remember which ones occur most often.",
        context=" ".join(f"{number}. {word}" for number, word in enumerate(words, start=1)),
        question=f"Which {COMMON_WORDS} words occur most often in the list?",
        answer_prefix=f"The {COMMON_WORDS} words that occur most often in the list are:",
        references=tuple(common),
    )


def zipf_counts(n: int, ranks: int) -> list[int]:
    """Occurrences of the word of each rank r: max(1, ⌊n·(r+1)^-2 / Z⌋), Z the sum of (r+1)^-2."""
    weights = [(rank + 1) ** -2 for rank in range(ranks)]
    total = sum(weights)
    return [max(1, math.floor(n * weight / total)) for weight in weights]


def fwe(seed: int, n: int) -> Sample:
    """A coded text of dots and 32 six-letter words, word frequencies falling with rank as Zipf's law."""
    rng = random.Random(seed)
    vocabulary = [FILLER, *_distinct(lambda: "".join(rng.choices(string.ascii_lowercase, k=CODED_WORD_LETTERS)), CODED_WORDS)]
    words = [word for word, count in zip(vocabulary, zipf_counts(n, len(vocabulary))) for _ in range(count)]
    random.Random(seed + n).shuffle(words)
    return Sample(
        instruction=f"Read the coded text below and count how often each coded word occurs; you will be asked "
                    f"for the {FREQUENT_ANSWERS} that occur most often.",
        context=" ".join(words),
        question=f"Without explaining, and leaving the dots aside: which {FREQUENT_ANSWERS} coded words occur "
                 "most often in the text?",
        answer_prefix=f"The {FREQUENT_ANSWERS} coded words that occur most often are:",
        references=tuple(vocabulary[1:1 + FREQUENT_ANSWERS]),
    )


TASKS = {
    "niah_single_1": Task(niah_single_1, max_new=32),
    "vt": Task(vt, max_new=24),
    "cwe": Task(cwe, max_new=48, most_units=UNCOMMON_WORDS),
    "fwe": Task(fwe, max_new=32),
}
