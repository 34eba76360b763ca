"""Benchmarks: native drivers (`ops.py`, run by `python build.py bench ops`) that build the site, open it in
headless Chromium and call an in-browser half (`ops_page.py`, stdlib only, runs inside Pyodide)."""
