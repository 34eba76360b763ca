"""Benchmarks: native drivers (`ops.py`, run by `python build.py bench ops`) that build the site, open it in
headless Chromium and call an in-browser half (`ops_page.py`, stdlib only, runs inside Pyodide)."""


def harness_chromium():
    """The test harness' Chromium launcher (tests/harness/chromium.py: offline flags, WebGPU, temporary
    profiles deleted on quit), which the native benchmark drivers share with the tests."""
    import sys
    from pathlib import Path

    tests = str(Path(__file__).resolve().parents[3] / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from harness import chromium

    return chromium
