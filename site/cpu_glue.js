// Thin CPU glue: instantiates the WebAssembly SIMD kernels (shaders/cpu/*.c, built by
// staticml.builder.wasm_kernels) and forwards one call per op. Python (staticml.cpu) decides everything;
// only numbers and typed arrays cross the FFI, pointers into the wasm memory are plain ints, and no
// PyProxy is made here. Mirrors gpu_glue.js; registered in Pyodide as the module `staticml_cpu`.
//
// Threads: on a cross-origin-isolated page `init` can start a persistent pool of module Workers (this
// same file, run under the worker name below) that share the memory. Each op then runs on every thread
// at once: the caller publishes the job in shared memory and wakes the pool with an atomic notify, so
// no thread is started per op (shaders/cpu/pool.c).

const WORKER_NAME = "staticml-cpu-pool";
// The most threads the kernels take (SM_MAX_THREADS, shaders/cpu/common.h), and the default's cap: one per core.
// The MiniLM encoder on a 16-core Xeon ran 1.6-2.2x faster on 8 threads than on 4, and 1.3-2.0x faster again
// on 16 (bench/cpu_thread_scaling.py, bench/results/cpu-threads-2026-11-22-device.json).
const MAX_THREADS = 16;
export const ERRORS = { 1: "out of memory (the wasm memory could not grow)", 2: "bad shape or argument", 3: "an index is out of range" };

let memory = null;
let kernels = null;      // the instance's exports
let info = null;
let pool = [];

// --- feature probes: tiny modules that validate only if the browser has the feature ---
function probe(bodyOps) {
  const body = [0, ...bodyOps, 0x0b];
  const code = [1, body.length, ...body];
  const bytes = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0, 10, code.length, ...code];
  try { return WebAssembly.validate(new Uint8Array(bytes)); } catch { return false; }
}
const V128_ZERO = [0xfd, 0x0c, ...new Array(16).fill(0)];
export function hasSimd128() { return probe(V128_ZERO); }
export function hasRelaxedSimd() { return probe([...V128_ZERO, ...V128_ZERO, ...V128_ZERO, 0xfd, 0x85, 0x02]); }  // f32x4.relaxed_madd
export function canUseThreads() {
  return Boolean(self.crossOriginIsolated) && typeof SharedArrayBuffer === "function" && typeof Worker === "function";
}

// urlsJson: {"simd128": url, "relaxed": url, "simd128-threads": url, "relaxed-threads": url} (site's hashed names).
// wantVariant: "auto" | "simd128" | "relaxed"; threads: total threads wanted (1 = none; 0 = one per core, at most 16).
// Resolves to a JSON string saying what was chosen and why.
export async function init(urlsJson, wantVariant, threads) {
  unload();
  if (!hasSimd128()) {
    throw new Error("this browser has no WebAssembly SIMD (needed by the CPU kernels); use a browser from 2021 or later");
  }
  const urls = JSON.parse(urlsJson);
  const reasons = [];
  let relaxed = hasRelaxedSimd();
  if (wantVariant === "relaxed" && !relaxed) throw new Error("relaxed SIMD was asked for, but this browser does not validate it");
  if (wantVariant === "simd128") { relaxed = false; reasons.push("SIMD128 forced"); }
  else reasons.push(relaxed ? "relaxed SIMD available" : "no relaxed SIMD: plain SIMD128");
  const cores = self.navigator.hardwareConcurrency || 1;
  let want = threads === 0 ? Math.min(MAX_THREADS, cores) : Math.max(1, threads | 0);
  if (want > MAX_THREADS) {
    reasons.push(`${want} threads asked for; the kernels take at most ${MAX_THREADS}`);
    want = MAX_THREADS;
  }
  if (want > 1 && !canUseThreads()) {
    reasons.push("single thread: the page is not cross-origin isolated (COOP/COEP), so no shared memory");
    want = 1;
  } else if (threads === 0) {
    reasons.push(`${want} thread${want > 1 ? "s" : ""}: one per logical core (${cores}), at most ${MAX_THREADS}`);
  }
  const variant = (relaxed ? "relaxed" : "simd128") + (want > 1 ? "-threads" : "");
  if (!urls[variant]) throw new Error(`staticml cpu glue: no URL for the kernel variant ${variant}`);
  const response = await fetch(urls[variant]);
  if (!response.ok) throw new Error(`could not fetch the CPU kernels ${urls[variant]}: HTTP ${response.status}`);
  const module = await WebAssembly.compileStreaming(response);
  // 4 MiB to start (linker's --initial-memory); 65535 pages = the wasm32 limit of 4 GiB.
  memory = new WebAssembly.Memory({ initial: 64, maximum: 65535, shared: want > 1 });
  kernels = (await WebAssembly.instantiate(module, { env: { memory } })).exports;
  if (want > 1) await startPool(module, want);
  check(kernels.sm_set_threads(want), "sm_set_threads");
  info = { variant, threads: want, relaxed, reasons };
  return JSON.stringify(info);
}

