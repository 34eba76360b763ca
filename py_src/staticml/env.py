"""The one place that knows whether we run inside Pyodide (browser) or native CPython."""
import sys

# Pyodide sets sys.platform to "emscripten"; checking the platform (not an import) keeps this cheap.
IN_PYODIDE = sys.platform == "emscripten"
