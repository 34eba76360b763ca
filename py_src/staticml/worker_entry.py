"""What site/worker.js calls in Python. Every function takes a JSON string and returns the JSON
envelope {"ok": true, "value": ...} or {"ok": false, "error": "<message for a person>"}, so only
strings cross the worker's FFI boundary and the page never shows a Python traceback."""
import functools
import json
import time

from . import __version__, selftest as _selftest, weights
from .gpu.webgpu import WebGPUDevice

_state: dict = {}


def _message(exc: BaseException) -> str:
    # A JsException's text is "Error: <the JS message>"; the JS message is already written for people.
    return str(exc).removeprefix("Error: ") or type(exc).__name__


def _json_api(fn):
    @functools.wraps(fn)
    async def wrapper(args_json: str) -> str:
        try:
            return json.dumps({"ok": True, "value": await fn(json.loads(args_json or "{}"))})
        except Exception as exc:  # the envelope carries every failure to the page, none is swallowed
            return json.dumps({"ok": False, "error": _message(exc), "type": type(exc).__name__})
    return wrapper


@_json_api
async def boot(options: dict) -> dict:
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
    return _state["info"]


def _device() -> WebGPUDevice:
    if "device" not in _state:
        raise RuntimeError("staticml has no device yet: boot() did not finish")
    return _state["device"]


@_json_api
async def selftest(args: dict) -> dict:
    return await _selftest.run(_device())


@_json_api
async def info(args: dict) -> dict:
    return _state.get("info")


def _pyodide_version() -> str:
    try:
        import pyodide

        return pyodide.__version__
    except ImportError:
        return ""


@_json_api
async def load_model(args: dict) -> dict:
    """Loads (or reloads) a model's tensors into GPU buffers; returns {tensors: {name: {buffer, offset,
    nbytes, dtype, shape[, quant]}}, transfer: {...what came from the network / IndexedDB}}."""
    model_id = args["model"]
    loaded = _state.setdefault("models", {})
    if model_id in loaded:
        loaded.pop(model_id).release(_device())
    loaded[model_id] = await weights.load(_device(), model_id)
    return loaded[model_id].table()


@_json_api
async def verify_model(args: dict) -> dict:
    """sha256 of every loaded tensor as read back from the GPU."""
    model_id = args["model"]
    model = _state.get("models", {}).get(model_id)
    if model is None:
        raise RuntimeError(f"model {model_id} is not loaded: call loadModel first")
    return await model.checksums(_device())
