// Work split across a persistent pool of Web Workers sharing this module's memory (SM_THREADS
// builds). The caller (thread 0) publishes a job, wakes the workers with memory.atomic.notify, runs
// part 0 itself and spins until the others are done; workers sleep in memory.atomic.wait32 between
// jobs, so no thread is started per op. Single-threaded builds just call the part function once.
#include "common.h"

static float *g_scratch[SM_MAX_THREADS];
static int g_threads = 1;

#ifdef SM_THREADS
static struct {
  volatile int32_t gen;    // bumped once per job; workers wait on it
  volatile int32_t done;   // workers that finished the current job
  part_fn fn;
  int32_t nparts;
  int32_t args[32];
} g_job __attribute__((aligned(64)));

#define WORKER_SPIN 200000   // loads before sleeping: ops follow each other within microseconds
#endif

int sm_thread_count(void) { return g_threads; }
float *sm_thread_scratch(int part) { return g_scratch[part]; }

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

void sm_parallel(part_fn fn, const int32_t *args, int nargs) {
#ifdef SM_THREADS
  int n = g_threads;
  if (n > 1) {
    for (int i = 0; i < nargs; i++) g_job.args[i] = args[i];
    g_job.fn = fn;
    g_job.nparts = n;
    __atomic_store_n(&g_job.done, 0, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&g_job.gen, 1, __ATOMIC_SEQ_CST);
    __builtin_wasm_memory_atomic_notify((int32_t *)&g_job.gen, (unsigned)(n - 1));
    fn(g_job.args, 0, n);
    while (__atomic_load_n(&g_job.done, __ATOMIC_ACQUIRE) != n - 1) {
    }
    return;
  }
#endif
  fn(args, 0, 1);
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
    if (tid < g_job.nparts) g_job.fn(g_job.args, tid, g_job.nparts);
    __atomic_fetch_add(&g_job.done, 1, __ATOMIC_RELEASE);
  }
}
#endif
