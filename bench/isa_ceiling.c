// The native ceilings of the instruction mixes the CPU kernels compile to (bench/isa_ceiling.py builds and
// runs this; see there). Each mix is a 4-row outer-product micro-kernel over an L1-resident panel, so only
// the core's execution resources bound it:
//   f32_fma128     what V8 emits for shaders/cpu's f32 kernel: 4 broadcasts, 2 loads, 8 x vfmadd231ps xmm
//                  (f32x4.relaxed_madd), 4 rows x 8 columns
//   f32_fma256     the same with AVX2's 256-bit registers (what PyTorch's CPU kernels use), 4 rows x 16 columns
//   q8p            what V8 emits for sm_matmul_q8p: 4 broadcasts of an int16 (k, k+1) pair, 2 x vpmovsxbw of
//                  int8 weights, 8 x (vpmaddwd + vpaddd), 4 rows x 8 columns x 2 k
//   q8p_i16w       q8p with the weights already int16 (no widening)
//   pmaddwd_only   q8p_i16w without the accumulating adds: the integer multiplier's own throughput
//   i8dot_lowered  what V8 emits for i32x4.relaxed_dot_i8x16_i7x16_add without AVX-VNNI: vpmaddubsw +
//                  vpmaddwd (by ones) + vpaddd per 16 multiply-adds, 4 rows x 8 columns x 4 k
// Each mix is written out in full, not generated from a shared macro, so its loop reads as exactly the
// instructions it is named for.
// Output: one JSON object per line {"mix", "trial", "macs", "seconds", "chunk_macs", "chunk_seconds" (the
// fastest ~4 ms chunk), "ok"}; ok compares the mix's sums with a
// scalar reference (integers exactly, floats to 1e-4 relative).
//   isa_ceiling SECONDS_PER_TRIAL TRIALS
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KP 96          // k-pairs per panel pass: x and W stay in L1 (a few KiB)
#define PASSES 64      // passes per call
#define CHUNK 256      // calls per timed chunk (~4 ms)

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

// keeps a value alive without an instruction (so pmaddwd_only measures the multiplies alone)
#define KEEP(v) __asm__ volatile("" ::"x"(v))

// x [2 * KP][4] f32 (k-major, 4 rows), w [2 * KP][8] f32 -> acc [4][8]
__attribute__((noinline)) static void f32_fma128(const float *x, const float *w, float *out) {
  __m128 a[8];
  for (int i = 0; i < 8; i++) a[i] = _mm_setzero_ps();
  for (int p = 0; p < PASSES; p++)
    for (int k = 0; k < 2 * KP; k++) {
      const float *xk = x + 4 * k, *wk = w + 8 * k;
      __m128 w0 = _mm_loadu_ps(wk), w1 = _mm_loadu_ps(wk + 4);
      for (int i = 0; i < 4; i++) {
        __m128 xs = _mm_broadcast_ss(xk + i);
        a[2 * i] = _mm_fmadd_ps(xs, w0, a[2 * i]);
        a[2 * i + 1] = _mm_fmadd_ps(xs, w1, a[2 * i + 1]);
      }
    }
  for (int i = 0; i < 8; i++) _mm_storeu_ps(out + 4 * i, a[i]);
}

// x [2 * KP][4] f32, w [2 * KP][16] f32 -> acc [4][16]
__attribute__((noinline)) static void f32_fma256(const float *x, const float *w, float *out) {
  __m256 a[8];
  for (int i = 0; i < 8; i++) a[i] = _mm256_setzero_ps();
  for (int p = 0; p < PASSES; p++)
    for (int k = 0; k < 2 * KP; k++) {
      const float *xk = x + 4 * k, *wk = w + 16 * k;
      __m256 w0 = _mm256_loadu_ps(wk), w1 = _mm256_loadu_ps(wk + 8);
      for (int i = 0; i < 4; i++) {
        __m256 xs = _mm256_broadcast_ss(xk + i);
        a[2 * i] = _mm256_fmadd_ps(xs, w0, a[2 * i]);
        a[2 * i + 1] = _mm256_fmadd_ps(xs, w1, a[2 * i + 1]);
      }
    }
  for (int i = 0; i < 8; i++) _mm256_storeu_ps(out + 8 * i, a[i]);
}

