// The in-page benchmark: the scenarios of `python build.py bench`, run against window.staticml.
// Query parameters: reps (default 10), warmup (default 2), cases (which latency cases, comma-separated;
// default all, empty = only the first embedding), throughput (batch sizes, e.g. "32,128,512"), report (a path to
// POST the JSON result to; the GPU kit's contract), plus whatever the app takes (dtype, backend, f16=unpack).
// probe=1 adds, per case, the in-worker breakdown of staticml.bench.gpu_probe (tokenizer, forward, host
// encode+submit, GPU time from timestamps, dispatches per forward; on the CPU backend cpu_probe: tokenizer,
// forward, the forwards a batch became); profile=N adds the time per kernel family (N profiled replays: one
// pass per dispatch with GPU timestamps, or each CPU kernel call timed); tpreps sets the throughput repetitions. Without probe=1,
// throughput rows go through embed(), which runs batches of at most 32. idle (gaps in ms, e.g. "0,100,500,2000")
// adds `after_idle`: per case, embed() timed after the page sat still for each gap (gaps interleaved), and with
// probe=1 the worker's stages after the same gaps (staticml.bench.idle_probe): where a visitor's first query
// after typing spends the time that a back-to-back loop does not show.
// The result is also left in window.staticmlBench (a Promise) for drivers such as Selenium.
const params = new URLSearchParams(location.search);
const reps = Number(params.get("reps") || 10);
const warmup = Number(params.get("warmup") || 2);
const probe = params.get("probe") === "1";
const profile = Number(params.get("profile") || 0);
const report = params.get("report");

function log(line) {
  console.log("[bench]", line);
  if (report) fetch("/__log", { method: "POST", body: line }).catch(() => {});
}

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { median_ms: +at(0.5).toFixed(2), p90_ms: +at(0.9).toFixed(2), min_ms: +s[0].toFixed(2), n: s.length };
}

async function timeIt(texts, n, warm = warmup) {
  for (let i = 0; i < warm; i++) await window.staticml.embed(texts);
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await window.staticml.embed(texts);
    times.push(performance.now() - t);
  }
  return stats(times);
}

// one probe failing (say, out of GPU memory at batch 512) is recorded in its row; the others still run
async function attempt(label, fn) {
  try {
    return await fn();
  } catch (err) {
    log(`${label} failed: ${err && err.message || err}`);
    return { error: String(err && err.message || err) };
  }
}

let partial = null;  // what was measured before a failure, posted with the error

async function run() {
  const inputs = await (await fetch("./bench-inputs.json")).json();
  const info = await window.staticml.ready;
  await window.staticml.embed([inputs.short]);
  const result = {
    first_embedding_ms: +performance.now().toFixed(1), info: window.staticml.info(), latency: {}, throughput: {},
    user_agent: navigator.userAgent, params: Object.fromEntries(params), cross_origin_isolated: self.crossOriginIsolated,
    memory: await window.staticml.memory(),   // after the first embedding (and a calibration, if one ran)
  };
  partial = result;
  log(`first embedding after ${result.first_embedding_ms} ms on ${info.backend}`);
  // the demo page loads its search index on its own; let that finish before anything is timed
  if (window.staticml.search) await window.staticml.search("warm up", 1).catch(() => {});
  if (probe) {
    result.describe = await attempt("describe", () => window.staticml.bench("describe", {}));
    result.probe = {};
    log(`describe: ${JSON.stringify(result.describe).slice(0, 400)}`);
  }
  const cases = { short_1: [inputs.short], batch_8: inputs.batch_8, batch_32: inputs.batch_32, passage_250: [inputs.passage_250] };
  const wanted = params.has("cases") ? params.get("cases").split(",").filter(Boolean) : Object.keys(cases);
  for (const [name, texts] of Object.entries(cases).filter(([n]) => wanted.includes(n))) {
    result.latency[name] = await timeIt(texts, reps);
    log(`${name}: median ${result.latency[name].median_ms} ms`);
    if (probe) {
      const p = result.probe[name] = await attempt(name, () =>
        window.staticml.bench("case", { case: name, batch_size: 32, reps, warmup, profile }));
      if (!p.error) log(`${name} probe: e2e ${p.e2e.median_ms} forward ${p.forward.median_ms} gpu ${p.gpu && p.gpu.median_ms} ms, ${p.dispatches} dispatches`);
    }
  }
  const gaps = (params.get("idle") || "").split(",").filter(Boolean).map(Number);
  if (gaps.length) result.after_idle = {};
  for (const name of gaps.length ? wanted.filter((n) => n in cases) : []) {
    const page = Object.fromEntries(gaps.map((g) => [g, []]));
    for (let i = 0; i < warmup; i++) await window.staticml.embed(cases[name]);
    for (let r = 0; r < reps; r++) {
      for (const g of gaps) {
        await new Promise((resolve) => setTimeout(resolve, g));
        const t = performance.now();
        await window.staticml.embed(cases[name]);
        page[g].push(performance.now() - t);
      }
    }
    const row = result.after_idle[name] = { page: Object.fromEntries(gaps.map((g) => [g, stats(page[g])])) };
    log(`${name} after idle: ${gaps.map((g) => `${g} ms -> ${row.page[g].median_ms}`).join(", ")}`);
    if (probe) {
      row.probe = await attempt(`${name} idle`, () =>
        window.staticml.bench("idle", { case: name, batch_size: 32, reps, warmup, gaps }));
    }
  }
  const tpReps = Number(params.get("tpreps") || Math.max(3, Math.floor(reps / 3)));
  for (const size of (params.get("throughput") || "").split(",").filter(Boolean).map(Number)) {
    const key = `batch_${size}`;
    if (probe) {
      const p = result.throughput[key] = await attempt(key, () => window.staticml.bench("case", {
        case: "throughput_128", repeat: size, batch_size: size, reps: tpReps, warmup: 1, profile }));
      if (!p.error) log(`throughput batch ${size}: e2e ${p.e2e_sentences_per_s}, forward ${p.forward_sentences_per_s}, ` +
          `gpu ${p.gpu_sentences_per_s} sentences/s`);
    } else {
      const texts = Array(size).fill(inputs.throughput_128);
      const s = await timeIt(texts, tpReps, Math.min(warmup, 1));
      result.throughput[key] = { ...s, sentences_per_s: +(size / (s.median_ms / 1000)).toFixed(1),
        note: "through embed(): batches of at most 32" };
      log(`throughput batch ${size}: ${result.throughput[key].sentences_per_s} sentences/s`);
    }
  }
  if (probe) result.describe_after = await attempt("describe", () => window.staticml.bench("describe", {}));
  result.info_after = window.staticml.info();  // timings the runtime gathered while the bench ran
  result.memory_after = await window.staticml.memory();
  if (report) await fetch(report, { method: "POST", body: JSON.stringify(result) });
  return result;
}

window.staticmlBench = run().catch(async (err) => {
  const failure = { error: String(err && err.message || err), partial };
  if (report) await fetch(report, { method: "POST", body: JSON.stringify(failure) });
  return failure;
});
