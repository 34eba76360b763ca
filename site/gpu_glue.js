// Thin GPU glue. Python (in Pyodide) decides everything; this module only owns GPU objects in an
// int-indexed table and replays plans. Only numbers, strings and typed arrays cross the FFI, so no
// PyProxy is ever created here. Registered in Pyodide as the module `staticml_glue` by worker.js.

const table = [null];          // id -> GPU object; id 0 means "none"
const freeIds = [];
let adapter = null;
let device = null;
let lostReason = null;

function put(obj) {
  const id = freeIds.length ? freeIds.pop() : table.length;
  table[id] = obj;
  return id;
}

function get(id) {
  const obj = table[id];
  if (obj === undefined || obj === null) throw new Error(`staticml glue: no GPU object with id ${id}`);
  return obj;
}

function needDevice() {
  if (lostReason) throw new Error(`the WebGPU device was lost (${lostReason}); reload the page`);
  if (!device) throw new Error("staticml glue: requestDevice() has not run");
  return device;
}

// Resolves to a JSON string describing the adapter and device; rejects with an Error that says
// what is missing when the browser has no usable WebGPU. `withoutFeatures` (comma-separated) names
// optional features not to request even when the adapter has them (e.g. "shader-f16", so the f16
// kernels take their unpack2x16float path on an adapter that could run native f16: `?f16=unpack`).
export async function requestDevice(powerPreference, withoutFeatures) {
  const gpu = self.navigator && self.navigator.gpu;
  if (!gpu) {
    throw new Error("WebGPU is not available in this browser (navigator.gpu is missing). " +
      "Use a browser with WebGPU enabled (Chrome or Edge 113+, or Chromium with --enable-unsafe-webgpu on Linux).");
  }
  adapter = await gpu.requestAdapter({ powerPreference: powerPreference || "high-performance" });
  if (!adapter) {
    throw new Error("WebGPU is present but no GPU adapter was granted (requestAdapter() returned null). " +
      "The GPU may be blocklisted or disabled; check chrome://gpu.");
  }
  const features = [...adapter.features].sort();
  const limits = {};
  for (const key of ["maxStorageBufferBindingSize", "maxBufferSize", "maxComputeInvocationsPerWorkgroup",
    "maxComputeWorkgroupSizeX", "maxComputeWorkgroupSizeY", "maxComputeWorkgroupStorageSize",
    "maxComputeWorkgroupsPerDimension", "maxStorageBuffersPerShaderStage", "minStorageBufferOffsetAlignment",
    "minUniformBufferOffsetAlignment"]) {
    limits[key] = adapter.limits[key];
  }
  // Ask for the adapter's own storage limits: the defaults (128 MiB bindings) are too small for models.
  const skip = String(withoutFeatures || "").split(",").filter(Boolean);
  device = await adapter.requestDevice({
    requiredFeatures: features.filter((f) => ["shader-f16", "timestamp-query", "subgroups"].includes(f) && !skip.includes(f)),
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });
  lostReason = null;
  for (const b of stagingPool.splice(0)) b.destroy();   // replayRead's buffers belong to the device before
  const asked = device;
  asked.lost.then((info) => {   // closeDevice() destroys it on purpose: that is not a loss
    if (asked === device && info.reason !== "destroyed") lostReason = `${info.reason}: ${info.message}`;
  });
  const info = adapter.info || {};
  return JSON.stringify({
    vendor: info.vendor || "", architecture: info.architecture || "", device: info.device || "",
    description: info.description || "", isFallbackAdapter: Boolean(adapter.isFallbackAdapter || info.isFallbackAdapter),
    features: [...device.features].sort(), adapterFeatures: features, withheldFeatures: skip, limits,
  });
}

export function createBuffer(nbytes, usage) {
  // WebGPU wants sizes in multiples of 4; callers work in elements, so round up here once.
  return put(needDevice().createBuffer({ size: Math.max(4, Math.ceil(nbytes / 4) * 4), usage }));
}

