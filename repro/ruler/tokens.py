"""Text to the byte LM's ids and back (spec §5.4): UTF-8 bytes after BOS; decoding keeps byte ids
only, because the special ids (PAD, BOS, EOS) stand for no text."""
from repro.data.wikitext import BOS_ID

BYTE_IDS = 256


def encode(text: str) -> list[int]:
    return [BOS_ID, *text.encode("utf-8")]


def token_count(text: str) -> int:
    """What a prompt costs of the budget: its UTF-8 bytes and the BOS."""
    return len(text.encode("utf-8")) + 1


def decode(ids: list[int]) -> str:
    """The prediction as scored: bytes only, undecodable bytes replaced, every non-printable
    character (newlines included) a space, stripped."""
    text = bytes(i for i in ids if i < BYTE_IDS).decode("utf-8", errors="replace")
    return "".join(char if char.isprintable() else " " for char in text).strip()
