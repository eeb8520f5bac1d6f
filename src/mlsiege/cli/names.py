"""Name tables of the CLI that import their recipes only when a command looks one up.

``mlsiege --help`` must start fast, so a table such as ``DETECTORS`` maps public names to recipe
*names* in a family package; the package is imported (by an explicit ``import`` in the loader
function, never by a string) on the first lookup of a value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import Any

__all__ = ["RecipeTable"]


class RecipeTable(Mapping[str, Callable[..., Any]]):
    """``{public name: recipe}``, resolved on first lookup.

    Parameters
    ----------
    load : callable
        Returns the family package (``lambda: importlib``-free: the function does ``from
        mlsiege.attacks import evasion`` and returns it).
    names : mapping
        Public name -> name of the recipe in that package (its ``__all__``).

    Examples
    --------
    >>> def _load():
    ...     import math
    ...     return math
    >>> table = RecipeTable(_load, {"root": "sqrt"})
    >>> list(table), table["root"](9.0)
    (['root'], 3.0)
    """

    def __init__(self, load: Callable[[], ModuleType], names: Mapping[str, str]) -> None:
        self._load = load
        self._names = dict(names)

    def __getitem__(self, key: str) -> Callable[..., Any]:
        return getattr(self._load(), self._names[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def recipe_name(self, key: str) -> str:
        """The recipe's own name for a public name."""
        return self._names[key]
