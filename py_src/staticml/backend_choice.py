"""Which backend runs in this browser, and why. The answer is always reported (info()["backend"] and
info()["backend_reason"]); staticml never switches silently.

    ?backend=wasm     the WebAssembly SIMD kernels (staticml.runtime.cpu_backend), whatever the GPU
    ?backend=webgpu   WebGPU, even on a software adapter; an error if the browser has none
    ?backend=auto     (default) no WebGPU -> CPU; a fallback/software adapter (SwiftShader, which emulates
                      a GPU on the CPU 50-100x slower than native code) -> CPU; a real adapter -> a short
                      calibration on the model's real shapes at its first load decides, and the result
                      is kept per adapter and model (Cache Storage), so later visits skip it.
    ?calibrate=1      calibrate even on a software adapter (to see both timings)
    ?threads=N        CPU kernel threads (default: one per core, at most 16; more than 1 needs a
                      cross-origin-isolated page, `build.py build --cross-origin-isolated`)

In Python: `await choose({"backend": "wasm", "cpu_kernels": urls})`, or pass a backend to `pipeline()`.
"""
import json
import time

CHOICES = ("auto", "webgpu", "wasm")
CALIBRATION_CACHE = "staticml-calibration-v1"
SOFTWARE_REASON = ("the WebGPU adapter is a software emulation ({what}), slower than the WebAssembly SIMD kernels "
                   "on the same CPU; ?backend=webgpu forces it")


class Choice:
    """The backend in use, the other one when a calibration is still to come, and the reasons."""

    def __init__(self, backend, reason: str, calibrate_with=None, adapter_key: str = ""):
        self.backend, self.reason = backend, reason
        self.calibrate_with = calibrate_with   # the other backend, while a calibration is pending
        self.adapter_key = adapter_key
        self.calibration = None                # {backend name: ms, ...} once measured
        self.closed = ""                       # the backend closed after a calibration, and why

    def report(self) -> dict:
        out = {"backend": self.backend.name, "backend_reason": self.reason}
        if self.calibration:
            out["calibration"] = self.calibration
        out["calibration_pending"] = self.calibrate_with is not None
        if self.closed:
            out["closed_backend"] = self.closed
        return out


async def choose(options: dict):
    """Returns (Choice, webgpu_info or None). options: backend, power, calibrate, cpu_kernels (URLs)."""
    want = options.get("backend") or "auto"
    if want not in CHOICES:
        raise ValueError(f"backend {want!r} is not one of {', '.join(CHOICES)} (the ?backend= query parameter)")
    urls = options.get("cpu_kernels") or None
    threads = str(options.get("threads", "0"))
    if not threads.isdigit():
        raise ValueError(f"threads must be a whole number (0 = one per core), got {threads!r}")
    cpu_threads = int(threads)
    if want == "wasm":
        return Choice(await _cpu(urls, "?backend=wasm asked for it", cpu_threads), "forced by ?backend=wasm"), None
    try:
        from .gpu.webgpu import WebGPUDevice
        from .runtime.webgpu_backend import WebGPUBackend

        device = await WebGPUDevice.request(options.get("power", "high-performance"))
        gpu, gpu_error = WebGPUBackend(device), None
    except Exception as exc:   # no navigator.gpu, no adapter, device refused: all mean "no usable WebGPU"
        gpu, gpu_error = None, str(exc).removeprefix("Error: ")
    if want == "webgpu":
        if gpu is None:
            raise RuntimeError(f"?backend=webgpu was asked for, but {gpu_error}")
        return Choice(gpu, "forced by ?backend=webgpu"), gpu.device.info
    if gpu is None:
        reason = f"no usable WebGPU in this browser, so the WebAssembly SIMD kernels run ({gpu_error})"
        return Choice(await _cpu(urls, reason, cpu_threads), reason), None
    info = gpu.device.info
    key = "|".join(str(info.get(k, "")) for k in ("vendor", "architecture", "device", "description"))
    if not urls:
        return Choice(gpu, "this site ships no CPU kernels, so WebGPU runs"), info
    try:
        cpu = await _cpu(urls, "", cpu_threads)
    except Exception as exc:   # e.g. a browser without wasm SIMD: the GPU it has is the only choice
        return Choice(gpu, f"WebGPU runs: the CPU kernels cannot load here ({str(exc).removeprefix('Error: ')})"), info
    if gpu.device.is_software and options.get("calibrate") not in ("1", "true"):
        what = info.get("architecture") or info.get("description") or "fallback adapter"
        gpu.close()   # unused from here on: a software device's memory is the page's RAM
        return Choice(cpu, SOFTWARE_REASON.format(what=what)), info
    return Choice(gpu, "a calibration on the model's shapes at its first load decides", cpu, key), info


