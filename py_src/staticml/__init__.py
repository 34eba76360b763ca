"""staticml: ML inference in the visitor's browser (Pyodide + WebGPU), shipped as a static site.

The same package runs natively (CPython >= 3.11: build, convert, references, tests) and inside
Pyodide (the browser runtime). Browser-only imports sit behind `staticml.env.IN_PYODIDE`.
"""

__version__ = "0.1.0"
PYODIDE_VERSION = "314.0.7"  # the exact npm version build.py self-hosts (package-lock.json pins it)

from .env import IN_PYODIDE  # noqa: E402

__all__ = ["__version__", "PYODIDE_VERSION", "IN_PYODIDE"]
