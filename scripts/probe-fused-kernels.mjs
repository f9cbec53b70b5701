#!/usr/bin/env node
/**
 * Probe of TensorFlow's fused RNN kernels through the tfjs-node binding (groundwork for a fused
 * time-loop path; see docs/design.md §2 and shared/model/fused/README.md).
 *
 *   node scripts/probe-fused-kernels.mjs          # correctness probes, human-readable report
 *   node scripts/probe-fused-kernels.mjs --json   # also print the summary as one JSON line
 *   node scripts/probe-fused-kernels.mjs --bench  # also time fused vs tfjs step loop (forward+grad)
 *
 * For each op it tries candidate attribute lists, runs the kernel with
 * `tf.backend().executeMultipleOutputs(op, attrs, inputs, numOutputs)` (attributes are
 * `{name, type, value}` with type one of binding.TF_ATTR_*; see tfjs-node's
 * nodejs_kernel_backend.js `createTensorsTypeOpAttr`) and compares every output with a plain tfjs
 * step loop (forward) or with tf.grads of that loop (gradients).
 */
import { createRequire } from 'node:module';

process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
const require = createRequire(import.meta.url);
const args = new Set(process.argv.slice(2));

let tf;
let Int64Scalar;
try {
  tf = require('@tensorflow/tfjs-node');
  ({ Int64Scalar } = require('@tensorflow/tfjs-node/dist/int64_tensors.js'));
} catch (err) {
  console.error(`cannot load @tensorflow/tfjs-node: ${String(err.message).split('\n')[0]}`);
  console.error('fix: npm run setup:tensorflow');
  process.exit(1);
}
await tf.setBackend('tensorflow');
const backend = tf.backend();
const binding = backend.binding;
const ATTR = {
  FLOAT: binding.TF_ATTR_FLOAT,
  BOOL: binding.TF_ATTR_BOOL,
  TYPE: binding.TF_ATTR_TYPE,
  INT: binding.TF_ATTR_INT,
};
const ATTR_NAME = Object.fromEntries(Object.entries(ATTR).map(([k, v]) => [v, `TF_ATTR_${k}`]));
const T_FLOAT = { name: 'T', type: ATTR.TYPE, value: binding.TF_FLOAT };
const TOL = 2e-5;

console.log(
  `TensorFlow ${binding.TF_Version} via @tensorflow/tfjs-node ${tf.version['tfjs-node']}, backend ${tf.getBackend()}`,
);

// ------------------------------------------------------------------------------------------ utils

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const next = rng(42);
const rand = (shape, scale = 0.5) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale),
    shape,
    'float32',
  );
};

function maxDiff(a, b) {
  if (a.shape.join('x') !== b.shape.join('x'))
    return { diff: Infinity, note: `shape ${a.shape} vs ${b.shape}` };
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return { diff: m };
}

/** Compare named tensors; returns {ok, worst, details}. */
function compare(names, got, want) {
  const details = {};
  let worst = 0;
  for (const name of names) {
    const { diff, note } = maxDiff(got[name], want[name]);
    details[name] = note ?? Number(diff.toExponential(2));
    worst = Math.max(worst, diff);
  }
  return { ok: worst <= TOL, worst, details };
}

function describeAttrs(attrs) {
  return attrs.map((a) => ({
    name: a.name,
    type: ATTR_NAME[a.type] ?? a.type,
    value: a.name === 'T' ? 'TF_FLOAT' : a.value,
  }));
}

function run(op, attrs, inputs, numOutputs) {
  return backend.executeMultipleOutputs(op, attrs, inputs, numOutputs);
}

const summary = { tensorflow: binding.TF_Version, tfjsNode: tf.version['tfjs-node'], ops: {} };
function record(op, entry) {
  (summary.ops[op] ??= []).push(entry);
  const status = entry.ok ? 'OK  ' : entry.error ? 'ERR ' : 'DIFF';
  const detail = entry.error
    ? entry.error
    : `max|diff| ${entry.worst?.toExponential(2)} ${JSON.stringify(entry.details)}`;
  console.log(`  ${status} ${op} ${entry.variant}: ${detail}`);
}

// ------------------------------------------------------------------------------------ reference

