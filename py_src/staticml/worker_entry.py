"""What site/worker.js calls in Python. Every function takes a JSON string and returns the JSON
envelope {"ok": true, "value": ...} or {"ok": false, "error": "<message for a person>"}, so only
strings cross the worker's FFI boundary and the page never shows a Python traceback."""
import asyncio
import base64
import functools
import json
import os
import time

from . import __version__, backend_choice, selftest as _selftest, weights

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
    if options.get("debug") in ("1", "true"):  # ?debug=1: plans submit and check op by op (runtime/debug.py)
        os.environ["STATICML_DEBUG"] = "1"
    os.environ["STATICML_F16"] = options.get("f16", "auto")  # ?f16=unpack: f16 weights without shader-f16 (gpu.webgpu)
    t0 = time.perf_counter()
    choice, gpu_info = await backend_choice.choose(options)
    _state["choice"] = choice
    gpu_info = gpu_info or {}
    _state["info"] = {
        "staticml": __version__,
        "pyodide": _pyodide_version(),
        **choice.report(),
        "adapter": {k: gpu_info.get(k, "") for k in ("vendor", "architecture", "description", "isFallbackAdapter")},
        "software_adapter": bool(gpu_info.get("isFallbackAdapter")) or gpu_info.get("architecture") == "swiftshader",
        "features": gpu_info.get("features", []),
        "cpu": choice.backend.kernels.info if choice.backend.name == "wasm" else
        (choice.calibrate_with.kernels.info if choice.calibrate_with else None),
        "timings": {"choose_backend_ms": round((time.perf_counter() - t0) * 1000, 1)},
    }
    return _state["info"]


def _backend():
    if "choice" not in _state:
        raise RuntimeError("staticml has no backend yet: boot() did not finish")
    return _state["choice"].backend


def _report_choice() -> None:
    """info() follows the choice (a calibration may change it after boot)."""
    _state["info"].update(_state["choice"].report())


@_json_api
async def selftest(args: dict) -> dict:
    return await _selftest.run_on(_backend())


@_json_api
async def info(args: dict) -> dict:
    return _state.get("info")


@_json_api
async def memory(args: dict) -> dict:
    """What the backends hold now: the CPU kernels' wasm memory in bytes (0 when they are not loaded, or
    were closed) and the live WebGPU objects (buffers, pipelines, bind groups; 0 once the device is closed)."""
    import staticml_cpu
    import staticml_glue

    return {"wasm_bytes": int(staticml_cpu.memoryBytes()), "gpu_objects": int(staticml_glue.liveObjects())}


def _pyodide_version() -> str:
    try:
        import pyodide

        return pyodide.__version__
    except ImportError:
        return ""


@_json_api
async def load_model(args: dict) -> dict:
    """Loads (or reloads) a model's tensors into GPU buffers (or the CPU kernels' memory); returns
    {tensors: {name: {buffer, offset, nbytes, dtype, shape[, quant]}}, transfer: {...what came from the
    network / IndexedDB}}. `buffer` is a GPU buffer id, or a wasm pointer on the CPU backend."""
    model_id = args["model"]
    loaded = _state.setdefault("models", {})
    if model_id in loaded:
        loaded.pop(model_id).release()   # from the memory it went into (the backend may have changed since)
    loaded[model_id] = await weights.load(weights.memory_of(_backend()), model_id)
    return loaded[model_id].table()


@_json_api
async def verify_model(args: dict) -> dict:
    """sha256 of every loaded tensor as read back from the GPU (or the CPU kernels' memory)."""
    model_id = args["model"]
    model = _state.get("models", {}).get(model_id)
    if model is None:
        raise RuntimeError(f"model {model_id} is not loaded: call loadModel first")
    return await model.checksums()


async def _once(table: str, key, make):
    """make() run once per key, shared by concurrent callers (the page's warm-up and a first embed()
    must not load, download and upload the same model twice); a failure is not cached, so a retry works."""
    made = _state.setdefault(table, {})
    if key not in made:
        made[key] = asyncio.ensure_future(make())
    try:
        return await made[key]
    except BaseException:
        made.pop(key, None)
        raise


# what a calibration encodes: a small batch of short sentences, the common case of a search box
CALIBRATION_TEXTS = ["how do I read a file line by line", "sort a list of tuples by the second item",
                     "parse a date string", "send an HTTP request with headers"]


async def _extractor(model_id: str):
    """The feature-extraction pipeline of a shipped model, made once per worker."""
    from .pipelines import pipeline

    async def make():
        _backend()   # booted?
        choice = _state["choice"]
        t0 = time.perf_counter()
        if choice.calibrate_with is not None:   # a real GPU: measure both backends on this model once
            made = await backend_choice.calibrate(
                choice, model_id, lambda be: pipeline("feature-extraction", model_id, backend=be), CALIBRATION_TEXTS)
            extractor = next(iter(made.values()))
            _report_choice()
        else:
            extractor = await pipeline("feature-extraction", model_id, backend=choice.backend)
        _timing("load_model_ms", t0)
        return extractor

    return await _once("pipelines", model_id, make)


