// Kernel family: linear. out[z, m, n] = act(sum_k x[z, m, k] * W[z, n, k] + bias[n]) + res[z, m, n].
// z is the batch of a batched matmul, or for split-K (`main` + `splitk_sum`) a slice of K.
// Prepended by py_src/staticml/ops/linear.py: fn unpack_f16_pair, struct Uniforms, and the constant
// W_KIND (0 f32 [N,K], 1 f16 pairs, 2 q8, 3 q4 group-32, 4 f32 [K,N]); the epilogue (u.act,
// u.has_bias, u.has_res) is chosen by uniforms.
// Weight layouts: staticml/quant.py. Absent optional inputs are bound to a placeholder buffer.
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> res: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 32u;
// Tiles stored k-major as vec4s of 4 consecutive rows (xs) / columns (ws), so the inner loop is
// 4 vector multiply-adds per k: xs[at(k, m / 4)][m % 4] = x[m0 + m, k0 + k].
var<workgroup> xs: array<vec4<f32>, 512>;
var<workgroup> ws: array<vec4<f32>, 512>;

// vec4 c (of 16) of k row k lives at k * 16 + (c ^ (k % 16)): the loaders write 32 k rows per warp, 256 bytes
// apart, which without the XOR all land in the same banks (32-way conflicts); reads stay conflict-free (a k row's
// 16 vec4 are only permuted). As put_w2 does for main_128.
fn at(k: u32, c: u32) -> u32 {
  return k * 16u + (c ^ (k % 16u));
}

fn put_w(k: u32, n: u32, v: f32) {
  ws[at(k, n / 4u)][n % 4u] = v;
}

// Loads W[n0.., k0..] (64 columns x 32 k) into ws as f32, dequantizing on the way.
fn load_w(k0: u32, n0: u32, wb: u32, t: u32) {
  if (W_KIND == 0u) {  // f32 [N, K]: 2048 words, 8 per thread, consecutive threads along k
    for (var r = 0u; r < 8u; r++) {
      let idx = t + r * 256u;
      let n = idx / TK;
      let k = idx % TK;
      var v = 0.0;
      if (n0 + n < u.N && k0 + k < u.K) { v = bitcast<f32>(w[wb + (n0 + n) * u.row_words + k0 + k]); }
      put_w(k, n, v);
    }
  } else if (W_KIND == 4u) {  // f32 [K, N]: consecutive threads along n
    for (var r = 0u; r < 8u; r++) {
      let idx = t + r * 256u;
      let k = idx / TN;
      let n = idx % TN;
      var v = 0.0;
      if (n0 + n < u.N && k0 + k < u.K) { v = bitcast<f32>(w[wb + (k0 + k) * u.row_words + n0 + n]); }
      put_w(k, n, v);
    }
  } else if (W_KIND == 1u) {  // f16: a word holds k, k+1; 64 rows x 16 words, 4 per thread
    for (var r = 0u; r < 4u; r++) {
      let idx = t + r * 256u;
      let n = idx / 16u;
      let j = idx % 16u;
      var p = vec2<f32>(0.0);
      if (n0 + n < u.N && k0 + 2u * j < u.K) { p = unpack_f16_pair(w[wb + (n0 + n) * u.row_words + k0 / 2u + j]); }
      put_w(2u * j, n, p.x);
      put_w(2u * j + 1u, n, p.y);
    }
  } else if (W_KIND == 2u) {  // q8: a word holds 4 int8 along k; 64 rows x 8 words, 2 per thread (unscaled)
    for (var r = 0u; r < 2u; r++) {
      let idx = t + r * 256u;
      let n = idx / 8u;
      let j = idx % 8u;
      var q = vec4<f32>(0.0);
      if (n0 + n < u.N && k0 + 4u * j < u.K) {
        let word = bitcast<i32>(w[wb + (n0 + n) * u.row_words + k0 / 4u + j]);
        q = vec4<f32>(f32(extractBits(word, 0u, 8u)), f32(extractBits(word, 8u, 8u)),
                      f32(extractBits(word, 16u, 8u)), f32(extractBits(word, 24u, 8u)));
      }
      for (var c = 0u; c < 4u; c++) { put_w(4u * j + c, n, q[c]); }
    }
  } else if (W_KIND == 3u) {  // q4: a word holds 8 nibbles along k; one K tile = one group of 32
    let n = t / 4u;
    let j = t % 4u;
    var word = 0x88888888u;  // eight zeros (u = 8)
    var s = 0.0;
    if (n0 + n < u.N && k0 + 8u * j < u.K) {
      word = w[wb + (n0 + n) * u.row_words + k0 / 8u + j];
      s = scales[(n0 + n) * u.n_groups + k0 / TK];
    }
    for (var i = 0u; i < 8u; i++) { put_w(8u * j + i, n, (f32((word >> (4u * i)) & 15u) - 8.0) * s); }
  }
}

// erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7; WGSL has no erf builtin)
fn erf_approx(v: f32) -> f32 {
  let a = abs(v);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return select(y, -y, v < 0.0);
}

fn activate(v: f32) -> f32 {
  if (u.act == 1u) { return 0.5 * v * (1.0 + erf_approx(v * 0.7071067811865476)); }
  if (u.act == 2u) {
    // tanh of a clamped argument: some backends compute tanh through exp and overflow to NaN
    let z = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), -15.0, 15.0);
    return 0.5 * v * (1.0 + tanh(z));
  }
  if (u.act == 3u) { return v / (1.0 + exp(-v)); }
  if (u.act == 4u) { return max(v, 0.0); }
  return v;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let m0 = wid.y * TM;
  let n0 = wid.x * TN;
  let xb = wid.z * u.x_batch;
  let wb = wid.z * u.w_batch;
  var acc: array<vec4<f32>, 4>;  // acc[i][j]: row m0 + lid.y*4 + i, column n0 + lid.x*4 + j
  // split-K (u.k_chunk > 0): workgroup z sums its slice of K; the launch sets out_batch = M * N and no bias,
  // activation or residual (those are splitk_sum's)
  let k_begin = wid.z * u.k_chunk;
  let k_end = select(u.K, min(u.K, k_begin + u.k_chunk), u.k_chunk != 0u);
  for (var k0 = k_begin; k0 < k_end; k0 += TK) {
    for (var r = 0u; r < 8u; r++) {  // x tile: 64 rows x 32 k, consecutive threads along k
      let idx = t + r * 256u;
      let m = idx / TK;
      let k = idx % TK;
      var v = 0.0;
      if (m0 + m < u.M && k0 + k < u.K) { v = x[xb + (m0 + m) * u.K + k0 + k]; }
      xs[at(k, m / 4u)][m % 4u] = v;
    }
    load_w(k0, n0, wb, t);
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let a = xs[at(k, lid.y)];
      let b = ws[at(k, lid.x)];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  let ob = wid.z * u.out_batch;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y * 4u + i;
    if (m >= u.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid.x * 4u + j;
      if (n >= u.N) { break; }
      var v = acc[i][j];
      v *= column_scale(n);  // split-K: each slice's raw sum is scaled here, splitk_sum adds them
      if (u.has_bias != 0u) { v += bias[n]; }
      v = activate(v);
      if (u.has_res != 0u) { v += res[ob + m * u.N + n]; }
      out[ob + m * u.N + n] = v;
    }
  }
}

// ---- split-K's second pass: `main` wrote the sums of u.splits slices of K (q8: already times column_scale) to
// x[z * M * N + m * N + n] (bound here as x); add them and apply the epilogue. One output per thread, a 2-D
// grid of 256-thread groups.
@compute @workgroup_size(256)
fn splitk_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  let mn = u.M * u.N;
  if (i >= mn) { return; }
  var s = 0.0;
  for (var z = 0u; z < u.splits; z++) { s += x[z * mn + i]; }
  store1(0u, i / u.N, i % u.N, s);
}