const T = 4;
const B = 3;
const I = 5;
const H = 6;

/** Split z [B, 4H] into named gates according to a layout such as 'icfo'. */
function gates(z, layout) {
  const parts = tf.split(z, 4, 1);
  return Object.fromEntries([...layout].map((g, k) => [g, parts[k]]));
}

/**
 * Plain LSTM loop. z = x W + h U + b, gates by `layout` (i input, c candidate, f forget, o output),
 * i = σ(zi + wci ⊙ cs_prev), f = σ(zf + forgetBias + wcf ⊙ cs_prev), cs = f ⊙ cs_prev + i ⊙ tanh(zc),
 * o = σ(zo + wco ⊙ cs), h = o ⊙ tanh(cs). Returns the 7 BlockLSTM outputs stacked over time.
 */
function lstmLoop({
  x,
  cs0,
  h0,
  W,
  U,
  b,
  wci,
  wcf,
  wco,
  layout,
  forgetBias = 0,
  peephole = false,
}) {
  const out = { i: [], cs: [], f: [], o: [], ci: [], co: [], h: [] };
  let cs = cs0;
  let h = h0;
  for (const xt of tf.unstack(x)) {
    const z = tf.add(tf.add(tf.matMul(xt, W), tf.matMul(h, U)), b);
    const g = gates(z, layout);
    const i = tf.sigmoid(peephole ? tf.add(g.i, tf.mul(cs, wci)) : g.i);
    const f = tf.sigmoid(tf.add(peephole ? tf.add(g.f, tf.mul(cs, wcf)) : g.f, forgetBias));
    const ci = tf.tanh(g.c);
    cs = tf.add(tf.mul(f, cs), tf.mul(i, ci));
    const o = tf.sigmoid(peephole ? tf.add(g.o, tf.mul(cs, wco)) : g.o);
    const co = tf.tanh(cs);
    h = tf.mul(o, co);
    for (const [k, v] of Object.entries({ i, cs, f, o, ci, co, h })) out[k].push(v);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, tf.stack(v)]));
}

const OUTS = ['i', 'cs', 'f', 'o', 'ci', 'co', 'h'];
const GRADS = ['x', 'cs_prev', 'h_prev', 'w', 'wci', 'wcf', 'wco', 'b'];

function lstmData(peephole) {
  return {
    x: rand([T, B, I], 1),
    cs0: rand([B, H]),
    h0: rand([B, H]),
    W: rand([I, 4 * H]),
    U: rand([H, 4 * H]),
    b: rand([4 * H], 0.2),
    wci: peephole ? rand([H]) : tf.zeros([H]),
    wcf: peephole ? rand([H]) : tf.zeros([H]),
    wco: peephole ? rand([H]) : tf.zeros([H]),
  };
}

/** Inputs of BlockLSTM / BlockLSTMV2 in op order: seq_len_max (int64 scalar), x, cs_prev, h_prev, w=[W;U], wci, wcf, wco, b. */
function lstmInputs(d, seqLenMax = T) {
  return [
    new Int64Scalar(seqLenMax),
    d.x,
    d.cs0,
    d.h0,
    tf.concat([d.W, d.U], 0),
    d.wci,
    d.wcf,
    d.wco,
    d.b,
  ];
}

// -------------------------------------------------------------------------- BlockLSTM forward

const LSTM_VARIANTS = [
  {
    op: 'BlockLSTMV2',
    variant: 'cell_clip=0 (V2 default: no clip), use_peephole=false',
    attrs: [
      { name: 'cell_clip', type: ATTR.FLOAT, value: 0 },
      { name: 'use_peephole', type: ATTR.BOOL, value: false },
      T_FLOAT,
    ],
  },
  {
    op: 'BlockLSTMV2',
    variant: 'cell_clip=-1, use_peephole=false',
    attrs: [
      { name: 'cell_clip', type: ATTR.FLOAT, value: -1 },
      { name: 'use_peephole', type: ATTR.BOOL, value: false },
      T_FLOAT,
    ],
  },
  {
    op: 'BlockLSTMV2',
    variant:
      'forget_bias=0, cell_clip=-1, use_peephole=false (V1 attribute set: TF logs "NodeDef mentions attribute forget_bias which is not in the op definition" and ignores it)',
    attrs: [
      { name: 'forget_bias', type: ATTR.FLOAT, value: 0 },
      { name: 'cell_clip', type: ATTR.FLOAT, value: -1 },
      { name: 'use_peephole', type: ATTR.BOOL, value: false },
      T_FLOAT,
    ],
  },
  {
    op: 'BlockLSTM',
    variant: 'forget_bias=0, cell_clip=-1, use_peephole=false',
    attrs: [
      { name: 'forget_bias', type: ATTR.FLOAT, value: 0 },
      { name: 'cell_clip', type: ATTR.FLOAT, value: -1 },
      { name: 'use_peephole', type: ATTR.BOOL, value: false },
      T_FLOAT,
    ],
  },
];

