"""Native-only: turns the app into a static site (`build.py build`) and serves it (`build.py serve`).

Never imported in the browser; it may use anything native CPython has.
"""