// Drops the instance and stops the pool: every pointer handed out before is invalid afterwards.
export function unload() {
  for (const worker of pool) worker.terminate();
  pool = [];
  kernels = null;
  memory = null;
  info = null;
}

async function startPool(module, total) {
  const stack = 256 * 1024;
  const ready = [];
  for (let tid = 1; tid < total; tid++) {
    const base = kernels.sm_alloc(stack);
    if (!base) throw new Error("staticml cpu glue: no memory for a worker stack");
    const worker = new Worker(import.meta.url, { type: "module", name: WORKER_NAME });
    ready.push(new Promise((resolve, reject) => {
      worker.onmessage = (e) => (e.data === "ready" ? resolve() : reject(new Error(e.data)));
      worker.onerror = (e) => reject(new Error(`a CPU pool worker failed to start: ${e.message}`));
    }));
    worker.postMessage({ module, memory, tid, stackTop: base + stack });
    pool.push(worker);
  }
  await Promise.all(ready);
}

// A pool worker: own instance over the shared memory, own stack, then the job loop (never returns).
if (typeof WorkerGlobalScope !== "undefined" && self.name === WORKER_NAME) {
  self.onmessage = async ({ data }) => {
    try {
      const ex = (await WebAssembly.instantiate(data.module, { env: { memory: data.memory } })).exports;
      ex.__stack_pointer.value = data.stackTop;
      const gen = ex.sm_worker_enter();
      self.postMessage("ready");
      ex.sm_worker_loop(data.tid, gen);
    } catch (e) {
      self.postMessage(String(e && e.message || e));
    }
  };
}

function need() {
  if (!kernels) throw new Error("staticml cpu glue: the CPU kernels are not loaded (init() has not run, or unload() has)");
  return kernels;
}

function check(code, op) {
  if (code !== 0) throw new Error(`CPU kernel ${op}: ${ERRORS[code] || "error " + code}`);
}

export function getInfo() { return JSON.stringify(info); }

// The instance's exports, for the plan runner (cpu_plan.js): it calls the kernels without a hop through here.
export function kernelExports() { return need(); }

// --- memory: a bump arena inside the wasm memory (shaders/cpu/arena.c) ---
export function alloc(nbytes) {
  const ptr = need().sm_alloc(nbytes);
  if (!ptr) throw new Error(`CPU kernels: cannot allocate ${nbytes} bytes (wasm memory is limited to 4 GiB)`);
  return ptr;
}
export function mark() { return need().sm_mark(); }
export function reset(m) { need().sm_reset(m); }
export function memoryBytes() { return memory ? memory.buffer.byteLength : 0; }