// x [KP][4][2] int16, w [KP][8][2] int8 -> acc [4][8] int32
__attribute__((noinline)) static void q8p(const int16_t *x, const int8_t *w, int32_t *out) {
  __m128i a[8];
  for (int i = 0; i < 8; i++) a[i] = _mm_setzero_si128();
  for (int p = 0; p < PASSES; p++)
    for (int kk = 0; kk < KP; kk++) {
      const int16_t *xk = x + 8 * kk;
      const int8_t *wk = w + 16 * kk;
      __m128i w0 = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)wk));
      __m128i w1 = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(wk + 8)));
      for (int i = 0; i < 4; i++) {
        __m128i xs = _mm_castps_si128(_mm_broadcast_ss((const float *)(xk + 2 * i)));
        a[2 * i] = _mm_add_epi32(a[2 * i], _mm_madd_epi16(xs, w0));
        a[2 * i + 1] = _mm_add_epi32(a[2 * i + 1], _mm_madd_epi16(xs, w1));
      }
    }
  for (int i = 0; i < 8; i++) _mm_storeu_si128((__m128i *)(out + 4 * i), a[i]);
}

// x [KP][4][2] int16, w [KP][8][2] int16 -> acc [4][8] int32
__attribute__((noinline)) static void q8p_i16w(const int16_t *x, const int16_t *w, int32_t *out) {
  __m128i a[8];
  for (int i = 0; i < 8; i++) a[i] = _mm_setzero_si128();
  for (int p = 0; p < PASSES; p++)
    for (int kk = 0; kk < KP; kk++) {
      const int16_t *xk = x + 8 * kk, *wk = w + 16 * kk;
      __m128i w0 = _mm_loadu_si128((const __m128i *)wk), w1 = _mm_loadu_si128((const __m128i *)(wk + 8));
      for (int i = 0; i < 4; i++) {
        __m128i xs = _mm_castps_si128(_mm_broadcast_ss((const float *)(xk + 2 * i)));
        a[2 * i] = _mm_add_epi32(a[2 * i], _mm_madd_epi16(xs, w0));
        a[2 * i + 1] = _mm_add_epi32(a[2 * i + 1], _mm_madd_epi16(xs, w1));
      }
    }
  for (int i = 0; i < 8; i++) _mm_storeu_si128((__m128i *)(out + 4 * i), a[i]);
}

// the products of q8p_i16w, not accumulated: out holds the last k-pair's (checked against that)
__attribute__((noinline)) static void pmaddwd_only(const int16_t *x, const int16_t *w, int32_t *out) {
  __m128i a[8];
  for (int i = 0; i < 8; i++) a[i] = _mm_setzero_si128();
  for (int p = 0; p < PASSES; p++)
    for (int kk = 0; kk < KP; kk++) {
      const int16_t *xk = x + 8 * kk, *wk = w + 16 * kk;
      __m128i w0 = _mm_loadu_si128((const __m128i *)wk), w1 = _mm_loadu_si128((const __m128i *)(wk + 8));
      for (int i = 0; i < 4; i++) {
        __m128i xs = _mm_castps_si128(_mm_broadcast_ss((const float *)(xk + 2 * i)));
        a[2 * i] = _mm_madd_epi16(xs, w0);
        a[2 * i + 1] = _mm_madd_epi16(xs, w1);
        KEEP(a[2 * i]);
        KEEP(a[2 * i + 1]);
      }
    }
  for (int i = 0; i < 8; i++) _mm_storeu_si128((__m128i *)(out + 4 * i), a[i]);
}

