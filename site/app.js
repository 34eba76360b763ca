// Page script: starts the worker, renders status, exposes window.staticml for people and automation.
// It never runs Python or touches the GPU, so the page stays responsive while Pyodide boots.
import { registerServiceWorker } from "./sw_register.js";

const config = JSON.parse(document.getElementById("staticml-config").textContent);
const $ = (id) => document.getElementById(id);

function show(text, state) {
  $("status").textContent = text;
  document.body.dataset.state = state;
}

// the app shell and model cache (service_worker/sw.js); on a host without header rules it also makes an
// isolated build's page cross-origin isolated, with one reload on the first visit (sw_register.js)
if (config.serviceWorker) registerServiceWorker(config.serviceWorker);

// Which build the active service worker serves: {version, models, activation, update_pending}, or null
// without one. It answers only after its activate step (old shell caches deleted, blobs that no model of
// its build references evicted) has finished, so once `version` names a new build, the shards of the old
// one are gone. A page served by the previous build's worker sees the change here without a reload.
async function serviceWorkerState() {
  if (!("serviceWorker" in navigator) || !config.serviceWorker) return null;
  const reg = await navigator.serviceWorker.getRegistration();
  const pending = Boolean(reg && (reg.installing || reg.waiting));
  // While a newer worker installs or waits, the active one is on its way out and is not asked: Chromium
  // activates a skipWaiting() worker only once the old one has gone idle, and a message restarts it with
  // a fresh idle timer (seen here: asking every 250 ms kept the new worker waiting for over a minute).
  if (!reg || !reg.active || pending) return { version: null, update_pending: pending };
  const reply = await new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve({ error: "the service worker did not answer within 10 s" }), 10000);
    channel.port1.onmessage = (event) => { clearTimeout(timer); resolve(event.data); };
    reg.active.postMessage({ kind: "state" }, [channel.port2]);
  });
  return { ...reply, update_pending: false };
}

const abs = (path) => new URL(path, document.baseURI).href;
const worker = new Worker(abs(config.worker), { type: "module" });
let info = null;
let nextId = 1;
const pending = new Map();

const ready = new Promise((resolve, reject) => {
  worker.onmessage = (event) => {
    const msg = event.data;
    if (msg.kind === "status") show(msg.text, "booting");
    else if (msg.kind === "ready") { info = msg.info; render(info); renderModels(info.cache); resolve(info); }
    else if (msg.kind === "progress") {
      showProgress(msg);
      // for pages built on staticml: {model, done, total} in bytes
      window.dispatchEvent(new CustomEvent("staticml:progress", { detail: { model: msg.model, done: msg.done, total: msg.total } }));
    }
    else if (msg.kind === "cache") { if (info) info.cache = msg.state; renderModels(msg.state); }
    else if (msg.kind === "failed") { fail(msg.message); reject(new Error(msg.message)); }
    else if (msg.kind === "reply") {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (p) msg.ok ? p.resolve(msg.value) : p.reject(new Error(msg.message));
    }
  };
  worker.onerror = (event) => {
    const message = `the staticml worker failed to start: ${event.message || "script error"}`;
    fail(message);
    reject(new Error(message));
  };
});
ready.catch(() => {});  // the page shows the error; callers of staticml.ready still see the rejection

function fail(message) {
  show("Error: " + message, "failed");
}

// What runs and why, always on the page (staticml never switches backends silently).
function backendLabel(i) {
  if (i.backend === "wasm") {
    const c = i.cpu || {};
    return `CPU (WebAssembly ${c.relaxed ? "relaxed SIMD" : "SIMD128"}, ${c.threads || 1} thread${c.threads > 1 ? "s" : ""})`;
  }
  const a = i.adapter || {};
  return `WebGPU on ${a.description || a.architecture || a.vendor || "unknown adapter"}` +
    (i.software_adapter ? " (software adapter: correct but slow)" : "");
}

function render(i) {
  show(`Ready: ${backendLabel(i)}`, "ready");
  $("backend-reason").textContent = `Why: ${i.backend_reason}`;
  $("details").textContent = JSON.stringify(i, null, 2);
}

// A calibration (real GPU adapters) may change the backend at the first model load: fetch info again.
async function refreshInfo() {
  if (!info || !info.calibration_pending) return;
  Object.assign(info, await send("info", {}));
  render(info);
  setDemoInfo();
}

function send(method, args) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ kind: "call", id, method, args });
  });
}

function call(method, args) {
  return ready.then(() => send(method, args));
}

