# No DOM access from here: without cross-origin isolation a worker has no `window`/`document`.
# The page calls the exported function instead (main -> worker calls need no SharedArrayBuffer).
import json

from staticml import selftest
from staticml.gpu.webgpu import WebGPUDevice


async def gpu_selftest() -> str:
    device = await WebGPUDevice.request()
    result = await selftest.run(device)
    return json.dumps({"ok": result["ok"], "architecture": device.info["architecture"]})


__export__ = ["gpu_selftest"]
