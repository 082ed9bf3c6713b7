/**
 * @module Exports a GGUF llama-architecture model to an ONNX prefill graph (ONNX IR 8, opset 15),
 * built with `onnx-proto`, so onnxruntime-web can recompute logits anywhere.
 *
 * Graph interface (S = sequence length, P = number of requested rows, D = head size):
 * - `tokens` int64 [S]: token ids of the whole sequence (prompt + output prefix).
 * - `positions` int64 [S]: each token's position; token i attends to token j iff
 *   `positions[j] <= positions[i]` (the causal mask llama.cpp builds from positions).
 * - `rope_cos`, `rope_sin` float32 [S, D/2]: the rotary table for those positions, computed outside
 *   the graph by {@link ropeTables} in the same f32 steps ggml uses (`theta *= theta_scale` per
 *   pair, `cosf`/`sinf` of the f32 angle); ONNX ops cannot reproduce that per-step rounding.
 * - `rows` int64 [P]: sequence indices whose next-token logits are wanted.
 * - output `logits` float32 [P, V].
 *
 * The layers follow llama.cpp's LLAMA architecture: token embedding lookup; per block RMSNorm
 * (`x * 1/sqrt(mean(x^2) + eps) * w`, built from primitives since opset 15 has no
 * RMSNormalization), Q/K/V projections, rotary embedding of type NORM (adjacent pairs (2i, 2i+1)
 * rotated by `freq_scale * pos * freq_base^(-2i/n_rot)`), grouped-query causal attention (query
 * head h reads key/value head `floor(h / (n_head / n_head_kv))`, scores scaled by 1/sqrt(D),
 * softmax in f32),
 * output projection, residual; RMSNorm, SwiGLU feed-forward (`down(silu(gate(x)) * up(x))`),
 * residual; the final RMSNorm and output head run only on the requested rows.
 *
 * Weights: F32, F16 and Q8_0 tensors are all dequantized to f32 initializers (exact: an f16 value
 * and a Q8_0 `d * q` product are representable in f32), so the graph computes in f32 throughout.
 * That doubles memory for F16 models but keeps the graph free of Cast nodes and runtime dequant.
 */

import onnxProto from "onnx-proto";
import { type GGUFFile, readGGUF, tensorToF32 } from "./gguf.ts";
import {
  type LlamaHParams,
  llamaTensor,
  readLlamaHParams,
  UnsupportedModelError,
} from "./llama_hparams.ts";

const { onnx } = onnxProto;

/**
 * The rotary cos/sin tables [positions.length, nRot/2] for `positions`, in ggml's f32 steps:
 * `theta_scale = powf(freq_base, -2/n_rot)`, `theta = (float)pos`, then per pair
 * `cos = cosf(freq_scale * theta)`, `sin = sinf(freq_scale * theta)`, `theta *= theta_scale`
 * (`freq_scale` = 1 / the linear rope scale factor, 1 without scaling).
 */
export function ropeTables(
  positions: ArrayLike<number>,
  hp: Pick<LlamaHParams, "nRot" | "ropeFreqBase"> & { ropeFreqScale?: number },
): { cos: Float32Array; sin: Float32Array } {
  const half = hp.nRot / 2;
  const f = Math.fround;
  const thetaScale = f(Math.pow(hp.ropeFreqBase, f(-2 / hp.nRot)));
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  const freqScale = f(hp.ropeFreqScale ?? 1);
  for (let s = 0; s < positions.length; s++) {
    let theta = f(positions[s]);
    for (let i = 0; i < half; i++) {
      const angle = f(freqScale * theta);
      cos[s * half + i] = Math.cos(angle);
      sin[s * half + i] = Math.sin(angle);
      theta = f(theta * thetaScale);
    }
  }
  return { cos, sin };
}

type Attr = { ints?: number[]; int?: number; float?: number };

