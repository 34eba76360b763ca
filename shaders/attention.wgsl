// Kernel family: attention. out[b, i, h, :] = softmax_j(q.k_j * scale | visible) . v_j, fused.
// Two entry points, chosen by py_src/staticml/ops/attention.py from D:
//   main_tiled (D <= 64): one workgroup per (64 queries, h, b); K/V tiles shared in workgroup memory.
//   main (any D <= 256, the fallback): workgroup (i, h, b) of 64 threads, one query, keys in chunks of 64.
// Both use an online softmax. `struct Uniforms` (shapes and the strides of q, k, v in elements) and the
// constants DP, BK (main_tiled's padded head size and key tile) are prepended by ops/attention.py.
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> key_mask: array<f32>;  // [B, Tk], 1 attend / 0 pad
@group(0) @binding(5) var<storage, read_write> out: array<f32>; // [B, Tq, H, D] dense

const WG: u32 = 64u;
const NEG: f32 = -3.0e38;  // "no score yet": finite, so exp(NEG - m) is 0 instead of NaN
var<workgroup> qs: array<f32, 256>;  // the query row, pre-scaled
var<workgroup> p: array<f32, 64>;    // this chunk's exp(score - running max)
var<workgroup> red: array<f32, 64>;

fn reduce_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x;
  let h = wid.y;
  let b = wid.z;
  let hk = h / u.group;
  let qbase = u.q_off + b * u.q_sb + i * u.q_st + h * u.q_sh;
  let kbase = u.k_off + b * u.k_sb + hk * u.k_sh;
  let vbase = u.v_off + b * u.v_sb + hk * u.v_sh;
  for (var d = lid; d < u.D; d += WG) { qs[d] = q[qbase + d] * u.scale; }
  workgroupBarrier();
  // keys past the causal limit are never visible: stop the loop there (uniform per workgroup)
  var n_keys = u.Tk;
  if (u.causal != 0u) { n_keys = u32(clamp(i32(i) + i32(u.Tk) - i32(u.Tq) + 1, 0, i32(u.Tk))); }
  var m_run = NEG;
  var l_run = 0.0;
  var acc = vec4<f32>(0.0);  // output channels lid, lid + 64, lid + 128, lid + 192
  for (var j0 = 0u; j0 < n_keys; j0 += WG) {
    let j = j0 + lid;
    var visible = j < n_keys;
    if (visible && u.has_mask != 0u) { visible = key_mask[b * u.Tk + j] != 0.0; }
    var s = NEG;
    if (visible) {
      var dot = 0.0;
      let kj = kbase + j * u.k_st;
      for (var d = 0u; d < u.D; d++) { dot += qs[d] * k[kj + d]; }
      s = dot;
    }
    let m_new = max(m_run, reduce_max(s, lid));
    let pj = select(0.0, exp(s - m_new), visible);
    p[lid] = pj;
    let corr = exp(m_run - m_new);
    l_run = l_run * corr + reduce_sum(pj, lid);  // reduce_sum's barriers also publish p[]
    acc *= corr;
    let chunk = min(WG, n_keys - j0);
    for (var jj = 0u; jj < chunk; jj++) {
      let pv = p[jj];
      if (pv == 0.0) { continue; }
      let vj = vbase + (j0 + jj) * u.v_st;
      for (var c = 0u; c < 4u; c++) {
        let d = lid + c * WG;
        if (d < u.D) { acc[c] += pv * v[vj + d]; }
      }
    }
    m_run = m_new;
    workgroupBarrier();  // p[] is rewritten by the next chunk
  }
  let inv = select(0.0, 1.0 / l_run, l_run > 0.0);
  let obase = ((b * u.Tq + i) * u.H + h) * u.D;
  for (var c = 0u; c < 4u; c++) {
    let d = lid + c * WG;
    if (d < u.D) { out[obase + d] = acc[c] * inv; }
  }
}

// ---- main_tiled: one workgroup of BQ = 64 threads per (block of 64 queries, head, batch) ----
// Thread t owns query i = 64 * wid.x + t: its pre-scaled q row and its output row stay in registers
// (DP = D rounded up to 32 or 64 is a compile-time constant, so the arrays below are registers, not
// memory). Keys go through in tiles of BK: the 64 threads stage K[BK, DP] and V[BK, DP] once in
// workgroup memory and every query of the block reads them from there (a broadcast: all threads read
// the same vec4), instead of each query re-reading K/V from global memory as `main` does. Per tile a
// thread computes its BK scores in registers, rescales its running (max, sum, acc) once and adds
// p_j * V_j (online softmax). Workgroup memory: 2 * BK * DP * 4 + BK * 4 bytes = 8.1 KiB with
// BK * DP = 1024 ((DP, BK) = (32, 32) or (64, 16)), inside WebGPU's guaranteed 16 KiB on every adapter.
// DP and BK are prepended as constants by ops/attention.py.
const BQ: u32 = 64u;
const DP4: u32 = DP / 4u;
var<workgroup> ks: array<vec4<f32>, BK * DP4>;  // K tile [BK, DP], zero past D
var<workgroup> vs: array<vec4<f32>, BK * DP4>;  // V tile [BK, DP], zero past D
var<workgroup> kvis: array<f32, BK>;            // 1 where key j0 + jj exists and is not padding