export function writeBuffer(id, offset, bytes) {
  needDevice().queue.writeBuffer(get(id), offset, bytes);
}

// Compiles one kernel; rejects with the WGSL compiler's messages (line:col) if it does not compile.
export async function createPipeline(key, wgsl, entryPoint) {
  const dev = needDevice();
  const module = dev.createShaderModule({ label: key, code: wgsl });
  const compiled = await module.getCompilationInfo();
  const errors = compiled.messages.filter((m) => m.type === "error");
  if (errors.length) {
    throw new Error(`WGSL kernel ${key} does not compile:\n` +
      errors.map((m) => `  ${m.lineNum}:${m.linePos} ${m.message}`).join("\n"));
  }
  const pipeline = await dev.createComputePipelineAsync({ label: key, layout: "auto", compute: { module, entryPoint } });
  return put(pipeline);
}

// entries: Int32Array of [binding, bufferId, offset, size] quadruples (size 0 = whole buffer).
export function createBindGroup(pipelineId, entries) {
  const pipeline = get(pipelineId);
  const list = [];
  for (let i = 0; i < entries.length; i += 4) {
    const resource = { buffer: get(entries[i + 1]), offset: entries[i + 2] };
    if (entries[i + 3] > 0) resource.size = entries[i + 3];
    list.push({ binding: entries[i], resource });
  }
  return put(needDevice().createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: list }));
}

// Replays a plan: ops is an Int32Array of [pipelineId, bindGroupId, x, y, z] records, all recorded
// into one compute pass and submitted once.
export function runPlan(ops) {
  const dev = needDevice();
  const encoder = dev.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (let i = 0; i < ops.length; i += 5) {
    pass.setPipeline(table[ops[i]]);
    pass.setBindGroup(0, table[ops[i + 1]]);
    pass.dispatchWorkgroups(ops[i + 2], ops[i + 3], ops[i + 4]);
  }
  pass.end();
  dev.queue.submit([encoder.finish()]);
}

// Copies nbytes at offset of a storage buffer to a fresh Uint8Array (through a staging buffer).
export async function readBuffer(id, offset, nbytes) {
  const dev = needDevice();
  const size = Math.ceil(nbytes / 4) * 4;
  const staging = dev.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = dev.createCommandEncoder();
  encoder.copyBufferToBuffer(get(id), offset, staging, 0, size);
  dev.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Uint8Array(staging.getMappedRange().slice(0, nbytes));
  staging.destroy();
  return out;
}

export function release(id) {
  const obj = get(id);
  if (typeof obj.destroy === "function") obj.destroy();
  table[id] = null;
  freeIds.push(id);
}

// Destroys every GPU object in the table and the device itself, so the browser frees its memory now
// (the calibration's loser, staticml.backend_choice). Nothing made before works afterwards.
export function closeDevice() {
  for (let id = 1; id < table.length; id++) {
    const obj = table[id];
    if (obj && typeof obj.destroy === "function") obj.destroy();
  }
  table.length = 1;
  freeIds.length = 0;
  recording = null;
  for (const b of stagingPool.splice(0)) b.destroy();
  if (device) device.destroy();
  device = null;
  adapter = null;
}

// Number of live GPU objects in the table (leak tests compare it before and after).
export function liveObjects() {
  return table.length - 1 - freeIds.length;
}

// ---- Per-dispatch recording (debug and benchmark paths; plans use runPlan). ----
// beginRecord() / recordDispatch(p, g, x, y, z) / submitRecord(): one FFI call per dispatch, so the
// benchmark can show what replaying a whole plan in one call saves.
let recording = null;

export function beginRecord() {
  const encoder = needDevice().createCommandEncoder();
  recording = { encoder, pass: encoder.beginComputePass() };
}

export function recordDispatch(pipelineId, bindGroupId, x, y, z) {
  if (!recording) throw new Error("staticml glue: recordDispatch() before beginRecord()");
  recording.pass.setPipeline(get(pipelineId));
  recording.pass.setBindGroup(0, get(bindGroupId));
  recording.pass.dispatchWorkgroups(x, y, z);
}