// ---- main_128: 128x128 output tiles, 8x8 outputs per thread, K in steps of 16 (large M) ----
// main does 16 multiply-adds per 2 vec4 loads from workgroup memory and is bound by loads (H100:
// 10.5-10.9 TFLOP/s in f32). Here a thread owns rows {4*ly.., 64 + 4*ly..} x columns {4*lx.., 64 + 4*lx..}: 64
// multiply-adds per 4 vec4 loads. The same xs/ws arrays (16 KiB together) hold 16 k x 128 rows /
// columns: xs[k * 32 + ((m / 4) ^ k)][m % 4] = x[m0 + m, k0 + k] (swizzle: put_w2). ops/linear.py picks it only when the
// 128x128 grid still has >= 2 workgroups per SM, since 4x fewer workgroups starve small M.
const TM2: u32 = 128u;
const TK2: u32 = 16u;

// Column c of k row k lives at vec4 k * 32 + (c ^ k) (an XOR swizzle, k < 16): the tile loaders write
// 16 k rows per warp, 512 bytes apart, which without it all land in the same banks (16-way conflicts);
// the reads stay conflict-free (a k row's 32 vec4 are only permuted).
fn put_w2(k: u32, n: u32, v: f32) {
  ws[k * 32u + ((n / 4u) ^ k)][n % 4u] = v;
}

// Loads W[n0.., k0..] (128 columns x 16 k) into ws as f32, dequantizing on the way.
fn load_w2(k0: u32, n0: u32, wb: u32, t: u32) {
  if (W_KIND == 0u) {  // f32 [N, K]: 2048 words, 8 per thread, consecutive threads along k
    for (var r = 0u; r < 8u; r++) {
      let idx = t + r * 256u;
      let n = idx / TK2;
      let k = idx % TK2;
      var v = 0.0;
      if (n0 + n < u.N && k0 + k < u.K) { v = bitcast<f32>(w[wb + (n0 + n) * u.row_words + k0 + k]); }
      put_w2(k, n, v);
    }
  } else if (W_KIND == 4u) {  // f32 [K, N]: consecutive threads along n
    for (var r = 0u; r < 8u; r++) {
      let idx = t + r * 256u;
      let k = idx / TM2;
      let n = idx % TM2;
      var v = 0.0;
      if (n0 + n < u.N && k0 + k < u.K) { v = bitcast<f32>(w[wb + (k0 + k) * u.row_words + n0 + n]); }
      put_w2(k, n, v);
    }
  } else if (W_KIND == 1u) {  // f16: a word holds k, k+1; 128 rows x 8 words, 4 per thread
    for (var r = 0u; r < 4u; r++) {
      let idx = t + r * 256u;
      let n = idx / 8u;
      let j = idx % 8u;
      var p = vec2<f32>(0.0);
      if (n0 + n < u.N && k0 + 2u * j < u.K) { p = unpack_f16_pair(w[wb + (n0 + n) * u.row_words + k0 / 2u + j]); }
      put_w2(2u * j, n, p.x);
      put_w2(2u * j + 1u, n, p.y);
    }
  } else if (W_KIND == 2u) {  // q8: a word holds 4 int8 along k; 128 rows x 4 words, 2 per thread (unscaled)
    for (var r = 0u; r < 2u; r++) {
      let idx = t + r * 256u;
      let n = idx / 4u;
      let j = idx % 4u;
      var q = vec4<f32>(0.0);
      if (n0 + n < u.N && k0 + 4u * j < u.K) {
        let word = bitcast<i32>(w[wb + (n0 + n) * u.row_words + k0 / 4u + j]);
        q = vec4<f32>(f32(extractBits(word, 0u, 8u)), f32(extractBits(word, 8u, 8u)),
                      f32(extractBits(word, 16u, 8u)), f32(extractBits(word, 24u, 8u)));
      }
      for (var c = 0u; c < 4u; c++) { put_w2(4u * j + c, n, q[c]); }
    }
  } else if (W_KIND == 3u) {  // q4: a word holds 8 nibbles along k; a K tile is half a group of 32
    let n = t / 2u;
    let j = t % 2u;
    var word = 0x88888888u;  // eight zeros (u = 8)
    var s = 0.0;
    if (n0 + n < u.N && k0 + 8u * j < u.K) {
      word = w[wb + (n0 + n) * u.row_words + k0 / 8u + j];
      s = scales[(n0 + n) * u.n_groups + k0 / 32u];
    }
    for (var i = 0u; i < 8u; i++) { put_w2(8u * j + i, n, (f32((word >> (4u * i)) & 15u) - 8.0) * s); }
  }
}