// x [KP/2][4][4] uint8 (0..127), w [KP/2][8][4] int8 -> acc [4][8] int32 (4 k per step)
__attribute__((noinline)) static void i8dot_lowered(const uint8_t *x, const int8_t *w, int32_t *out) {
  const __m128i ones = _mm_set1_epi16(1);
  __m128i a[8];
  for (int i = 0; i < 8; i++) a[i] = _mm_setzero_si128();
  for (int p = 0; p < PASSES; p++)
    for (int kq = 0; kq < KP / 2; kq++) {
      const uint8_t *xk = x + 16 * kq;
      const int8_t *wk = w + 32 * kq;
      __m128i w0 = _mm_loadu_si128((const __m128i *)wk), w1 = _mm_loadu_si128((const __m128i *)(wk + 16));
      for (int i = 0; i < 4; i++) {
        __m128i xs = _mm_castps_si128(_mm_broadcast_ss((const float *)(xk + 4 * i)));
        a[2 * i] = _mm_add_epi32(a[2 * i], _mm_madd_epi16(_mm_maddubs_epi16(xs, w0), ones));
        a[2 * i + 1] = _mm_add_epi32(a[2 * i + 1], _mm_madd_epi16(_mm_maddubs_epi16(xs, w1), ones));
      }
    }
  for (int i = 0; i < 8; i++) _mm_storeu_si128((__m128i *)(out + 4 * i), a[i]);
}

// ---- scalar references: sum over k of x[row][k] * w[k][col], the layouts above
static int close_f(const float *got, const double *want, int n) {
  for (int i = 0; i < n; i++)
    if (fabs(got[i] - want[i]) > 1e-4 * (fabs(want[i]) + 1.0)) return 0;
  return 1;
}

static int check_f32(const float *x, const float *w, int cols, const float *got) {
  double want[64];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < cols; j++) {
      double s = 0;
      for (int k = 0; k < 2 * KP; k++) s += (double)x[4 * k + i] * w[cols * k + j];
      want[cols * i + j] = s * PASSES;
    }
  return close_f(got, want, 4 * cols);
}

// q8p-style: out[4 * (2i + h) + c] is row i, column 4h + c
static int check_pairs(const int16_t *x, const void *w, int wbytes, int kps, int passes, const int32_t *got) {
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++) {
      int64_t s = 0;
      for (int kk = KP - kps; kk < KP; kk++)
        for (int t = 0; t < 2; t++) {
          int wv = wbytes == 1 ? ((const int8_t *)w)[16 * kk + 2 * j + t] : ((const int16_t *)w)[16 * kk + 2 * j + t];
          s += (int64_t)x[8 * kk + 2 * i + t] * wv;
        }
      if ((int32_t)(s * passes) != got[4 * (2 * i + j / 4) + j % 4]) return 0;
    }
  return 1;
}

static int check_i8dot(const uint8_t *x, const int8_t *w, const int32_t *got) {
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++) {
      int64_t s = 0;
      for (int kq = 0; kq < KP / 2; kq++)
        for (int t = 0; t < 4; t++) s += (int64_t)x[16 * kq + 4 * i + t] * w[32 * kq + 4 * j + t];
      if ((int32_t)(s * PASSES) != got[4 * (2 * i + j / 4) + j % 4]) return 0;
    }
  return 1;
}

typedef void (*run_fn)(void);
static float g_xf[8 * KP], g_wf[32 * KP], g_of[64];
static int16_t g_x16[8 * KP], g_w16[16 * KP];
static int8_t g_w8[32 * KP];
static uint8_t g_xu8[16 * KP];
static int32_t g_oi[32];