@compute @workgroup_size(64)
fn main_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.y;
  let b = wid.z;
  let hk = h / u.group;
  let i0 = wid.x * BQ;
  let i = i0 + lid;
  let live = i < u.Tq;
  let kbase = u.k_off + b * u.k_sb + hk * u.k_sh;
  let vbase = u.v_off + b * u.v_sb + hk * u.v_sh;

  var qr: array<vec4<f32>, DP4>;
  var acc: array<vec4<f32>, DP4>;
  if (live) {
    let qbase = u.q_off + b * u.q_sb + i * u.q_st + h * u.q_sh;
    for (var d4 = 0u; d4 < DP4; d4++) {
      var t = vec4<f32>(0.0);
      for (var c = 0u; c < 4u; c++) {
        let d = d4 * 4u + c;
        if (d < u.D) { t[c] = q[qbase + d] * u.scale; }
      }
      qr[d4] = t;
      acc[d4] = vec4<f32>(0.0);
    }
  }
  // causal: query i sees keys j <= i + Tk - Tq; the block's last query bounds the loop (uniform)
  let shift = i32(u.Tk) - i32(u.Tq);
  var n_keys = u.Tk;
  if (u.causal != 0u) {
    let i_last = min(i0 + BQ, u.Tq) - 1u;
    n_keys = u32(clamp(i32(i_last) + shift + 1, 0, i32(u.Tk)));
  }
  let lim = i32(i) + shift;  // this query's last visible key when causal

  var m_run = NEG;
  var l_run = 0.0;
  for (var j0 = 0u; j0 < n_keys; j0 += BK) {
    // stage the tile: BK * DP values of K and of V, d fastest (coalesced along each key's row)
    for (var e = lid; e < BK * DP; e += BQ) {
      let jj = e / DP;
      let d = e % DP;
      let j = j0 + jj;
      var kx = 0.0;
      var vx = 0.0;
      if (j < n_keys && d < u.D) {
        kx = k[kbase + j * u.k_st + d];
        vx = v[vbase + j * u.v_st + d];
      }
      ks[jj * DP4 + d / 4u][d % 4u] = kx;
      vs[jj * DP4 + d / 4u][d % 4u] = vx;
    }
    if (lid < BK) {
      let j = j0 + lid;
      var vis = j < n_keys;
      if (vis && u.has_mask != 0u) { vis = key_mask[b * u.Tk + j] != 0.0; }
      kvis[lid] = select(0.0, 1.0, vis);
    }
    workgroupBarrier();
    if (live) {
      var s: array<f32, BK>;
      var m_tile = NEG;
      for (var jj = 0u; jj < BK; jj++) {
        var dot4 = vec4<f32>(0.0);
        for (var d4 = 0u; d4 < DP4; d4++) { dot4 += qr[d4] * ks[jj * DP4 + d4]; }
        var vis = kvis[jj] != 0.0;
        if (u.causal != 0u) { vis = vis && i32(j0 + jj) <= lim; }
        let sj = select(NEG, dot4.x + dot4.y + dot4.z + dot4.w, vis);
        s[jj] = sj;
        m_tile = max(m_tile, sj);
      }
      let m_new = max(m_run, m_tile);
      let corr = exp(m_run - m_new);  // 1 while nothing was visible yet (acc and l are 0 then)
      l_run *= corr;
      for (var d4 = 0u; d4 < DP4; d4++) { acc[d4] *= corr; }
      for (var jj = 0u; jj < BK; jj++) {
        // invisible keys hold s = NEG; with m_new = NEG too, exp would give 1, hence the select
        let pj = select(0.0, exp(s[jj] - m_new), s[jj] > NEG);
        l_run += pj;
        for (var d4 = 0u; d4 < DP4; d4++) { acc[d4] += pj * vs[jj * DP4 + d4]; }
      }
      m_run = m_new;
    }
    workgroupBarrier();  // the next tile overwrites ks, vs, kvis
  }
  if (live) {
    let inv = select(0.0, 1.0 / l_run, l_run > 0.0);
    let obase = ((b * u.Tq + i) * u.H + h) * u.D;
    for (var d4 = 0u; d4 < DP4; d4++) {
      for (var c = 0u; c < 4u; c++) {
        let d = d4 * 4u + c;
        if (d < u.D) { out[obase + d] = acc[d4][c] * inv; }
      }
    }
  }
}
