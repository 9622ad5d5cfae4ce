"""How a family's settings refuse a value: with the key, the value and what would be valid, so that
the check of the config at load (repro/config.py) can name the config key it came from."""


class SettingError(ValueError):
    def __init__(self, key: str, value, valid: str):
        super().__init__(f"{key}={value!r}; valid: {valid}")
        self.key, self.value, self.valid = key, value, valid


def require(ok: bool, key: str, value, valid: str) -> None:
    if not ok:
        raise SettingError(key, value, valid)


def heads_divide(width_key: str, width: int, n_heads: int) -> None:
    """Attention and Mamba-2 split a width into n_heads equal heads."""
    require(width % n_heads == 0, "n_heads", n_heads, f"a divisor of {width_key}={width}")
