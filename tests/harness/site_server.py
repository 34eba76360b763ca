"""Serve a folder with the product's own server (`build.py serve`'s code) on a free port."""
import contextlib
import threading
from pathlib import Path

from staticml.builder.serve import make_server


@contextlib.contextmanager
def serving(root: Path):
    server = make_server(root, 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
