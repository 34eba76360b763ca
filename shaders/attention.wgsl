// Kernel family: attention. out[b, i, h, :] = softmax_j(q.k_j * scale | visible) . v_j, fused.
// Workgroup (i, h, b) of 64 threads; keys in chunks of 64 with an online softmax. `struct Uniforms`
// (shapes and the strides of q, k, v in elements) is prepended from py_src/staticml/ops/attention.py.
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