// Models: one row per model with a download button and a progress bar (bytes done / total).
const models = config.models || [];
const modelRow = (id) => document.querySelector(`[data-model="${CSS.escape(id)}"]`);

function renderModels(cache) {
  const box = $("models");
  box.hidden = models.length === 0;
  for (const m of models) {
    let row = modelRow(m.id);
    if (!row) {
      row = document.createElement("div");
      row.className = "model";
      row.dataset.model = m.id;
      row.innerHTML = `<span class="model-name"></span> <button type="button">Download for offline use</button>
        <progress max="1" value="0"></progress> <span class="model-status" aria-live="polite"></span>`;
      row.querySelector(".model-name").textContent = `${m.id} (${(m.total_bytes / 2 ** 20).toFixed(1)} MiB)`;
      row.querySelector("button").addEventListener("click", () => downloadFromButton(m.id));
      box.append(row);
    }
    const state = cache && cache.models && cache.models[m.id];
    if (state && !state.error) {
      row.querySelector("progress").value = state.bytes_present / (state.bytes_total || 1);
      if (row.dataset.error !== "true") {   // an error stays visible until the next download attempt
        row.querySelector(".model-status").textContent = state.complete ? "stored on this device: works offline"
          : `${state.blobs_present} of ${state.blobs_total} files stored`;
      }
      row.dataset.complete = String(state.complete);
    }
  }
}

function showProgress({ model, done, total }) {
  const row = modelRow(model);
  if (!row || row.dataset.error === "true") return;
  row.querySelector("progress").value = done / (total || 1);
  row.querySelector(".model-status").textContent = `downloading: ${(done / 2 ** 20).toFixed(1)} / ${(total / 2 ** 20).toFixed(1)} MiB`;
}

async function downloadFromButton(id) {
  const row = modelRow(id);
  delete row.dataset.error;
  // persist() needs a user gesture in some browsers: ask on this click, before the download.
  if (navigator.storage && navigator.storage.persist) await navigator.storage.persist().catch(() => false);
  try {
    await window.staticml.downloadModel(id);
  } catch (err) {
    row.dataset.error = "true";
    row.querySelector(".model-status").textContent = "error: " + err.message;
  }
}
renderModels(null);

window.staticml = {
  ready,
  info: () => (info ? structuredClone(info) : null),
  selftest: () => call("selftest", {}),
  // What the backends hold now: {wasm_bytes: the CPU kernels' memory, gpu_objects: live WebGPU objects}.
  memory: () => call("memory", {}),
  embed,
  search,
  // Resolves when the plans of short queries, compiled in the background once the search is ready, are
  // done: {plans, ms} (or {error}); the CPU backend compiles one per query length (FeatureExtraction.precompile_queries).
  precompiled: () => call("precompiled", {}).then((r) => { if (info && r) info.precompiled = r; return r; }),
  // Benchmark probes run in the worker on the demo model's pipeline (site/bench.js; staticml.bench.gpu_probe).
  bench: (what, args) => call("bench", { ...(args || {}), what, model: demoModel().id }),
  // Model cache (works while Python still boots): state per model plus the service worker's
  // (serviceWorkerState above), and download into IndexedDB.
  cacheState: () => Promise.all([send("cache_state", {}), serviceWorkerState()])
    .then(([state, sw]) => ({ ...state, service_worker: sw })),
  // The service worker's part alone; it does not wait for the page's worker (busy while Pyodide boots).
  serviceWorker: serviceWorkerState,
  downloadModel: (model) => send("download_model", { model }),
  // The text of a file the model ships, e.g. modelFile("minilm", "tokenizer.json") (offline once stored).
  modelFile: (model, name) => send("model_file", { model, name }),
  // Uploads the model's tensors into GPU buffers (or the CPU kernels' memory); resolves to
  // {tensors: {name: {buffer, offset, nbytes, dtype, shape}}, ...} (buffer: a GPU buffer id or a wasm pointer).
  loadModel: (model) => call("load_model", { model }),
  // sha256 of each loaded tensor's bytes read back from where they were loaded (a self-check of the upload path).
  verifyModel: (model) => call("verify_model", { model }),
  // Every URL the page and its worker fetched so far (Resource Timing): what this site downloaded.
  requests: async () => [
    location.href,
    ...performance.getEntriesByType("resource").map((e) => e.name),
    ...(await call("requests", {})),
  ],
};

// ---- The demo: semantic search with the model the site ships (query parameter dtype=; backend= is the worker's) ----
const demo = config.demo || null;
const params = new URLSearchParams(location.search);