async def _cpu(urls, why: str, threads: int = 0):
    from .runtime.cpu_backend import CpuBackend

    if not urls:
        raise RuntimeError(f"the CPU backend was chosen ({why}), but this site ships no CPU kernels; "
                           "rebuild it with this staticml's build.py")
    return await CpuBackend.load(urls, threads=threads)


async def calibrate(choice: Choice, model_id: str, make_pipeline, texts: list) -> dict:
    """Decide between choice.backend and choice.calibrate_with on the model's real shapes: the pipeline
    on each, the same texts encoded after a warm-up, the median of 3 runs. Result kept per adapter + model.
    make_pipeline(backend) -> a pipeline with .encode(texts). Returns {name: pipeline} of the winner."""
    key = f"{choice.adapter_key}|{model_id}"
    cached = await _cached(key)
    candidates = {b.name: b for b in (choice.backend, choice.calibrate_with)}
    if cached and cached.get("winner") in candidates:
        winner = cached["winner"]
        choice.calibration = {**cached, "cached": True}
        choice.reason = (f"calibrated earlier on this adapter for {model_id}: {winner} "
                         f"({cached['ms'][winner]} ms vs {_other(cached, winner)} ms)")
        _close_loser(choice, candidates, winner)
        return {winner: await make_pipeline(candidates[winner])}
    pipelines, ms = {}, {}
    for name, backend in candidates.items():
        p = await make_pipeline(backend)
        await p.encode(texts)   # warm-up: plan compile, pipeline creation
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            await p.encode(texts)
            times.append((time.perf_counter() - t0) * 1000)
        ms[name] = round(sorted(times)[1], 2)
        pipelines[name] = p
    winner = min(ms, key=ms.get)
    result = {"winner": winner, "ms": ms, "texts": len(texts)}
    await _store(key, result)
    choice.calibration = {**result, "cached": False}
    choice.reason = (f"calibrated on this adapter for {model_id}: {winner} ran {len(texts)} texts in {ms[winner]} ms, "
                     f"the other backend in {_other(result, winner)} ms")
    _close_loser(choice, candidates, winner)
    return {winner: pipelines[winner]}


def _close_loser(choice: Choice, candidates: dict, winner: str) -> None:
    """The winner runs from now on; the other backend is closed, so the model weights it loaded (and, for the
    CPU kernels, their wasm memory and threads) go back to the browser instead of staying for the page's life."""
    choice.backend, choice.calibrate_with = candidates[winner], None
    for name, backend in candidates.items():
        if name != winner:
            backend.close()
            choice.closed = f"{name}: lost the calibration"


def _other(result: dict, winner: str):
    return next(v for k, v in result["ms"].items() if k != winner)


def _url(key: str) -> str:
    import hashlib

    import js

    return f"{js.self.location.origin}/__staticml_calibration/{hashlib.sha256(key.encode()).hexdigest()[:32]}"


async def _cached(key: str):
    try:
        import js

        cache = await js.caches.open(CALIBRATION_CACHE)
        hit = await cache.match(_url(key))
        return json.loads(await hit.text()) if hit else None
    except Exception:   # no Cache Storage (private mode, file://): calibrate again, nothing is lost
        return None


async def _store(key: str, result: dict) -> None:
    try:
        import js

        cache = await js.caches.open(CALIBRATION_CACHE)
        await cache.put(_url(key), js.Response.new(json.dumps(result)))
    except Exception:
        pass   # a full quota or no Cache Storage only means the next visit calibrates again
