// Replays a CPU plan: the kernel calls that Python recorded once (staticml.runtime.cpu_backend), run in
// order by one FFI call, as gpu_glue.js replays a GPU plan. Registered in Pyodide as `staticml_cpu_plan`.
// A call is [export name, args, indexes of the args that are offsets into the run's scratch block]; the
// block's address (`base`) is only known at run time, so those args get it added here.
import { ERRORS, kernelExports } from "./cpu_glue.js";

const plans = [null];   // id -> [{fn, name, args, rel}] (id 0 is never used)
const freeIds = [];

export function preparePlan(callsJson) {
  const ex = kernelExports();
  const calls = JSON.parse(callsJson).map(([name, args, rel]) => {
    if (typeof ex[name] !== "function") throw new Error(`CPU plan: the kernels export no ${name}`);
    return { fn: ex[name], name, args, rel, live: args.slice() };
  });
  const id = freeIds.length ? freeIds.pop() : plans.length;
  plans[id] = calls;
  return id;
}

// Runs calls [start, end) of plan `id` with the scratch block at `base`.
export function runRange(id, base, start, end) {
  const calls = plans[id];
  if (!calls) throw new Error(`CPU plan ${id} does not exist (released?)`);
  for (let c = start; c < end; c++) {
    const call = calls[c];
    for (const i of call.rel) call.live[i] = call.args[i] + base;
    const code = call.fn(...call.live);
    if (code !== 0) {
      throw new Error(`CPU kernel ${call.name} (call ${c} of the plan) failed: ` +
        (ERRORS[code] || `error ${code}`));
    }
  }
}

export function runPlan(id, base) {
  runRange(id, base, 0, plans[id] ? plans[id].length : 0);
}

// The same run, timed per call: a Float64Array of milliseconds (performance.now(): 5 µs steps when the
// page is cross-origin isolated, 100 µs otherwise), for CpuProgram.profile().
export function profilePlan(id, base) {
  const calls = plans[id];
  if (!calls) throw new Error(`CPU plan ${id} does not exist (released?)`);
  const ms = new Float64Array(calls.length);
  for (let c = 0; c < calls.length; c++) {
    const t0 = performance.now();
    runRange(id, base, c, c + 1);
    ms[c] = performance.now() - t0;
  }
  return ms;
}

export function releasePlan(id) {
  if (plans[id]) {
    plans[id] = null;
    freeIds.push(id);
  }
}

// Every plan, when the kernels are unloaded (CpuBackend.close): a plan holds the instance's exports, and
// with them its memory, which the browser can only free once nothing refers to it.
export function releaseAll() {
  plans.length = 1;
  freeIds.length = 0;
}

// Plans alive (leak tests compare it before and after).
export function livePlans() {
  return plans.length - 1 - freeIds.length;
}