static void run_f32_fma128(void) { f32_fma128(g_xf, g_wf, g_of); }
static void run_f32_fma256(void) { f32_fma256(g_xf, g_wf, g_of); }
static void run_q8p(void) { q8p(g_x16, g_w8, g_oi); }
static void run_q8p_i16w(void) { q8p_i16w(g_x16, g_w16, g_oi); }
static void run_pmaddwd_only(void) { pmaddwd_only(g_x16, g_w16, g_oi); }
static void run_i8dot_lowered(void) { i8dot_lowered(g_xu8, g_w8, g_oi); }

static int verify(int m) {
  switch (m) {
    case 0: return check_f32(g_xf, g_wf, 8, g_of);
    case 1: return check_f32(g_xf, g_wf, 16, g_of);
    case 2: return check_pairs(g_x16, g_w8, 1, KP, PASSES, g_oi);
    case 3: return check_pairs(g_x16, g_w16, 2, KP, PASSES, g_oi);
    case 4: return check_pairs(g_x16, g_w16, 2, 1, 1, g_oi);
    default: return check_i8dot(g_xu8, g_w8, g_oi);
  }
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 0.2;
  int trials = argc > 2 ? atoi(argv[2]) : 5;
  srand(1);
  for (int i = 0; i < 8 * KP; i++) g_xf[i] = (float)(rand() % 2001 - 1000) / 1000.0f;
  for (int i = 0; i < 32 * KP; i++) g_wf[i] = (float)(rand() % 2001 - 1000) / 1000.0f;
  for (int i = 0; i < 8 * KP; i++) g_x16[i] = (int16_t)(rand() % 2001 - 1000);   // |sum| stays far below 2^31
  for (int i = 0; i < 16 * KP; i++) g_w16[i] = (int16_t)(rand() % 255 - 127);
  for (int i = 0; i < 32 * KP; i++) g_w8[i] = (int8_t)(rand() % 255 - 127);
  for (int i = 0; i < 16 * KP; i++) g_xu8[i] = (uint8_t)(rand() % 128);
  const char *names[] = {"f32_fma128", "f32_fma256", "q8p", "q8p_i16w", "pmaddwd_only", "i8dot_lowered"};
  run_fn runs[] = {run_f32_fma128, run_f32_fma256, run_q8p, run_q8p_i16w, run_pmaddwd_only, run_i8dot_lowered};
  // multiply-adds per call: 4 rows x columns x k
  double macs[] = {4.0 * 8 * 2 * KP * PASSES, 4.0 * 16 * 2 * KP * PASSES, 4.0 * 8 * 2 * KP * PASSES,
                   4.0 * 8 * 2 * KP * PASSES, 4.0 * 8 * 2 * KP * PASSES, 4.0 * 8 * 4 * (KP / 2) * PASSES};
  // untimed first: a core that was idle (or shared a moment ago) takes a while to reach its clock
  for (double t0 = now(); now() - t0 < seconds;) runs[0]();
  for (int t = 0; t < trials; t++)   // trials interleave the mixes, so a drift in machine speed hits them all
    for (int m = 0; m < 6; m++) {
      runs[m]();   // warm-up, and the result verify() checks
      int ok = verify(m);
      // timed in chunks of ~4 ms (the length of one linear call in the browser's page, whose rate is its
      // fastest call): the trial's mean rate and its fastest chunk's
      long calls = 0;
      double t0 = now(), dt, best = 1e30;
      do {
        double c0 = now();
        for (int c = 0; c < CHUNK; c++) runs[m]();
        double c1 = now();
        best = c1 - c0 < best ? c1 - c0 : best;
        calls += CHUNK;
      } while ((dt = now() - t0) < seconds);
      printf("{\"mix\": \"%s\", \"trial\": %d, \"macs\": %.0f, \"seconds\": %.6f, \"chunk_macs\": %.0f, "
             "\"chunk_seconds\": %.6f, \"ok\": %s}\n", names[m], t, macs[m] * calls, dt, macs[m] * CHUNK, best,
             ok ? "true" : "false");
      fflush(stdout);
    }
  return 0;
}
