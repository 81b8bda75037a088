"""The per-user folders of this program: its settings and its cache, by platform convention."""
from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["user_dir"]

#: kind → (Windows variable, its fallback under the home folder, macOS folder under ~/Library,
#: XDG variable, its fallback under the home folder)
_CONVENTIONS = {
    "config": ("APPDATA", ("AppData", "Roaming"), "Application Support",
               "XDG_CONFIG_HOME", ".config"),
    "cache": ("LOCALAPPDATA", ("AppData", "Local"), "Caches", "XDG_CACHE_HOME", ".cache"),
}


def user_dir(kind: str) -> Path:
    """This program's per-user folder of one kind (not created here).

    Args:
        kind: "config" (``%APPDATA%``, ``~/Library/Application Support``,
            ``$XDG_CONFIG_HOME`` or ``~/.config``) or "cache" (``%LOCALAPPDATA%``,
            ``~/Library/Caches``, ``$XDG_CACHE_HOME`` or ``~/.cache``).

    Returns:
        ``<platform folder>/rmisr``.

    Raises:
        ValueError: an unknown ``kind``.
    """
    if kind not in _CONVENTIONS:
        raise ValueError(f"unknown per-user folder {kind!r}: 'config' or 'cache'")
    win_var, win_home, mac, xdg_var, xdg_home = _CONVENTIONS[kind]
    if sys.platform.startswith("win"):
        base = Path(os.environ.get(win_var) or Path.home().joinpath(*win_home))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / mac
    else:
        base = Path(os.environ.get(xdg_var) or Path.home() / xdg_home)
    return base / "rmisr"
