"""One registry pattern for every named thing in skillstack (envs, policy kinds, algorithms, ...).

Modelled on MuJoCo Playground's ``_src/manipulation/__init__.py`` and ManiSkill's ``@register_env``:
decorator registration, duplicate names raise, unknown names raise a ``KeyError`` that lists the valid
names and a ``difflib`` "did you mean" suggestion.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """Raised for a name that is not registered; the message lists suggestions and valid names."""

    def __str__(self) -> str:  # KeyError would repr() the message and add quotes
        return str(self.args[0]) if self.args else ""


def unknown_name_message(kind: str, name: str, valid: list[str], max_listed: int = 60) -> str:
    """Format the error for an unknown ``name`` among ``valid`` names.

    Args:
        kind: what was looked up, e.g. ``"env"``.
        name: the name given by the user.
        valid: all registered names.
        max_listed: how many valid names to print before eliding.

    Returns:
        One line: ``unknown env 'x'; did you mean 'y'? valid: a, b, ...``.
    """
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
    if not close:  # also try the part after a namespace, e.g. 'drawer-open' vs 'metaworld/drawer-open-v3'
        tails = {v.split("/", 1)[-1]: v for v in valid}
        close = [tails[t] for t in difflib.get_close_matches(name.split("/", 1)[-1], list(tails), n=3, cutoff=0.5)]
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    shown = sorted(valid)
    listed = ", ".join(shown[:max_listed]) + (f", ... ({len(shown)} in all)" if len(shown) > max_listed else "")
    return f"unknown {kind} {name!r}{hint} valid {kind} names: {listed}"


def parse_options(spec: str) -> tuple[str, dict[str, Any]]:
    """Split a command-line spec ``NAME[:key=value...]`` into the name and its keyword options.

    ``"saycan-causal:dtype=bfloat16"`` → ``("saycan-causal", {"dtype": "bfloat16"})``. Values are read as JSON
    where they parse (``100``, ``0.5``, ``true``, ``[64, 64]``), else kept as strings. A value may contain ``:``
    (``base_url=http://localhost:8000/v1``): a ``:``-separated piece without ``=`` continues the previous value
    unless it looks like a bare option name, which is an error (a forgotten ``=``).

    Raises:
        ValueError: an option that is not ``key=value``.
    """
    name, *pieces = spec.split(":")
    items: list[str] = []
    for piece in pieces:
        if "=" not in piece and items and not _BARE_NAME.fullmatch(piece):
            items[-1] += ":" + piece
        else:
            items.append(piece)
    options: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"option {item!r} in {spec!r} is not key=value")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return name, options


_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
"""What an option key looks like: a ``:``-piece of this form without ``=`` is a forgotten ``=``, not part of a
value."""


class Registry(Generic[T]):
    """A name → object map with decorator registration.

    Args:
        kind: human-readable kind used in error messages (``"env"``, ``"policy kind"``, ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None) -> Callable[[T], T] | T:
        """Register ``obj`` under ``name``; usable as ``@registry.register("name")``.

        Raises:
            ValueError: ``name`` is already registered.
        """

        def _add(o: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = o
            return o

        return _add(obj) if obj is not None else _add

    def get(self, name: str) -> T:
        """Look ``name`` up.

        Raises:
            UnknownNameError: ``name`` is not registered (message lists the valid names).
        """
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(unknown_name_message(self.kind, name, list(self._items))) from None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._items)

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def keys(self) -> list[str]:
        """All registered names, sorted (a registry reads like a read-only mapping)."""
        return self.names()

    def values(self) -> list[T]:
        """The registered objects, in name order."""
        return [self._items[n] for n in self.names()]

    def items(self) -> list[tuple[str, T]]:
        """``(name, object)`` pairs, in name order."""
        return [(n, self._items[n]) for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