const working = {};

console.log(
  `\nForward (T=${T}, B=${B}, input=${I}, hidden=${H}); reference = tfjs loop, gate layouts tried: icfo (i, c~, f, o = rnnstream's lstm cell) and ifco`,
);
for (const peephole of [false, true]) {
  for (const v of LSTM_VARIANTS) {
    const attrs = v.attrs.map((a) => (a.name === 'use_peephole' ? { ...a, value: peephole } : a));
    const variant = v.variant.replace('use_peephole=false', `use_peephole=${peephole}`);
    tf.tidy(() => {
      const d = lstmData(peephole);
      let outs;
      try {
        outs = run(v.op, attrs, lstmInputs(d), 7);
      } catch (err) {
        record(v.op, { variant, ok: false, error: String(err.message ?? err).split('\n')[0] });
        return;
      }
      const got = Object.fromEntries(OUTS.map((k, n) => [k, outs[n]]));
      let best;
      for (const layout of ['icfo', 'ifco']) {
        const want = lstmLoop({ ...d, layout, peephole });
        const cmp = compare(OUTS, got, want);
        if (!best || cmp.worst < best.worst) best = { ...cmp, layout };
      }
      record(v.op, {
        variant: `${variant} [best layout ${best.layout}]`,
        ok: best.ok,
        worst: best.worst,
        details: best.details,
        layout: best.layout,
      });
      if (best.ok) {
        const key = `${v.op}${peephole ? '+peephole' : ''}`;
        working[key] ??= {
          op: v.op,
          gateLayout: best.layout,
          inputs: [
            'seq_len_max: int64 scalar (Int64Scalar)',
            'x [T,B,I]',
            'cs_prev [B,H]',
            'h_prev [B,H]',
            'w [I+H,4H] = concat([W;U],0)',
            'wci [H]',
            'wcf [H]',
            'wco [H]',
            'b [4H]',
          ],
          outputs: OUTS.map((o) => `${o} [T,B,H]`),
          attrs: describeAttrs(attrs),
        };
      }
    });
  }
}

// seq_len_max < T: what happens to the tail?
tf.tidy(() => {
  const d = lstmData(false);
  const attrs = [
    { name: 'cell_clip', type: ATTR.FLOAT, value: 0 },
    { name: 'use_peephole', type: ATTR.BOOL, value: false },
    T_FLOAT,
  ];
  try {
    const outs = run('BlockLSTMV2', attrs, lstmInputs(d, T - 1), 7);
    const h = outs[6];
    const tail = tf
      .abs(h.slice([T - 1, 0, 0], [1, B, H]))
      .max()
      .dataSync()[0];
    const want = lstmLoop({ ...d, layout: 'ifco' }).h.slice([0, 0, 0], [T - 1, B, H]);
    const head = maxDiff(h.slice([0, 0, 0], [T - 1, B, H]), want).diff;
    summary.seqLenMax = { seq_len_max: T - 1, T, firstStepsMaxDiff: head, tailMaxAbs: tail };
    console.log(
      `  seq_len_max=${T - 1} < T=${T}: first ${T - 1} steps max|diff| ${head.toExponential(2)}, step ${T} max|h| = ${tail} (zero-padded: one length for the whole batch)`,
    );
  } catch (err) {
    console.log(`  seq_len_max probe failed: ${String(err.message ?? err).split('\n')[0]}`);
  }
});

