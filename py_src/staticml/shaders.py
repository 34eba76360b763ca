"""Locate and read WGSL kernel sources.

In a built wheel the top-level `shaders/` folder travels as `staticml/shaders/` (pyproject's
force-include); in a source checkout it sits two levels above this file.
"""
from functools import lru_cache
from pathlib import Path

_PACKAGED = Path(__file__).with_name("shaders")
_CHECKOUT = Path(__file__).resolve().parents[2] / "shaders"


def shader_dir() -> Path:
    return _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


@lru_cache(maxsize=None)
def load_wgsl(family: str) -> str:
    """Text of `shaders/<family>.wgsl`; a kernel family is one file."""
    path = shader_dir() / f"{family}.wgsl"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"no WGSL kernel family {family!r}: expected {path}") from None
