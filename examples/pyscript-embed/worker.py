"""The example's PyScript worker: Python and WebGPU off the page's main thread.

It boots staticml on WebGPU, runs the GPU self-test, shows the adapter, then answers the Compare button.
The DOM is reached through PyScript's `document` proxy (needs cross-origin isolation, which
`build.py build --app` turns on for apps with worker scripts).
Exported to the page (`script.xworker.sync.<name>(...)`, always a Promise there):
`similarity(a, b)`, `report()` (JSON: adapter, self-test) and `requests()` (JSON: every URL this worker fetched).
"""
import json

import js
from pyscript import document, when

from staticml import __version__, selftest
from staticml.gpu.webgpu import WebGPUDevice

import similarity as _similarity   # this app's file; build.py adds every .py of the app to `files`

_report: dict = {}


def _show(element_id: str, text: str) -> None:
    document.getElementById(element_id).textContent = text


def _set_state(state: str) -> None:
    document.body.dataset.state = state


async def _boot() -> None:
    import pyodide

    _show("status", "requesting a WebGPU device…")
    device = await WebGPUDevice.request()
    adapter = {k: device.info.get(k, "") for k in ("vendor", "architecture", "description", "isFallbackAdapter")}
    _show("status", "running the GPU self-test…")
    check = await selftest.run(device)
    _report.update(staticml=__version__, pyodide=pyodide.__version__, backend=device.backend, adapter=adapter,
                   software_adapter=device.is_software, selftest=check)
    name = adapter["description"] or adapter["architecture"] or adapter["vendor"] or "unknown adapter"
    _show("gpu", json.dumps(_report, indent=2))
    _show("adapter", f"{device.backend} on {name}" + (" (software adapter: correct but slow)" if device.is_software else ""))
    _show("selftest", f"{'passed' if check['ok'] else 'FAILED'} (max abs error {check['max_abs_err']:.2g})")
    _show("status", "ready")
    document.getElementById("compare").disabled = False


@when("click", "#compare")
async def _on_compare(event) -> None:
    _show("result", "computing…")
    try:
        score = await _similarity.similarity(document.getElementById("a").value, document.getElementById("b").value)
        _show("result", f"similarity {score:.4f}")
    except Exception as exc:  # shown to the person; the worker keeps serving
        _show("result", str(exc))


async def similarity(a: str, b: str) -> float:
    return await _similarity.similarity(a, b)


def report() -> str:
    return json.dumps(_report)


def requests() -> str:
    return json.dumps([e.name for e in js.performance.getEntriesByType("resource")])


__export__ = ["similarity", "report", "requests"]

try:
    await _boot()  # noqa: F704  (PyScript runs worker scripts with top-level await)
    _set_state("ready")
except Exception as exc:
    _show("status", f"Error: {exc}")
    _set_state("failed")