/** Minimal graph builder: unique value names, typed attributes, raw-data initializers. */
class GraphBuilder {
  readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  readonly inits: InstanceType<typeof onnx.TensorProto>[] = [];
  #n = 0;

  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs = 1): string[] {
    const out = Array.from({ length: outputs }, () => `${type.toLowerCase()}_${this.#n++}`);
    const attribute = Object.entries(attrs).map(([name, a]) => {
      if (a.ints) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: a.ints };
      if (a.float !== undefined) {
        return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: a.float };
      }
      return { name, type: onnx.AttributeProto.AttributeType.INT, i: a.int ?? 0 };
    });
    this.nodes.push(onnx.NodeProto.create({ opType: type, input: inputs, output: out, attribute }));
    return out;
  }

  one(type: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    return this.op(type, inputs, attrs)[0];
  }

  floats(name: string, dims: number[], data: Float32Array): string {
    this.inits.push(onnx.TensorProto.create({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    }));
    return name;
  }

  ints(name: string, values: number[]): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.inits.push(onnx.TensorProto.create({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      rawData: new Uint8Array(data.buffer),
    }));
    return name;
  }
}

/** The result of {@link exportOnnx}: the encoded model and the hyperparameters it was built for. */
export interface OnnxExport {
  /** Serialized ONNX ModelProto. */
  model: Uint8Array;
  /** Hyperparameters of the source model (needed to build the rope inputs). */
  hparams: LlamaHParams;
}

/**
 * Exports a llama GGUF model (bytes or an already parsed file) to an ONNX prefill graph.
 * Throws {@link UnsupportedModelError} for models the shared reader refuses and for missing,
 * misshapen, unknown or unsupported-type tensors, and the GGUF reader's `DecodeError` for
 * malformed files.
 */