function demoModel() {
  if (!demo) throw new Error("this site was built without the demo model (build.py build --no-demo)");
  const dtype = params.get("dtype") || demo.default_dtype;
  if (!(dtype in demo.models)) {
    throw new Error(`dtype ${JSON.stringify(dtype)} was not built; this site has: ${Object.keys(demo.models).join(", ")}`);
  }
  return { id: demo.models[dtype], dtype };
}

async function timed(name, promise) {
  const t = performance.now();
  const value = await promise;
  if (info) info.timings[name] = +(performance.now() - t).toFixed(1);
  return value;
}

// Normalised embeddings, one Float32Array per text.
async function embed(texts) {
  if (!Array.isArray(texts) || !texts.every((t) => typeof t === "string")) throw new TypeError("embed() takes an array of strings");
  const out = await timed("last_embed_ms", call("embed", { texts, model: demoModel().id }));
  if (info) info.last_embed = out.timings;   // tokenize_ms, model_ms, batches, plans_compiled: where the time went
  await refreshInfo();
  return f32Rows(out.embeddings_f32, out.count, out.dim);
}

// base64 of one little-endian f32 block [count, dim] (worker_entry.embed) -> one Float32Array per row
function f32Rows(b64, count, dim) {
  const bin = atob(b64), bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const all = new Float32Array(bytes.buffer);
  return Array.from({ length: count }, (_, i) => all.slice(i * dim, (i + 1) * dim));
}

// The k documents of the demo index closest in meaning to the query: [{id, text, score}].
async function search(query, k = 10) {
  const out = await timed("last_search_ms", call("search", { query, k, model: demoModel().id, index: demo.index }));
  return out.results;
}

function setDemoInfo() {
  if (!info || !demo) return;
  const m = demoModel();
  info.model = { id: m.id, dtype: m.dtype, backend: info.backend, index: demo.index };
}

async function startDemo() {
  if (!demo) return;
  $("search").hidden = false;
  let model;
  try {
    model = demoModel();
  } catch (err) {
    $("search-meta").textContent = err.message;
    $("search-meta").className = "error";
    return;
  }
  await ready;
  setDemoInfo();
  $("search-meta").textContent = `loading ${model.id} and the ${demo.index} index…`;
  try {
    const r = await timed("load_search_ms", call("load_search", { model: model.id, index: demo.index }));
    await refreshInfo();
    $("search-meta").textContent = `ready: ${r.documents} documents, model ${model.id} (${model.dtype}) on ${info.backend}`;
    $("query").disabled = $("search-button").disabled = false;
    $("query").focus();
  } catch (err) {
    $("search-meta").textContent = "could not load the model: " + err.message;
    $("search-meta").className = "error";
  }
}

$("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const query = $("query").value;
  const meta = $("search-meta");
  meta.className = "";
  if (!query.trim()) {
    meta.textContent = "Type a few words to search for.";
    meta.className = "error";
    return;
  }
  meta.textContent = "searching…";
  try {
    const results = await search(query, 10);
    meta.textContent = `${results.length} results in ${info.timings.last_search_ms} ms · ${backendLabel(info)} · ` +
      `model ${info.model.id}`;
    const list = $("results");
    list.replaceChildren(...results.map((r) => {
      const li = document.createElement("li");
      li.innerHTML = '<span class="doc-id"></span><span class="score"></span><p class="doc-text"></p>';
      li.querySelector(".doc-id").textContent = r.id;
      li.querySelector(".score").textContent = `score ${r.score.toFixed(3)}`;
      li.querySelector(".doc-text").textContent = r.text;
      return li;
    }));
  } catch (err) {
    meta.textContent = err.message;
    meta.className = "error";
  }
});
startDemo();

$("selftest").addEventListener("click", async () => {
  $("selftest-result").textContent = "running…";
  try {
    const r = await window.staticml.selftest();
    $("selftest-result").textContent = `${r.ok ? "passed" : "FAILED"} (max abs error ${r.max_abs_err})`;
  } catch (err) {
    $("selftest-result").textContent = "error: " + err.message;
  }
});

show("starting the worker…", "booting");
worker.postMessage({
  kind: "boot",
  config: {
    pyodideIndex: abs(config.pyodideIndex), lockfile: abs(config.lockfile), packages: config.packages,
    models: models.map((m) => ({ ...m, manifest: abs(m.manifest) })),
    cpuKernels: Object.fromEntries(Object.entries(config.cpuKernels || {}).map(([k, url]) => [k, abs(url)])),
    options: Object.fromEntries(new URLSearchParams(location.search)),
  },
});