// ----------------------------------------------------------------------- BlockLSTM gradients

console.log('\nGradients: loss = Σ h ⊙ Gh + Σ cs ⊙ Gcs; reference = tf.grads of the tfjs loop');
const GRAD_VARIANTS = [
  {
    op: 'BlockLSTMGradV2',
    fwd: 'BlockLSTMV2',
    fwdAttrs: (p) => [
      { name: 'cell_clip', type: ATTR.FLOAT, value: 0 },
      { name: 'use_peephole', type: ATTR.BOOL, value: p },
      T_FLOAT,
    ],
    layout: 'ifco',
    forgetBias: 0,
  },
  {
    op: 'BlockLSTMGrad',
    fwd: 'BlockLSTM',
    fwdAttrs: (p) => [
      { name: 'forget_bias', type: ATTR.FLOAT, value: 0 },
      { name: 'cell_clip', type: ATTR.FLOAT, value: -1 },
      { name: 'use_peephole', type: ATTR.BOOL, value: p },
      T_FLOAT,
    ],
    layout: 'icfo',
    forgetBias: 0,
  },
];
for (const peephole of [false, true]) {
  for (const g of GRAD_VARIANTS) {
    const gradAttrs = [{ name: 'use_peephole', type: ATTR.BOOL, value: peephole }, T_FLOAT];
    const variant = `use_peephole=${peephole} (forward ${g.fwd}, layout ${g.layout})`;
    tf.tidy(() => {
      const d = lstmData(peephole);
      const Gh = rand([T, B, H], 1);
      const Gcs = rand([T, B, H], 1);
      let got;
      try {
        const fwd = run(g.fwd, g.fwdAttrs(peephole), lstmInputs(d), 7);
        const outs = run(g.op, gradAttrs, [...lstmInputs(d), ...fwd, Gcs, Gh], 8);
        got = Object.fromEntries(GRADS.map((k, n) => [k, outs[n]]));
      } catch (err) {
        record(g.op, { variant, ok: false, error: String(err.message ?? err).split('\n')[0] });
        return;
      }
      // Without peepholes wci/wcf/wco do not enter the loss (tf.grads refuses such inputs): leave them out.
      const f = (x, cs0, h0, W, U, b, wci = d.wci, wcf = d.wcf, wco = d.wco) => {
        const o = lstmLoop({
          x,
          cs0,
          h0,
          W,
          U,
          b,
          wci,
          wcf,
          wco,
          layout: g.layout,
          forgetBias: g.forgetBias,
          peephole,
        });
        return tf.add(tf.sum(tf.mul(o.h, Gh)), tf.sum(tf.mul(o.cs, Gcs)));
      };
      const wrt = [d.x, d.cs0, d.h0, d.W, d.U, d.b, ...(peephole ? [d.wci, d.wcf, d.wco] : [])];
      const [dx, dcs0, dh0, dW, dU, db, dwci, dwcf, dwco] = tf.grads(f)(wrt);
      const want = {
        x: dx,
        cs_prev: dcs0,
        h_prev: dh0,
        w: tf.concat([dW, dU], 0),
        wci: dwci,
        wcf: dwcf,
        wco: dwco,
        b: db,
      };
      const names = peephole ? GRADS : GRADS.filter((n) => !n.startsWith('wc'));
      const cmp = compare(names, got, want);
      record(g.op, { variant, ...cmp });
      if (cmp.ok) {
        working[`${g.op}${peephole ? '+peephole' : ''}`] ??= {
          op: g.op,
          gateLayout: g.layout,
          inputs: [
            'seq_len_max',
            'x',
            'cs_prev',
            'h_prev',
            'w',
            'wci',
            'wcf',
            'wco',
            'b',
            'i',
            'cs',
            'f',
            'o',
            'ci',
            'co',
            'h (the 7 forward outputs)',
            'cs_grad [T,B,H] (dL/dcs)',
            'h_grad [T,B,H] (dL/dh)',
          ],
          outputs: [
            'x_grad',
            'cs_prev_grad',
            'h_prev_grad',
            'w_grad',
            'wci_grad',
            'wcf_grad',
            'wco_grad',
            'b_grad',
          ],
          attrs: describeAttrs(gradAttrs),
        };
      }
    });
  }
}

