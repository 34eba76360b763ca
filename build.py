#!/usr/bin/env python3
"""staticml's one command line: `python build.py --help`. Thin: everything lives in staticml.builder."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "py_src"))

from staticml.builder.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
