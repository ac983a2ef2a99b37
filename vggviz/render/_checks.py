"""Argument checks shared by the render modules: one wording for every ValueError."""

from __future__ import annotations

from typing import Any

import numpy as np


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {choices}")
    return value


def _positive_int(name: str, value: Any, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _channel(n_channels: int, channel: Any) -> int:
    if (
        isinstance(channel, bool)
        or not isinstance(channel, (int, np.integer))
        or not 0 <= channel < n_channels
    ):
        raise ValueError(f"channel must be an integer in 0..{n_channels - 1}, got {channel!r}")
    return int(channel)