// q8's scale of output column n (one per row of W), which every kernel applies once to a finished sum instead
// of to each weight as it loads it: on the H200 the 64x64 kernel's q8 linears took 11-17 % longer than f32
// with the multiply (and the load of scales[n]) in every K-step, and the same time as f32 without (2026-11-22).
// 1 for the other weight kinds (q4's scales are per group of 32 k and stay in the loaders).
fn column_scale(n: u32) -> f32 {
  if (W_KIND == 2u) { return scales[min(n, u.N - 1u)]; }
  return 1.0;
}

// the epilogue for one output (m, n), bounds-checked
fn store1(ob: u32, m: u32, n: u32, sum: f32) {
  if (m >= u.M || n >= u.N) { return; }
  var v = sum;
  if (u.has_bias != 0u) { v += bias[n]; }
  v = activate(v);
  if (u.has_res != 0u) { v += res[ob + m * u.N + n]; }
  out[ob + m * u.N + n] = v;
}

// the epilogue for 4 consecutive columns n.. of row m (bounds-checked), q8's column scale included
fn store4(ob: u32, m: u32, n: u32, acc: vec4<f32>) {
  for (var j = 0u; j < 4u; j++) { store1(ob, m, n + j, acc[j] * column_scale(n + j)); }
}

@compute @workgroup_size(16, 16)
fn main_128(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
            @builtin(local_invocation_index) t: u32) {
  let m0 = wid.y * TM2;
  let n0 = wid.x * TM2;
  let xb = wid.z * u.x_batch;
  let wb = wid.z * u.w_batch;
  // acc[2 * r + g]: row m0 + (r / 4) * 64 + lid.y * 4 + r % 4, columns n0 + g * 64 + lid.x * 4 ..+3.
  // Indexed only by constants (written out below): a loop index would put the array in local memory
  // on NVIDIA (measured: 1.9 TFLOP/s that way).
  var acc: array<vec4<f32>, 16>;
  for (var k0 = 0u; k0 < u.K; k0 += TK2) {
    for (var r = 0u; r < 8u; r++) {  // x tile: 128 rows x 16 k, consecutive threads along k
      let idx = t + r * 256u;
      let m = idx / TK2;
      let k = idx % TK2;
      var v = 0.0;
      if (m0 + m < u.M && k0 + k < u.K) { v = x[xb + (m0 + m) * u.K + k0 + k]; }
      xs[k * 32u + ((m / 4u) ^ k)][m % 4u] = v;
    }
    load_w2(k0, n0, wb, t);
    workgroupBarrier();
    for (var k = 0u; k < TK2; k++) {
      let a0 = xs[k * 32u + (lid.y ^ k)];
      let a1 = xs[k * 32u + ((16u + lid.y) ^ k)];
      let b0 = ws[k * 32u + (lid.x ^ k)];
      let b1 = ws[k * 32u + ((16u + lid.x) ^ k)];
      acc[0] += a0.x * b0;
      acc[1] += a0.x * b1;
      acc[2] += a0.y * b0;
      acc[3] += a0.y * b1;
      acc[4] += a0.z * b0;
      acc[5] += a0.z * b1;
      acc[6] += a0.w * b0;
      acc[7] += a0.w * b1;
      acc[8] += a1.x * b0;
      acc[9] += a1.x * b1;
      acc[10] += a1.y * b0;
      acc[11] += a1.y * b1;
      acc[12] += a1.z * b0;
      acc[13] += a1.z * b1;
      acc[14] += a1.w * b0;
      acc[15] += a1.w * b1;
    }
    workgroupBarrier();
  }
  let ob = wid.z * u.out_batch;
  let m = m0 + lid.y * 4u;
  let n = n0 + lid.x * 4u;
  store4(ob, m, n, acc[0]);
  store4(ob, m, n + 64u, acc[1]);
  store4(ob, m + 1u, n, acc[2]);
  store4(ob, m + 1u, n + 64u, acc[3]);
  store4(ob, m + 2u, n, acc[4]);
  store4(ob, m + 2u, n + 64u, acc[5]);
  store4(ob, m + 3u, n, acc[6]);
  store4(ob, m + 3u, n + 64u, acc[7]);
  store4(ob, m + 64u, n, acc[8]);
  store4(ob, m + 64u, n + 64u, acc[9]);
  store4(ob, m + 65u, n, acc[10]);
  store4(ob, m + 65u, n + 64u, acc[11]);
  store4(ob, m + 66u, n, acc[12]);
  store4(ob, m + 66u, n + 64u, acc[13]);
  store4(ob, m + 67u, n, acc[14]);
  store4(ob, m + 67u, n + 64u, acc[15]);
}

