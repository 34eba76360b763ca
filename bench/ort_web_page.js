// The in-page half of bench/ort_web.py: staticml and ONNX Runtime Web in one page, timed in rounds.
// bench/ort_web.py copies this file to ort/compare.js of a built site and writes ort-compare.html (the site's
// bench.html with this script instead of bench.js) and ort/inputs.json (per case: texts, token ids and mask
// padded to the batch's longest text, sentence-transformers' embeddings). Query parameters: what the app takes
// (dtype, backend, threads), plus
//   model      the ONNX file to open (under ort/);  ep  ONNX Runtime's execution provider: wasm | webgpu
//   threads    ONNX Runtime's wasm threads (the same number staticml gets)
//   rounds, reps, warmup, settle_ms   (see bench/ort_web.py);  cases  which cases (comma-separated; default all)
//   gap_ms     if > 0, after the rounds: `reps` single queries per engine and case, each after the page sat still
//              gap_ms (the engines alternate, ORT first in even reps): what a visitor's query after a pause costs
//   report     a path to POST the JSON result to (the GPU kit's contract); it is also left in window.ortCompare.
const params = new URLSearchParams(location.search);
const num = (name, dflt) => (params.has(name) ? Number(params.get(name)) : dflt);
const rounds = num("rounds", 7), reps = num("reps", 5), warmup = num("warmup", 8), settleMs = num("settle_ms", 500);
const gapMs = num("gap_ms", 0);
const threads = num("threads", 1), ep = params.get("ep") || "wasm", model = params.get("model");
const report = params.get("report");

function log(line) {
  console.log("[ort-compare]", line);
  if (report) fetch("/__log", { method: "POST", body: line }).catch(() => {});
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const h = s.length >> 1; return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2; };

function minCosine(rows, reference) {
  let worst = 1;
  rows.forEach((a, i) => {
    const b = reference[i];
    let dot = 0, na = 0, nb = 0;
    for (let c = 0; c < a.length; c++) { dot += a[c] * b[c]; na += a[c] * a[c]; nb += b[c] * b[c]; }
    worst = Math.min(worst, dot / Math.sqrt(na * nb));
  });
  return worst;
}

// ONNX Runtime Web from this origin: the wasm-only bundle for ep=wasm, the WebGPU one for ep=webgpu.
async function openSession() {
  const ort = await import(ep === "webgpu" ? "./ort.webgpu.min.mjs" : "./ort.wasm.min.mjs");
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = new URL("./", import.meta.url).href;
  const t = performance.now();
  const session = await ort.InferenceSession.create(new URL(model, import.meta.url).href, { executionProviders: [ep] });
  // one timed run: int64 tensors, session.run, mean pooling over the mask, L2 normalisation -> [B][384]
  const embed = async ({ ids, mask }) => {
    const B = ids.length, T = ids[0].length, flat = (rows) => BigInt64Array.from(rows.flat(), (v) => BigInt(v));
    const feeds = {
      input_ids: new ort.Tensor("int64", flat(ids), [B, T]),
      attention_mask: new ort.Tensor("int64", flat(mask), [B, T]),
      token_type_ids: new ort.Tensor("int64", new BigInt64Array(B * T), [B, T]),
    };
    const out = (await session.run(feeds)).last_hidden_state, h = out.data, C = out.dims[2];
    const rows = [];
    for (let b = 0; b < B; b++) {
      const e = new Float64Array(C);
      let n = 0;
      for (let t = 0; t < T; t++) {
        if (!mask[b][t]) continue;
        n++;
        for (let c = 0; c < C; c++) e[c] += h[(b * T + t) * C + c];
      }
      let norm = 0;
      for (let c = 0; c < C; c++) { e[c] /= n; norm += e[c] * e[c]; }
      norm = Math.sqrt(norm);
      rows.push(Array.from(e, (v) => v / norm));
    }
    out.dispose();
    return rows;
  };
  return { embed, load_ms: performance.now() - t, version: ort.env.versions && ort.env.versions.web };
}