// The views are made per call: growing the memory replaces memory.buffer.
export function write(ptr, bytes) {
  need();
  new Uint8Array(memory.buffer, ptr, bytes.byteLength).set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
export function read(ptr, nbytes) {
  need();
  return new Uint8Array(memory.buffer, ptr, nbytes).slice();
}

// Fetches a byte range of a URL straight into the wasm memory (weights never pass through Python).
export async function fetchInto(ptr, url, offset, nbytes) {
  need();
  const response = await fetch(url, offset || nbytes ? { headers: { Range: `bytes=${offset}-${offset + nbytes - 1}` } } : {});
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status}`);
  let bytes = new Uint8Array(await response.arrayBuffer());
  if (response.status === 200 && (offset || nbytes)) bytes = bytes.subarray(offset, offset + nbytes);  // host ignored Range
  if (bytes.byteLength !== nbytes) throw new Error(`${url}: expected ${nbytes} bytes at ${offset}, got ${bytes.byteLength}`);
  new Uint8Array(memory.buffer, ptr, nbytes).set(bytes);
}

export function packF32(w, out, N, K) { check(need().sm_pack_f32(w, out, N, K), "pack_f32"); }
export function packQ8(w, out, N, K) { check(need().sm_pack_q8(w, out, N, K), "pack_q8"); }
export function packQ8x7(w, out, N, K) { check(need().sm_pack_q8x7(w, out, N, K), "pack_q8x7"); }

// --- one call per op; pointers are ints, 0 = absent; act: 0 none, 1 gelu_erf, 2 gelu_tanh, 3 silu, 4 relu ---
export function matmulF32(x, w, bias, res, out, M, K, N, act) { check(need().sm_matmul_f32(x, w, bias, res, out, M, K, N, act), "matmul_f32"); }
export function matmulF16(x, w, bias, res, out, M, K, N, act) { check(need().sm_matmul_f16(x, w, bias, res, out, M, K, N, act), "matmul_f16"); }
export function matmulQ8(x, w, scales, bias, res, out, M, K, N, act) { check(need().sm_matmul_q8(x, w, scales, bias, res, out, M, K, N, act), "matmul_q8"); }
export function matmulQ8p(x, w, scales, bias, res, out, M, K, N, act) { check(need().sm_matmul_q8p(x, w, scales, bias, res, out, M, K, N, act), "matmul_q8p"); }
export function matmulQ8Dynamic(x, w, scales, bias, res, out, M, K, N, act) { check(need().sm_matmul_q8_dynamic(x, w, scales, bias, res, out, M, K, N, act), "matmul_q8_dynamic"); }
// fused: 1 = the relaxed int8 dot as one op (fast with VNNI), 0 = as three (fast without), same results;
// smooth: 0 or K floats x is multiplied by per input channel before rounding (SmoothQuant's 1/s)
export function matmulQ8x7(x, w, scales, bias, res, out, M, K, N, act, fused, smooth) { check(need().sm_matmul_q8x7(x, w, scales, bias, res, out, M, K, N, act, fused, smooth || 0), "matmul_q8x7"); }
export function matmulQ4(x, w, scales, bias, res, out, M, K, N, act) { check(need().sm_matmul_q4(x, w, scales, bias, res, out, M, K, N, act), "matmul_q4"); }
export function layerNorm(x, gamma, beta, out, M, N, eps) { check(need().sm_layer_norm(x, gamma, beta, out, M, N, eps), "layer_norm"); }
export function rmsNorm(x, gamma, out, M, N, eps) { check(need().sm_rms_norm(x, gamma, out, M, N, eps), "rms_norm"); }
export function softmax(x, mask, out, M, N, maskPeriod, scale) { check(need().sm_softmax(x, mask, out, M, N, maskPeriod, scale), "softmax"); }
// strides (in floats): [batch, token, head] for q, k and v; keyMask f32 [B, Tk] 1 attend / 0 pad, or 0
export function attention(q, k, v, out, keyMask, B, Tq, Tk, H, Hkv, D, causal, scale, qs0, qs1, qs2, ks0, ks1, ks2, vs0, vs1, vs2) {
  check(need().sm_attention(q, k, v, out, keyMask, B, Tq, Tk, H, Hkv, D, causal, scale, qs0, qs1, qs2, ks0, ks1, ks2, vs0, vs1, vs2), "attention");
}
export function activation(x, out, n, act) { check(need().sm_activation(x, out, n, act), "activation"); }
export function add(a, b, out, n) { check(need().sm_binary(a, b, out, n, 0), "add"); }
export function mul(a, b, out, n) { check(need().sm_binary(a, b, out, n, 1), "mul"); }
export function rotary(x, out, cos, sin, B, T, H, D, R, xs0, xs1, xs2) { check(need().sm_rotary(x, out, cos, sin, B, T, H, D, R, xs0, xs1, xs2), "rotary"); }
export function copy(src, dst, n0, n1, n2, n3, s0, s1, s2, s3, d0, d1, d2, d3) {
  check(need().sm_copy(src, dst, n0, n1, n2, n3, s0, s1, s2, s3, d0, d1, d2, d3), "copy");
}
export function matmulBatched(a, b, out, batch, M, K, N, transposeB, aBatchStride, bBatchStride) {
  check(need().sm_matmul_batched(a, b, out, batch, M, K, N, transposeB, aBatchStride, bBatchStride), "matmul_batched");
}
export function embedding(ids, typeIds, word, pos, type, out, B, S, C, V, wordDtype, wordScales, posOffset) {
  check(need().sm_embedding(ids, typeIds, word, pos, type, out, B, S, C, V, wordDtype, wordScales, posOffset), "embedding");
}
export function meanPool(x, mask, out, B, S, C) { check(need().sm_mean_pool(x, mask, out, B, S, C), "mean_pool"); }
export function l2Normalize(x, out, M, N, eps) { check(need().sm_l2_normalize(x, out, M, N, eps), "l2_normalize"); }
export function argmax(x, out, M, N) { check(need().sm_argmax(x, out, M, N), "argmax"); }