// ---- main_skinny: few rows (a query of 16 tokens, a search over a corpus), M <= 16 per workgroup row ----
// main gives M = 16 rows x N = 384 columns 6 workgroups on a 132-SM GPU, each walking all of K: measured
// 55-180 us per linear on the H100 where the weights take ~1 us to read. Here a workgroup is 16 rows x 8
// columns and its 256 threads are 8 columns x 32 lanes along k: lane l sums k = 4l..4l+3 of every 128
// for all 16 rows, so N / 8 workgroups share the work and every weight word is read once, coalesced
// along k. The 32 lanes' partial sums are added through workgroup memory at the end.
const SK_ROWS: u32 = 16u;
const SK_COLS: u32 = 8u;
const SK_LANES: u32 = 32u;
const SK_STEP: u32 = 128u;  // k per step: 32 lanes x 4

// 4 consecutive k of weight row n from k (a multiple of 4), zero past K or N
fn w4_or_zero(wb: u32, n: u32, k: u32) -> vec4<f32> {
  if (n >= u.N || k >= u.K) { return vec4<f32>(0.0); }
  if (k + 3u < u.K) { return w4(wb, n, k); }
  var v = vec4<f32>(0.0);
  for (var j = 0u; k + j < u.K; j++) { v[j] = w1(wb, n, k + j); }
  return v;
}