export function submitRecord() {
  if (!recording) throw new Error("staticml glue: submitRecord() before beginRecord()");
  recording.pass.end();
  needDevice().queue.submit([recording.encoder.finish()]);
  recording = null;
}

// Benchmark baseline: the same [pipeline, bindGroup, x, y, z] records encoded by a plain JS loop over
// already-resolved GPU objects, `reps` times (one submit each). Returns host milliseconds per rep.
export function timeEncodeLoop(ops, reps) {
  const dev = needDevice();
  const pipes = [], groups = [], dims = [];
  for (let i = 0; i < ops.length; i += 5) {
    pipes.push(get(ops[i]));
    groups.push(get(ops[i + 1]));
    dims.push([ops[i + 2], ops[i + 3], ops[i + 4]]);
  }
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    const encoder = dev.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (let k = 0; k < pipes.length; k++) {
      pass.setPipeline(pipes[k]);
      pass.setBindGroup(0, groups[k]);
      pass.dispatchWorkgroups(dims[k][0], dims[k][1], dims[k][2]);
    }
    pass.end();
    dev.queue.submit([encoder.finish()]);
  }
  return (performance.now() - t0) / reps;
}

// Resolves once the GPU has finished everything submitted so far (benchmarks time against it).
export async function idle() {
  await needDevice().queue.onSubmittedWorkDone();
}

// ---- Prepared plans: the replay record resolved to GPU objects once, kept in the table. ----
// preparePlan(ops) takes the same Int32Array as runPlan and returns an id; replayPlan(id) then
// encodes from already-resolved objects (as a hand-written JS loop would) and submits once, so a
// replay crosses the FFI with one int. release(id) drops the record like any other object.
export function preparePlan(ops) {
  const pipes = [], groups = [], dims = new Uint32Array(ops.length / 5 * 3);
  for (let i = 0, k = 0; i < ops.length; i += 5, k++) {
    pipes.push(get(ops[i]));
    groups.push(get(ops[i + 1]));
    dims[3 * k] = ops[i + 2];
    dims[3 * k + 1] = ops[i + 3];
    dims[3 * k + 2] = ops[i + 4];
  }
  return put({ pipes, groups, dims });
}

function encodeReplay(encoder, { pipes, groups, dims }) {
  const pass = encoder.beginComputePass();
  for (let k = 0; k < pipes.length; k++) {
    pass.setPipeline(pipes[k]);
    pass.setBindGroup(0, groups[k]);
    pass.dispatchWorkgroups(dims[3 * k], dims[3 * k + 1], dims[3 * k + 2]);
  }
  pass.end();
}

export function replayPlan(id) {
  const dev = needDevice();
  const encoder = dev.createCommandEncoder();
  encodeReplay(encoder, get(id));
  dev.queue.submit([encoder.finish()]);
}

// replayRead(id, reads): replays a prepared plan and copies its outputs ([bufferId, byteOffset, nbytes] per
// output in the Int32Array reads) into one mappable buffer in the SAME submit, then maps it: one submit and one
// mapAsync per run instead of a submit for the plan plus one per read back (readBuffer). Resolves to the outputs'
// bytes back to back, each padded to 4 bytes. Mappable buffers are kept for the next run (STAGING_KEEP), so a
// submit that failed validation would leave an earlier run's bytes in one: such an error is caught in an error
// scope (popped while the map waits for the GPU anyway) and thrown instead.
const stagingPool = [];
const STAGING_KEEP = 4;