export function exportOnnx(gguf: Uint8Array | GGUFFile): OnnxExport {
  const file = gguf instanceof Uint8Array ? readGGUF(gguf) : gguf;
  const hp = readLlamaHParams(file);
  const { nEmbd: E, nHead: H, nHeadKv: HKV, headDim: D, nFf: FF, nVocab: V } = hp;
  const g = new GraphBuilder();
  const known = new Set<string>();
  const init = (name: string, dims: number[]): string => {
    // GGUF dims are innermost first; the stored row-major layout is the reverse.
    const t = llamaTensor(file, name, dims);
    known.add(name);
    return g.floats(name, [...dims].reverse(), tensorToF32(t));
  };

  const shapeHalf = g.ints("shape_rope_tab", [-1, 1, D / 2, 1]);
  const cos = g.one("Reshape", ["rope_cos", shapeHalf]);
  const sin = g.one("Reshape", ["rope_sin", shapeHalf]);
  const axes0 = g.ints("axes_0", [0]);
  const axes1 = g.ints("axes_1", [1]);
  // Causal mask from positions: -inf where positions[j] > positions[i].
  const pi = g.one("Unsqueeze", ["positions", axes1]);
  const pj = g.one("Unsqueeze", ["positions", axes0]);
  const future = g.one("Greater", [pj, pi]);
  g.floats("neg_inf", [], new Float32Array([-Infinity]));
  g.floats("zero", [], new Float32Array([0]));
  const mask = g.one("Where", [future, "neg_inf", "zero"]);
  g.floats("rms_eps", [], new Float32Array([hp.rmsEps]));
  g.floats("kq_scale", [], new Float32Array([1 / Math.sqrt(D)]));
  const expandKv = g.ints("expand_kv", [1, H / HKV, 1, 1]);
  const shapeHeads = g.ints("shape_heads", [H, -1, D]);
  const shapeFlat = g.ints("shape_flat", [-1, H * D]);

  const rmsNorm = (x: string, w: string): string => {
    const sq = g.one("Mul", [x, x]);
    const mean = g.one("ReduceMean", [sq], { axes: { ints: [-1] }, keepdims: { int: 1 } });
    const inv = g.one("Reciprocal", [g.one("Sqrt", [g.one("Add", [mean, "rms_eps"])])]);
    return g.one("Mul", [g.one("Mul", [x, inv]), w]);
  };
  const linear = (x: string, w: string): string => g.one("Gemm", [x, w], { transB: { int: 1 } });
  const rope = (x: string, heads: number): string => {
    const pairs = g.one("Reshape", [
      x,
      g.ints(`shape_pairs_${heads}_${g.nodes.length}`, [
        -1,
        heads,
        D / 2,
        2,
      ]),
    ]);
    const [x0, x1] = g.op("Split", [pairs], { axis: { int: 3 } }, 2);
    const o0 = g.one("Sub", [g.one("Mul", [x0, cos]), g.one("Mul", [x1, sin])]);
    const o1 = g.one("Add", [g.one("Mul", [x0, sin]), g.one("Mul", [x1, cos])]);
    const joined = g.one("Concat", [o0, o1], { axis: { int: 3 } });
    // [S, heads, D] -> [heads, S, D]
    return g.one("Transpose", [g.one("Reshape", [
      joined,
      g.ints(`shape_hd_${g.nodes.length}`, [
        -1,
        heads,
        D,
      ]),
    ])], { perm: { ints: [1, 0, 2] } });
  };
  const repeatKv = (x: string): string => {
    // [HKV, S, D] -> [H, S, D], kv head j serving query heads j*r .. j*r+r-1.
    if (H === HKV) return x;
    const e = g.one("Expand", [g.one("Unsqueeze", [x, axes1]), expandKv]);
    return g.one("Reshape", [e, shapeHeads]);
  };

  const embd = init("token_embd.weight", [E, V]);
  let x = g.one("Gather", [embd, "tokens"], { axis: { int: 0 } });
  for (let l = 0; l < hp.nLayer; l++) {
    const p = `blk.${l}.`;
    const h = rmsNorm(x, init(`${p}attn_norm.weight`, [E]));
    const q = rope(linear(h, init(`${p}attn_q.weight`, [E, H * D])), H);
    const k = repeatKv(rope(linear(h, init(`${p}attn_k.weight`, [E, HKV * D])), HKV));
    const vFlat = linear(h, init(`${p}attn_v.weight`, [E, HKV * D]));
    const vHeads = g.one("Reshape", [vFlat, g.ints(`shape_v_${l}`, [-1, HKV, D])]);
    const v = repeatKv(g.one("Transpose", [vHeads], { perm: { ints: [1, 0, 2] } }));
    const kt = g.one("Transpose", [k], { perm: { ints: [0, 2, 1] } });
    const scores = g.one("Add", [g.one("Mul", [g.one("MatMul", [q, kt]), "kq_scale"]), mask]);
    const probs = g.one("Softmax", [scores], { axis: { int: -1 } });
    const att = g.one("Transpose", [g.one("MatMul", [probs, v])], { perm: { ints: [1, 0, 2] } });
    const o = linear(
      g.one("Reshape", [att, shapeFlat]),
      init(`${p}attn_output.weight`, [H * D, E]),
    );
    x = g.one("Add", [x, o]);
    const f = rmsNorm(x, init(`${p}ffn_norm.weight`, [E]));
    const gate = linear(f, init(`${p}ffn_gate.weight`, [E, FF]));
    const up = linear(f, init(`${p}ffn_up.weight`, [E, FF]));
    const act = g.one("Mul", [g.one("Mul", [gate, g.one("Sigmoid", [gate])]), up]);
    x = g.one("Add", [x, linear(act, init(`${p}ffn_down.weight`, [FF, E]))]);
  }
  const picked = g.one("Gather", [x, "rows"], { axis: { int: 0 } });
  const normed = rmsNorm(picked, init("output_norm.weight", [E]));
  const head = hp.tiedOutput ? embd : init("output.weight", [E, V]);
  const logits = g.one("Gemm", [normed, head], { transB: { int: 1 } });
  g.nodes.push(onnx.NodeProto.create({ opType: "Identity", input: [logits], output: ["logits"] }));

  for (const t of file.tensors) {
    if (!known.has(t.name)) {
      throw new UnsupportedModelError("model/unknown-tensor", `unexpected tensor ${t.name}`);
    }
  }

  const T = onnx.TensorProto.DataType;
  const io = (name: string, elemType: number, dims: (number | string)[]) => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => typeof d === "number" ? { dimValue: d } : { dimParam: d }),
        },
      },
    },
  });
  const graph = onnx.GraphProto.create({
    name: "camelid_llama_prefill",
    node: g.nodes,
    initializer: g.inits,
    input: [
      io("tokens", T.INT64, ["S"]),
      io("positions", T.INT64, ["S"]),
      io("rope_cos", T.FLOAT, ["S", D / 2]),
      io("rope_sin", T.FLOAT, ["S", D / 2]),
      io("rows", T.INT64, ["P"]),
    ],
    output: [io("logits", T.FLOAT, ["P", V])],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 15 }],
    producerName: "camelidcoin",
    producerVersion: "1",
    graph,
  });
  return { model: onnx.ModelProto.encode(model).finish(), hparams: hp };
}