@compute @workgroup_size(256)
fn main_skinny(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let lane = t % SK_LANES;
  let col = t / SK_LANES;
  let n = wid.x * SK_COLS + col;
  let m0 = wid.y * SK_ROWS;
  let xb = wid.z * u.x_batch;
  let wb = wid.z * u.w_batch;
  var acc: array<vec4<f32>, 4>;  // acc[i][r]: row m0 + 4i + r, this lane's share of k
  var wq = w4_or_zero(wb, n, 4u * lane);
  for (var k0 = 0u; k0 < u.K; k0 += SK_STEP) {
    // x chunk, 16 rows x 128 k, 8 per thread, consecutive threads along k; stored so that the 32 lanes
    // read 32 consecutive vec4 (no bank conflicts): xs[((k % 4) * 4 + m / 4) * 32 + k / 4][m % 4]
    for (var r = 0u; r < 8u; r++) {
      let idx = t + r * 256u;
      let m = idx / SK_STEP;
      let k = idx % SK_STEP;
      var v = 0.0;
      if (m0 + m < u.M && k0 + k < u.K) { v = x[xb + (m0 + m) * u.K + k0 + k]; }
      xs[((k % 4u) * 4u + m / 4u) * SK_LANES + k / 4u][m % 4u] = v;
    }
    workgroupBarrier();
    let next = w4_or_zero(wb, n, k0 + SK_STEP + 4u * lane);  // the next step's weights load while this one computes
    for (var j = 0u; j < 4u; j++) {
      let base = j * 4u * SK_LANES + lane;
      acc[0] += xs[base] * wq[j];
      acc[1] += xs[base + SK_LANES] * wq[j];
      acc[2] += xs[base + 2u * SK_LANES] * wq[j];
      acc[3] += xs[base + 3u * SK_LANES] * wq[j];
    }
    wq = next;
    workgroupBarrier();
  }
  // the 32 lanes' sums, 8 rows at a time through xs (256 threads x 2 vec4 fill it): xs[2t + h] = acc[..]
  let ob = wid.z * u.out_batch;
  xs[2u * t] = acc[0];
  xs[2u * t + 1u] = acc[1];
  workgroupBarrier();
  skinny_reduce(ob, m0, wid.x * SK_COLS, t);
  workgroupBarrier();
  xs[2u * t] = acc[2];
  xs[2u * t + 1u] = acc[3];
  workgroupBarrier();
  skinny_reduce(ob, m0 + 8u, wid.x * SK_COLS, t);
}

// threads 0..63: column t / 8, row m0 + t % 8 of the tile, summed over the 32 lanes' partials in xs
fn skinny_reduce(ob: u32, m0: u32, n0: u32, t: u32) {
  if (t >= SK_COLS * 8u) { return; }
  let c = t / 8u;
  let r = t % 8u;
  var s = 0.0;
  for (var l = 0u; l < SK_LANES; l++) { s += xs[2u * (c * SK_LANES + l) + r / 4u][r % 4u]; }
  store1(ob, m0 + r, n0 + c, s * column_scale(n0 + c));
}

