"""Recipe options: an option a recipe does not know is an error that names the ones it does.

Recipes that take ``**options`` call :func:`check_options` first, so a typo (``rat=0.4`` for
``rate``) stops the run with one line instead of silently running the default.

Examples
--------
>>> check_options("label_flip_random_biggio2011", {"rat": 0.4}, ("rate", "metric"))
Traceback (most recent call last):
...
mlsiege.errors.ConfigError: label_flip_random_biggio2011: unknown option 'rat' (did you mean 'rate'?); valid options: metric, rate
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from mlsiege.errors import ConfigError

__all__ = ["check_options"]


def check_options(recipe: str, options: Mapping[str, Any], valid: Iterable[str]) -> None:
    """Raise :class:`ConfigError` when ``options`` holds a key outside ``valid`` (naming the valid ones)."""
    valid = sorted(set(valid))
    unknown = [k for k in options if k not in valid]
    if not unknown:
        return
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), valid, n=1)
        parts.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    noun = "option" if len(unknown) == 1 else "options"
    raise ConfigError(f"{recipe}: unknown {noun} {', '.join(parts)}; valid options: {', '.join(valid)}")