async function run() {
  const inputs = await (await fetch(new URL("./inputs.json", import.meta.url))).json();
  if (params.get("cases")) {
    const wanted = params.get("cases").split(",");
    inputs.cases = Object.fromEntries(Object.entries(inputs.cases).filter(([name]) => wanted.includes(name)));
  }
  await window.staticml.ready;
  await window.staticml.embed(["warm up"]);
  // the demo page loads its search index (and, on the CPU, compiles short-query plans) on its own: let it finish
  if (window.staticml.search) await window.staticml.search("warm up", 1).catch(() => {});
  if (window.staticml.precompiled) await window.staticml.precompiled().catch(() => {});
  const info = window.staticml.info();
  const ort = await openSession();
  log(`staticml on ${info.backend}; ONNX Runtime Web ${ort.version} (${ep}, ${threads} thread(s)) opened ${model} in ${ort.load_ms.toFixed(0)} ms`);
  const engines = {
    staticml: async (c) => Array.from(await window.staticml.embed(c.texts), (r) => Array.from(r)),
    ort: (c) => ort.embed(c),
  };
  // n timed runs of one engine, after the other engine's threads had time to go to sleep
  const times = async (engine, c, n) => {
    await sleep(settleMs);
    const ms = [];
    for (let i = 0; i < n; i++) { const t = performance.now(); await engines[engine](c); ms.push(performance.now() - t); }
    return ms;
  };
  const result = {
    info, ep, threads, model, ort_version: ort.version, ort_session_ms: Math.round(ort.load_ms),
    cross_origin_isolated: self.crossOriginIsolated, user_agent: navigator.userAgent, params: Object.fromEntries(params),
    accuracy: {}, samples: {}, ratios: {},
  };
  for (const [name, c] of Object.entries(inputs.cases)) {   // warm-up, then each engine's embeddings vs the reference
    const acc = {};
    for (const engine of ["staticml", "ort"]) {
      for (let i = 1; i < warmup; i++) await engines[engine](c);
      acc[`${engine}_min_cosine`] = +minCosine(await engines[engine](c), c.reference).toFixed(6);
    }
    result.accuracy[name] = acc;
    result.samples[name] = { staticml: [], ort: [] };
    result.ratios[name] = [];
  }
  for (let r = 0; r < rounds; r++) {
    log(`round ${r + 1} of ${rounds}`);
    for (const [name, c] of Object.entries(inputs.cases)) {
      const before = await times("ort", c, reps), mine = await times("staticml", c, reps), after = await times("ort", c, reps);
      result.samples[name].staticml.push(...mine);
      result.samples[name].ort.push(...before, ...after);
      result.ratios[name].push(median(mine) / Math.min(median(before), median(after)));
    }
  }
  if (gapMs > 0) {
    result.after_idle = { gap_ms: gapMs, samples: {} };
    for (const [name, c] of Object.entries(inputs.cases)) {
      const s = result.after_idle.samples[name] = { staticml: [], ort: [] };
      for (let r = 0; r < reps; r++) {
        for (const engine of r % 2 ? ["staticml", "ort"] : ["ort", "staticml"]) {
          await sleep(gapMs);
          const t = performance.now();
          await engines[engine](c);
          s[engine].push(performance.now() - t);
        }
      }
      log(`${name} after ${gapMs} ms idle: staticml ${median(s.staticml).toFixed(1)} ms, ORT ${median(s.ort).toFixed(1)} ms`);
    }
  }
  return result;
}

window.ortCompare = run().catch((e) => ({ error: String(e && e.stack || e) }));
window.ortCompare.then(async (result) => {
  if ("error" in result) log(`failed: ${result.error}`);
  if (report) await fetch(report, { method: "POST", body: JSON.stringify(result) }).catch(() => {});
});