// ---------------------------------------------------------------------------------- GRU block

console.log(
  "\nGRUBlockCell (one step): [r,u] = σ([x,h] w_ru + b_ru); c = tanh([x, r⊙h] w_c + b_c); h' = u⊙h + (1-u)⊙c",
);
function gruStep({ x, h, Wru, Uru, bru, Wc, Uc, bc }) {
  const ru = tf.sigmoid(tf.add(tf.add(tf.matMul(x, Wru), tf.matMul(h, Uru)), bru));
  const [r, u] = tf.split(ru, 2, 1);
  const c = tf.tanh(tf.add(tf.add(tf.matMul(x, Wc), tf.matMul(tf.mul(r, h), Uc)), bc));
  return { r, u, c, h: tf.add(tf.mul(u, h), tf.mul(tf.sub(1, u), c)) };
}
tf.tidy(() => {
  const d = {
    x: rand([B, I], 1),
    h: rand([B, H]),
    Wru: rand([I, 2 * H]),
    Uru: rand([H, 2 * H]),
    bru: rand([2 * H], 0.2),
    Wc: rand([I, H]),
    Uc: rand([H, H]),
    bc: rand([H], 0.2),
  };
  const inputs = [d.x, d.h, tf.concat([d.Wru, d.Uru], 0), tf.concat([d.Wc, d.Uc], 0), d.bru, d.bc];
  const attrs = [T_FLOAT];
  let fwd;
  try {
    fwd = run('GRUBlockCell', attrs, inputs, 4);
  } catch (err) {
    record('GRUBlockCell', {
      variant: 'T=float',
      ok: false,
      error: String(err.message ?? err).split('\n')[0],
    });
    return;
  }
  const got = { r: fwd[0], u: fwd[1], c: fwd[2], h: fwd[3] };
  const cmp = compare(['r', 'u', 'c', 'h'], got, gruStep(d));
  record('GRUBlockCell', { variant: 'T=float', ...cmp });
  if (cmp.ok) {
    working.GRUBlockCell = {
      op: 'GRUBlockCell',
      inputs: [
        'x [B,I]',
        'h_prev [B,H]',
        'w_ru [I+H,2H] = concat([Wru;Uru],0)',
        'w_c [I+H,H] = concat([Wc;Uc],0)',
        'b_ru [2H]',
        'b_c [H]',
      ],
      outputs: ['r [B,H]', 'u [B,H]', 'c [B,H]', 'h [B,H]'],
      attrs: describeAttrs(attrs),
    };
  }

  const G = rand([B, H], 1);
  let grad;
  try {
    grad = run('GRUBlockCellGrad', attrs, [...inputs, got.r, got.u, got.c, G], 4);
  } catch (err) {
    record('GRUBlockCellGrad', {
      variant: 'T=float',
      ok: false,
      error: String(err.message ?? err).split('\n')[0],
    });
    return;
  }
  const [dX, dHprev, dCbar, dRUbar] = grad;
  // Weight gradients from the pre-activation gradients (as TF's Python gradient of GRUBlockCell does).
  const xh = tf.concat([d.x, d.h], 1);
  const xrh = tf.concat([d.x, tf.mul(got.r, d.h)], 1);
  const fused = {
    x: dX,
    h_prev: dHprev,
    w_ru: tf.matMul(xh, dRUbar, true, false),
    w_c: tf.matMul(xrh, dCbar, true, false),
    b_ru: tf.sum(dRUbar, 0),
    b_c: tf.sum(dCbar, 0),
  };
  const f = (x, h, Wru, Uru, bru, Wc, Uc, bc) =>
    tf.sum(tf.mul(gruStep({ x, h, Wru, Uru, bru, Wc, Uc, bc }).h, G));
  const [gx, gh, gWru, gUru, gbru, gWc, gUc, gbc] = tf.grads(f)([
    d.x,
    d.h,
    d.Wru,
    d.Uru,
    d.bru,
    d.Wc,
    d.Uc,
    d.bc,
  ]);
  const want = {
    x: gx,
    h_prev: gh,
    w_ru: tf.concat([gWru, gUru], 0),
    w_c: tf.concat([gWc, gUc], 0),
    b_ru: gbru,
    b_c: gbc,
  };
  const gcmp = compare(Object.keys(want), fused, want);
  record('GRUBlockCellGrad', {
    variant: 'T=float; weight grads = [x,h]ᵀ d_r_bar_u_bar, [x,r⊙h]ᵀ d_c_bar, biases = column sums',
    ...gcmp,
  });
  if (gcmp.ok) {
    working.GRUBlockCellGrad = {
      op: 'GRUBlockCellGrad',
      inputs: [
        'x',
        'h_prev',
        'w_ru',
        'w_c',
        'b_ru',
        'b_c',
        'r',
        'u',
        'c (forward outputs)',
        'd_h [B,H]',
      ],
      outputs: [
        'd_x [B,I]',
        'd_h_prev [B,H]',
        'd_c_bar [B,H] (grad of c pre-activation)',
        'd_r_bar_u_bar [B,2H] (grad of r,u pre-activations)',
      ],
      attrs: describeAttrs(attrs),
    };
  }
});