export async function replayRead(id, reads) {
  const dev = needDevice();
  const sizes = [];
  for (let i = 0; i < reads.length; i += 3) sizes.push(Math.ceil(reads[i + 2] / 4) * 4);
  const total = sizes.reduce((a, b) => a + b, 0);
  const k = stagingPool.findIndex((b) => b.size >= total);
  const staging = k >= 0 ? stagingPool.splice(k, 1)[0]
    : dev.createBuffer({ size: total, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    let invalid;
    dev.pushErrorScope("validation");
    try {
      const encoder = dev.createCommandEncoder();
      encodeReplay(encoder, get(id));
      for (let i = 0, j = 0, at = 0; i < reads.length; i += 3, j++) {
        encoder.copyBufferToBuffer(get(reads[i]), reads[i + 1], staging, at, sizes[j]);
        at += sizes[j];
      }
      dev.queue.submit([encoder.finish()]);
    } finally {
      invalid = dev.popErrorScope();   // popped even when encoding threw, so scopes never pile up
    }
    let mapFailure = null;
    await staging.mapAsync(GPUMapMode.READ, 0, total).catch((e) => { mapFailure = e; });
    const error = await invalid;
    if (error) throw new Error(`WebGPU rejected a plan's replay: ${error.message}`);
    if (mapFailure) throw mapFailure;
    return new Uint8Array(staging.getMappedRange(0, total).slice(0));
  } finally {
    if (staging.mapState === "mapped") staging.unmap();
    if (device === dev && stagingPool.length < STAGING_KEEP) stagingPool.push(staging);
    else staging.destroy();
  }
}

// Benchmark: host milliseconds per replayPlan(id), called `reps` times from JS (no FFI in between).
export function timeReplay(id, reps) {
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) replayPlan(id);
  return (performance.now() - t0) / reps;
}

// ---- GPU timestamps (profiling only; the normal path above stays one pass, one submit). ----
// profilePlan(id, perDispatch) replays a prepared plan with `timestamp-query` writes and resolves to a
// Float64Array of GPU nanoseconds: perDispatch = 0 encodes the plan exactly as replayPlan does (one
// compute pass) with timestamps at the pass's start and end, giving [total]; perDispatch = 1 puts
// each dispatch in its own pass with its own pair of timestamps, giving one duration per dispatch
// (the passes' boundaries add a little time, so the sum is a bit more than the one-pass total).
const QUERIES_PER_SET = 4096;  // WebGPU's limit on a query set's count

export async function profilePlan(id, perDispatch) {
  const dev = needDevice();
  if (!dev.features.has("timestamp-query")) {
    throw new Error("this device has no 'timestamp-query' feature, so GPU times cannot be measured");
  }
  const { pipes, groups, dims } = get(id);
  const n = perDispatch ? pipes.length : 1;
  const sets = [];
  const encoder = dev.createCommandEncoder();
  for (let first = 0; first < n; first += QUERIES_PER_SET / 2) {
    const count = Math.min(QUERIES_PER_SET / 2, n - first);
    const querySet = dev.createQuerySet({ type: "timestamp", count: 2 * count });
    const resolve = dev.createBuffer({ size: 16 * count, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const read = dev.createBuffer({ size: 16 * count, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    sets.push({ querySet, resolve, read, count });
    for (let j = 0; j < count; j++) {
      const pass = encoder.beginComputePass({
        timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * j, endOfPassWriteIndex: 2 * j + 1 },
      });
      const ks = perDispatch ? [first + j] : pipes.map((_, k) => k);
      for (const k of ks) {
        pass.setPipeline(pipes[k]);
        pass.setBindGroup(0, groups[k]);
        pass.dispatchWorkgroups(dims[3 * k], dims[3 * k + 1], dims[3 * k + 2]);
      }
      pass.end();
    }
    encoder.resolveQuerySet(querySet, 0, 2 * count, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, read, 0, 16 * count);
  }
  dev.queue.submit([encoder.finish()]);
  const out = new Float64Array(n);
  let at = 0;
  for (const { querySet, resolve, read, count } of sets) {
    await read.mapAsync(GPUMapMode.READ);
    const ticks = new BigUint64Array(read.getMappedRange());
    for (let j = 0; j < count; j++) out[at++] = Number(ticks[2 * j + 1] - ticks[2 * j]);
    read.unmap();
    for (const obj of [querySet, resolve, read]) obj.destroy();
  }
  return out;
}