def _timing(name: str, t0: float) -> None:
    _state["info"]["timings"][name] = round((time.perf_counter() - t0) * 1000, 1)


@_json_api
async def load_pipeline(args: dict) -> dict:
    p = await _extractor(args["model"])
    return {"model": args["model"], "dtype": p.model.dtype, "max_length": p.max_length, "pooling": p.model.pooling}


@_json_api
async def embed(args: dict) -> dict:
    """{"embeddings_f32": the L2-normalised embeddings of args["texts"] (a list of strings) as base64 of one
    little-endian f32 block [count, dim], "count", "dim", "timings": where the time went (tokenize_ms,
    model_ms, batches)}. One block, not lists of floats: json.dumps of 32 x 384 floats alone took longer in
    Pyodide than the page's whole round trip should (site/app.js turns it into one Float32Array per text)."""
    texts = args.get("texts")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise TypeError("embed() takes a list of strings")
    p = await _extractor(args["model"])
    t0 = time.perf_counter()
    buf, dim = await p.encode_f32(texts, batch_size=int(args.get("batch_size", 32)))
    _timing("last_embed_ms", t0)
    _state["info"]["last_embed"] = p.last_timings
    return {"embeddings_f32": base64.b64encode(buf).decode("ascii"), "count": len(texts), "dim": dim,
            "timings": p.last_timings}


async def _search_index(index_id: str, extractor):
    from . import weights as gpu_weights
    from .models.weights import LoadedTensorSource
    from .search import SemanticSearch

    async def make():
        import staticml_models as loader

        backend = extractor.model.backend   # the index lives where the model runs
        loaded = await gpu_weights.load(gpu_weights.memory_of(backend), index_id)
        corpus = LoadedTensorSource(loaded.tensors).weight(backend, "corpus.embeddings", "f32")
        docs = json.loads(await loader.fileText(index_id, "docs.json"))
        return SemanticSearch(extractor, docs, corpus)

    return await _once("indexes", (index_id, id(extractor)), make)


@_json_api
async def load_search(args: dict) -> dict:
    """Loads the model and the index ahead of the first query (downloads, GPU upload, plan compile)."""
    t0 = time.perf_counter()
    index = await _search_index(args["index"], await _extractor(args["model"]))
    await index.search("warm up", 1)
    _timing("load_search_ms", t0)
    _precompile_queries(index.extractor)
    return {"documents": len(index.docs), "ms": _state["info"]["timings"]["load_search_ms"]}


def _precompile_queries(extractor) -> None:
    """After the search is ready, the plans of short queries are compiled in the background (once per
    pipeline; FeatureExtraction.precompile_queries), so typing a query of a new length does not wait for
    one. info()["precompiled"] then says how many and how long it took, or what failed; `precompiled` waits."""
    tasks = _state.setdefault("precompiling", {})   # strong references: the loop keeps only weak ones
    if id(extractor) in tasks:
        return

    async def run() -> None:
        t0 = time.perf_counter()
        try:
            plans = await extractor.precompile_queries()
        except Exception as exc:   # reported, not raised: nobody awaits this task but `precompiled`
            _state["info"]["precompiled"] = {"error": _message(exc)}
        else:
            _state["info"]["precompiled"] = {"plans": plans, "ms": round((time.perf_counter() - t0) * 1000, 1)}

    tasks[id(extractor)] = asyncio.ensure_future(run())


@_json_api
async def precompiled(args: dict) -> dict:
    """Waits for the background compiles load_search started (_precompile_queries) and returns what
    info()["precompiled"] says: {"plans", "ms"} or {"error"}; None when load_search has not run."""
    tasks = list(_state.get("precompiling", {}).values())
    if tasks:
        await asyncio.wait(tasks)
    return _state.get("info", {}).get("precompiled")


@_json_api
async def search(args: dict) -> dict:
    """Top args["k"] documents of index args["index"] for args["query"], embedded with args["model"]."""
    extractor = await _extractor(args["model"])
    index = await _search_index(args["index"], extractor)
    t0 = time.perf_counter()
    results = await index.search(args.get("query"), int(args.get("k", 10)))
    _timing("last_search_ms", t0)
    return {"results": results, "ms": _state["info"]["timings"]["last_search_ms"]}


@_json_api
async def bench(args: dict) -> dict:
    """Benchmark probes for site/bench.js (staticml.bench.gpu_probe), on the pipeline embed() uses."""
    from .bench import gpu_probe

    return await gpu_probe.run(args, await _extractor(args["model"]))
