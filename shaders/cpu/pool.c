// Work split across a persistent pool of Web Workers sharing this module's memory (SM_THREADS
// builds). An op is cut into `nparts` parts (more parts than threads); the caller (thread 0) publishes
// the job, wakes the workers with memory.atomic.notify, and every thread claims parts with a
// compare-exchange until none are left, so a worker the OS has descheduled only costs the part it
// holds. Workers sleep in memory.atomic.wait32 between jobs: no thread is started per op.
// Single-threaded builds run the parts in order.
#include "common.h"

static float *g_scratch[SM_MAX_THREADS];
static int g_threads = 1;

#ifdef SM_THREADS
static struct {
  volatile int32_t gen;        // bumped once per job; sleeping workers wait on it
  volatile int32_t finished;   // parts of the current job that are done
  part_fn fn;
  int32_t nparts;
  int32_t args[32];
} g_job __attribute__((aligned(64)));
// (job generation << 32) | parts not yet claimed, counting down. "All claimed" must be visible in this
// one word: a worker that read nparts separately could meet the next job's (larger) nparts while the
// claim word still says the old job, claim a part that does not exist, and run it on the next job's
// half-written args (seen as hangs: `finished` overshoots nparts). A claim that succeeds proves its job
// is still running, so fn/args/nparts read after it are that job's.
static volatile uint64_t g_claim __attribute__((aligned(64)));

#define WORKER_SPIN 50000   // loads before sleeping: ops follow each other within tens of microseconds

static void run_parts(int32_t gen, float *scratch) {
  for (;;) {
    uint64_t v = __atomic_load_n(&g_claim, __ATOMIC_ACQUIRE);
    if ((int32_t)(v >> 32) != gen || (uint32_t)v == 0) return;
    if (!__atomic_compare_exchange_n(&g_claim, &v, v - 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
    int part = g_job.nparts - (int)(uint32_t)v;
    g_job.fn(g_job.args, part, g_job.nparts, scratch);
    __atomic_fetch_add(&g_job.finished, 1, __ATOMIC_RELEASE);
  }
}
#endif

int sm_thread_count(void) { return g_threads; }

// Sets the thread count (1 + number of pool workers) and gives each thread its scratch; call once
// at start-up before any op, on thread 0. Returns 0, or SM_ERR_OOM.
int SM_EXPORT(sm_set_threads)(int n) {
  if (n < 1) n = 1;
  if (n > SM_MAX_THREADS) n = SM_MAX_THREADS;
#ifndef SM_THREADS
  n = 1;
#endif
  for (int t = 0; t < n; t++) {
    if (!g_scratch[t]) g_scratch[t] = sm_arena_alloc(SM_SCRATCH_FLOATS * sizeof(float));
    if (!g_scratch[t]) return SM_ERR_OOM;
  }
  g_threads = n;
  return SM_OK;
}

void sm_parallel(part_fn fn, const int32_t *args, int nargs, int nparts) {
  if (nparts < 1) nparts = 1;
#ifdef SM_THREADS
  if (g_threads > 1 && nparts > 1) {
    for (int i = 0; i < nargs; i++) g_job.args[i] = args[i];
    g_job.fn = fn;
    g_job.nparts = nparts;
    __atomic_store_n(&g_job.finished, 0, __ATOMIC_SEQ_CST);
    int32_t gen = g_job.gen + 1;
    __atomic_store_n(&g_claim, ((uint64_t)(uint32_t)gen << 32) | (uint32_t)nparts, __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_job.gen, gen, __ATOMIC_SEQ_CST);
    __builtin_wasm_memory_atomic_notify((int32_t *)&g_job.gen, (unsigned)(g_threads - 1));
    run_parts(gen, g_scratch[0]);
    while (__atomic_load_n(&g_job.finished, __ATOMIC_ACQUIRE) != nparts) {
    }
    return;
  }
#endif
  for (int p = 0; p < nparts; p++) fn(args, p, nparts, g_scratch[0]);
}

#ifdef SM_THREADS
// A worker reads the job generation before it reports ready, so it cannot miss the first job.
int32_t SM_EXPORT(sm_worker_enter)(void) { return __atomic_load_n(&g_job.gen, __ATOMIC_SEQ_CST); }

// Never returns: the worker's whole life is this loop.
void SM_EXPORT(sm_worker_loop)(int tid, int32_t seen) {
  for (;;) {
    int32_t g = seen;
    for (int i = 0; i < WORKER_SPIN && g == seen; i++) g = __atomic_load_n(&g_job.gen, __ATOMIC_ACQUIRE);
    while (g == seen) {
      __builtin_wasm_memory_atomic_wait32((int32_t *)&g_job.gen, seen, -1);
      g = __atomic_load_n(&g_job.gen, __ATOMIC_ACQUIRE);
    }
    seen = g;
    run_parts(g, g_scratch[tid]);
  }
}
#endif