summary.working = working;

// --------------------------------------------------------------------------------------- bench

if (args.has('--bench')) {
  const [bT, bB, bI, bH] = [32, 64, 64, 128];
  console.log(
    `\nBench: LSTM window T=${bT}, B=${bB}, input=${bI}, hidden=${bH}, forward + gradients, median of 10`,
  );
  const d = tf.tidy(() => ({
    ...lstmData(false),
    x: rand([bT, bB, bI], 1),
    cs0: rand([bB, bH]),
    h0: rand([bB, bH]),
    W: rand([bI, 4 * bH]),
    U: rand([bH, 4 * bH]),
    b: rand([4 * bH]),
    wci: tf.zeros([bH]),
    wcf: tf.zeros([bH]),
    wco: tf.zeros([bH]),
  }));
  const Gh = rand([bT, bB, bH], 1);
  const Gcs = tf.zeros([bT, bB, bH]);
  const time = (fn) => {
    const ts = [];
    for (let k = 0; k < 12; k++) {
      const t0 = performance.now();
      tf.tidy(() => {
        const r = fn();
        r.forEach((t) => t.dataSync());
      });
      ts.push(performance.now() - t0);
    }
    return ts.slice(2).sort((a, b) => a - b)[5];
  };
  const attrs = [
    { name: 'cell_clip', type: ATTR.FLOAT, value: 0 },
    { name: 'use_peephole', type: ATTR.BOOL, value: false },
    T_FLOAT,
  ];
  const fused = time(() => {
    const fwd = run('BlockLSTMV2', attrs, lstmInputs(d, bT), 7);
    return run(
      'BlockLSTMGradV2',
      [{ name: 'use_peephole', type: ATTR.BOOL, value: false }, T_FLOAT],
      [...lstmInputs(d, bT), ...fwd, Gcs, Gh],
      8,
    );
  });
  const loop = time(() =>
    tf.grads((x, cs0, h0, W, U, b) =>
      tf.sum(tf.mul(lstmLoop({ x, cs0, h0, W, U, b, layout: 'ifco' }).h, Gh)),
    )([d.x, d.cs0, d.h0, d.W, d.U, d.b]),
  );
  summary.bench = { T: bT, B: bB, I: bI, H: bH, fusedMs: fused, loopMs: loop };
  console.log(
    `  fused BlockLSTMV2 + BlockLSTMGradV2: ${fused.toFixed(1)} ms; tfjs step loop + tf.grads: ${loop.toFixed(1)} ms (x${(loop / fused).toFixed(1)})`,
  );
}

console.log('\nWorking calls:');
for (const [key, w] of Object.entries(working)) {
  console.log(
    `  ${key}: attrs ${JSON.stringify(w.attrs)}${w.gateLayout ? `, gate layout ${w.gateLayout}` : ''}`,
  );
  console.log(`    inputs  ${w.inputs.join(', ')}`);
  console.log(`    outputs ${w.outputs.join(', ')}`);
}
if (args.has('--json')) console.log(`SUMMARY ${JSON.stringify(summary)}`);
