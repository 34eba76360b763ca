"""Device backends. `webgpu` talks to navigator.gpu through the JS glue (Pyodide only)."""
