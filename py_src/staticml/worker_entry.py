"""What site/worker.js calls in Python. Every function takes and returns a JSON string, so only
strings cross the worker's FFI boundary."""
import json
import os
import time

from . import __version__, selftest as _selftest
from .gpu.webgpu import WebGPUDevice

_state: dict = {}


async def boot(options_json: str) -> str:
    options = json.loads(options_json)
    if options.get("debug") in ("1", "true"):  # ?debug=1: plans submit and check op by op (runtime/debug.py)
        os.environ["STATICML_DEBUG"] = "1"
    t0 = time.perf_counter()
    device = await WebGPUDevice.request(options.get("power", "high-performance"))
    _state["device"] = device
    _state["info"] = {
        "staticml": __version__,
        "pyodide": _pyodide_version(),
        "backend": device.backend,
        "adapter": {k: device.info.get(k, "") for k in ("vendor", "architecture", "description", "isFallbackAdapter")},
        "software_adapter": device.is_software,
        "features": device.info.get("features", []),
        "timings": {"request_device_ms": round((time.perf_counter() - t0) * 1000, 1)},
    }
    return json.dumps(_state["info"])


def _device() -> WebGPUDevice:
    if "device" not in _state:
        raise RuntimeError("staticml has no device yet: boot() did not finish")
    return _state["device"]


async def selftest(args_json: str) -> str:
    return json.dumps(await _selftest.run(_device()))


async def info(args_json: str) -> str:
    return json.dumps(_state.get("info"))


def _pyodide_version() -> str:
    try:
        import pyodide

        return pyodide.__version__
    except ImportError:
        return ""
