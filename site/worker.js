// The module Web Worker that hosts Pyodide. The page only renders; everything else happens here.
// Protocol (closed list of message kinds):
//   page -> worker: {kind: "boot", config} | {kind: "call", id, method, args}
//   worker -> page: {kind: "status", text} | {kind: "ready", info} | {kind: "failed", message}
//                   | {kind: "reply", id, ok, value | message}
//                   | {kind: "progress", model, done, total} | {kind: "cache", state}   (model downloads)
import * as cpu from "./cpu_glue.js";
import * as cpuPlan from "./cpu_plan.js";
import * as glue from "./gpu_glue.js";
import * as models from "./model_loader.js";

let entry = null;         // PyProxy of staticml.worker_entry, owned by this worker for its lifetime
const timings = {};
const t0 = performance.now();
const mark = (name) => { timings[name] = Math.round(performance.now() - t0); };
const status = (text) => self.postMessage({ kind: "status", text });

// Python methods the page may call; each takes a JSON string and returns a JSON envelope
// {ok: true, value} | {ok: false, error} (see py_src/staticml/worker_entry.py).
const METHODS = new Set(["selftest", "info", "memory", "load_model", "verify_model", "load_pipeline", "embed", "load_search", "search",
  "precompiled", "bench"]);
// Methods answered by the model loader in JS (no Python needed): cache state and downloads.
const JS_METHODS = {
  cache_state: () => models.cacheState(),
  download_model: (args) => models.ensureCached(args.model),
  model_file: (args) => models.fileText(args.model, args.name).then((text) => JSON.stringify(text)),
};

async function callPython(method, args) {
  const out = JSON.parse(await entry[method](JSON.stringify(args || {})));
  if (!out.ok) throw new Error(out.error);
  return out.value;
}

async function boot(config) {
  status("loading Pyodide…");
  const { loadPyodide } = await import(config.pyodideIndex + "pyodide.mjs");
  const pyodide = await loadPyodide({ indexURL: config.pyodideIndex, lockFileURL: config.lockfile, fullStdLib: false });
  mark("pyodide_ms");
  status("loading staticml…");
  const errors = [];
  await pyodide.loadPackage(config.packages, { messageCallback: () => {}, errorCallback: (m) => errors.push(m) });
  if (errors.length) throw new Error("could not load the staticml wheel: " + errors.join("; "));
  mark("packages_ms");
  pyodide.registerJsModule("staticml_glue", glue);
  pyodide.registerJsModule("staticml_cpu", cpu);
  pyodide.registerJsModule("staticml_cpu_plan", cpuPlan);
  pyodide.registerJsModule("staticml_models", models);
  entry = pyodide.pyimport("staticml.worker_entry");
  status("choosing a backend (WebGPU or the CPU kernels)…");
  // The query parameters, plus the URLs of the CPU kernels this site ships (not settable from the URL).
  const info = await callPython("boot", { ...config.options, cpu_kernels: config.cpuKernels || null });
  mark("device_ms");
  info.timings = { ...timings, ...(info.timings || {}) };
  info.cache = JSON.parse(await models.cacheState().catch((err) => JSON.stringify({ error: err.message })));
  return info;
}

self.onmessage = async (event) => {
  const msg = event.data;
  if (msg.kind === "boot") {
    models.configure(msg.config.models || [], (event) => self.postMessage(event));
    try {
      self.postMessage({ kind: "ready", info: await boot(msg.config) });
    } catch (err) {
      self.postMessage({ kind: "failed", message: String(err && err.message ? err.message : err) });
    }
  } else if (msg.kind === "call" && msg.method === "requests") {
    // Every URL this worker fetched (Resource Timing), so the page can prove nothing left the origin.
    const value = performance.getEntriesByType("resource").map((e) => e.name);
    self.postMessage({ kind: "reply", id: msg.id, ok: true, value });
  } else if (msg.kind === "call" && msg.method in JS_METHODS) {
    try {
      const value = JSON.parse(await JS_METHODS[msg.method](msg.args || {}));
      self.postMessage({ kind: "reply", id: msg.id, ok: true, value });
    } catch (err) {
      self.postMessage({ kind: "reply", id: msg.id, ok: false, message: String(err && err.message ? err.message : err) });
    }
  } else if (msg.kind === "call") {
    try {
      if (!entry) throw new Error("staticml is not booted");
      if (!METHODS.has(msg.method)) throw new Error(`unknown method ${msg.method}`);
      const value = await callPython(msg.method, msg.args);
      self.postMessage({ kind: "reply", id: msg.id, ok: true, value });
    } catch (err) {
      self.postMessage({ kind: "reply", id: msg.id, ok: false, message: String(err && err.message ? err.message : err) });
    }
  } else {
    self.postMessage({ kind: "failed", message: `worker got an unknown message kind ${msg.kind}` });
  }
};
