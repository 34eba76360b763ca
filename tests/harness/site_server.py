"""Serve a folder with the product's own server (`build.py serve`'s code) on a free port."""
import contextlib
import threading
from pathlib import Path

from staticml.builder.serve import SiteHandler, make_server

ISOLATION_HEADERS = ("cross-origin-opener-policy", "cross-origin-embedder-policy")


class NoHeaderRulesHandler(SiteHandler):
    """Serves the files but drops COOP/COEP, as a host that takes no header rules does (GitHub Pages, a plain
    file server: `_headers` and `vercel.json` are served as files and change nothing)."""

    def send_header(self, keyword, value):
        if keyword.lower() not in ISOLATION_HEADERS:
            super().send_header(keyword, value)


@contextlib.contextmanager
def serving(root: Path, handler_base=None):
    """handler_base: a SiteHandler subclass (e.g. one that plays a host without header rules)."""
    server = make_server(root, 0, quiet=True, handler_base=handler_base)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