// ---- The direct variant, for CPU-emulated adapters (SwiftShader) ----
// On a CPU "workgroup memory" is ordinary memory behind the same caches, and every barrier is a
// coroutine switch per invocation, so staging tiles costs more than it saves. Here each invocation
// reads its 4 rows of x and 4 weight rows straight from storage, 4 k at a time, and does 64
// multiply-adds per 4 k (a packed q8 word is exactly 4 k). The hot loop has no branches: row and
// column indices are clamped into range (the extra results are never stored) and the last K % 4
// values run in a separate tail step.
fn x4(base: u32, m: u32, k: u32) -> vec4<f32> {
  let i = base + m * u.K + k;
  return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

// 4 consecutive k of weight row n (k a multiple of 4, k + 3 < K), dequantized but for q8's column scale
fn w4(wb: u32, n: u32, k: u32) -> vec4<f32> {
  if (W_KIND == 0u) {
    let i = wb + n * u.row_words + k;
    return vec4<f32>(bitcast<f32>(w[i]), bitcast<f32>(w[i + 1u]), bitcast<f32>(w[i + 2u]), bitcast<f32>(w[i + 3u]));
  }
  if (W_KIND == 4u) {
    let i = wb + k * u.row_words + n;
    let s = u.row_words;
    return vec4<f32>(bitcast<f32>(w[i]), bitcast<f32>(w[i + s]), bitcast<f32>(w[i + 2u * s]), bitcast<f32>(w[i + 3u * s]));
  }
  let row = wb + n * u.row_words;
  if (W_KIND == 1u) {  // two words of f16 pairs
    return vec4<f32>(unpack_f16_pair(w[row + k / 2u]), unpack_f16_pair(w[row + k / 2u + 1u]));
  }
  if (W_KIND == 2u) {  // one word = 4 int8 along k (unscaled: column_scale)
    let word = bitcast<i32>(w[row + k / 4u]);
    return vec4<f32>(f32(extractBits(word, 0u, 8u)), f32(extractBits(word, 8u, 8u)),
                     f32(extractBits(word, 16u, 8u)), f32(extractBits(word, 24u, 8u)));
  }
  // q4: half a word = 4 nibbles along k, one scale per 32 k
  let word = w[row + k / 8u] >> (4u * (k % 8u));
  let q = vec4<f32>(f32(word & 15u), f32((word >> 4u) & 15u), f32((word >> 8u) & 15u), f32((word >> 12u) & 15u));
  return (q - 8.0) * scales[n * u.n_groups + k / 32u];
}

// one k of weight row n, dequantized as w4 (the K % 4 tail)
fn w1(wb: u32, n: u32, k: u32) -> f32 {
  if (W_KIND == 0u) { return bitcast<f32>(w[wb + n * u.row_words + k]); }
  if (W_KIND == 4u) { return bitcast<f32>(w[wb + k * u.row_words + n]); }
  let row = wb + n * u.row_words;
  if (W_KIND == 1u) { return unpack_f16_pair(w[row + k / 2u])[k % 2u]; }
  if (W_KIND == 2u) { return f32(extractBits(bitcast<i32>(w[row + k / 4u]), 8u * (k % 4u), 8u)); }
  return (f32((w[row + k / 8u] >> (4u * (k % 8u))) & 15u) - 8.0) * scales[n * u.n_groups + k / 32u];
}

@compute @workgroup_size(8, 8)
fn main_direct(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m0 = wid.y * 32u + lid.y * 4u;
  let n0 = wid.x * 32u + lid.x * 4u;
  let xb = wid.z * u.x_batch;
  let wb = wid.z * u.w_batch;
  // clamped rows / columns: always valid loads; results past M or N are dropped at the store
  let ma = min(m0, u.M - 1u);
  let mb = min(m0 + 1u, u.M - 1u);
  let mc = min(m0 + 2u, u.M - 1u);
  let md = min(m0 + 3u, u.M - 1u);
  let na = min(n0, u.N - 1u);
  let nb = min(n0 + 1u, u.N - 1u);
  let nc = min(n0 + 2u, u.N - 1u);
  let nd = min(n0 + 3u, u.N - 1u);
  var acc0 = vec4<f32>(0.0);  // row m0 + 0, columns n0 .. n0 + 3
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let k4 = u.K - u.K % 4u;
  for (var k = 0u; k < k4; k += 4u) {
    let b0 = w4(wb, na, k);
    let b1 = w4(wb, nb, k);
    let b2 = w4(wb, nc, k);
    let b3 = w4(wb, nd, k);
    let a0 = x4(xb, ma, k);
    let a1 = x4(xb, mb, k);
    let a2 = x4(xb, mc, k);
    let a3 = x4(xb, md, k);
    acc0 += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    acc1 += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    acc2 += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    acc3 += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
  }
  for (var k = k4; k < u.K; k++) {
    let b = vec4<f32>(w1(wb, na, k), w1(wb, nb, k), w1(wb, nc, k), w1(wb, nd, k));
    acc0 += x[xb + ma * u.K + k] * b;
    acc1 += x[xb + mb * u.K + k] * b;
    acc2 += x[xb + mc * u.K + k] * b;
    acc3 += x[xb + md * u.K + k] * b;
  }
  let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  let ob = wid.z * u.out_batch;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= u.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= u.N) { break; }
      var v = acc[i][j] * column_scale(n);
      if (u.has_bias != 0u) { v += bias[n]; }
      v = activate(v);
      if (u.has_res != 0u) { v += res[ob + m * u.N + n]; }
      out[ob + m * u.N + n] = v;
    }
  }
}
