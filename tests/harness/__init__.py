"""Shared test machinery: real headless Chromium (Debian) with WebGPU, the product's own server,
and the folder pytest-pyodide serves. See tests/README.md."""
