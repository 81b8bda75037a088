"""How an architecture is built: a name → class registry (the BasicSR habit).

Each architecture registers itself on its class::

    @ARCH_REGISTRY.register("rmisr_bl")
    class RMISR_BL(nn.Module): ...

and :mod:`models.archs` imports every architecture module, so the registry is complete once that
package is imported. A lookup (:meth:`Registry.get`, :meth:`Registry.keys`) imports it on first
use, so callers need not. :func:`create_model` builds an architecture by name — the name the
manifest's records and ``rmisr-train --arch`` use. This module imports no torch.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class Registry:
    """Name → object map with a duplicate-name guard.

    Args:
        name: what the registry holds, for error messages ("architecture").
        package: a module whose import registers every entry (imported on the first lookup);
            None for a registry filled by its own module.
    """

    def __init__(self, name: str, package: str | None = None) -> None:
        self.name = name
        self._package = package
        self._items: dict[str, Any] = {}

    def _populate(self) -> None:
        if self._package is not None:
            package, self._package = self._package, None  # once; re-entry during it is harmless
            importlib.import_module(package)

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """A decorator that registers its class or function under ``name`` (default: its own).

        Raises:
            KeyError: ``name`` is already registered.
        """
        self._populate()

        def deco(obj: T) -> T:
            key = name or obj.__name__  # type: ignore[attr-defined]
            if key in self._items:
                raise KeyError(f"{self.name}: {key!r} is already registered")
            self._items[key] = obj
            return obj
        return deco

    def get(self, name: str) -> Any:
        """The object registered under ``name``.

        Raises:
            KeyError: nothing is registered under ``name`` (the message lists what is).
        """
        self._populate()
        if name not in self._items:
            raise KeyError(f"{self.name}: no {name!r}; known: {sorted(self._items)}")
        return self._items[name]

    def keys(self) -> list[str]:
        """The registered names, sorted."""
        self._populate()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._populate()
        return name in self._items


ARCH_REGISTRY = Registry("architecture", package="models.archs")


def create_model(arch: str, **kwargs: Any) -> Any:
    """Build an architecture by its registry name.

    Args:
        arch: the registered name, e.g. ``"rmisr_bl"``.
        **kwargs: the architecture's constructor arguments (a manifest record's ``arch_args``).

    Returns:
        The new ``torch.nn.Module``, e.g. ``create_model("rmisr_bl", scale=4)``.

    Raises:
        KeyError: no architecture of that name.
    """
    return ARCH_REGISTRY.get(arch)(**kwargs)
