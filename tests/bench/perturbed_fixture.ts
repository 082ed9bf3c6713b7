/**
 * @module The weight-perturbed copy of a fixture the margin benches serve in place of the f16 model
 * (docs/verification.md, "the margin test"): every tensor plus Gaussian noise of 1% of its RMS.
 */

import { type TensorSpec, writeGGUF } from "../../verifier-wasm/gguf_writer.ts";
import { GGMLType, readGGUF, tensorToF32 } from "../../verifier-wasm/gguf.ts";

/**
 * The f32 fixture `f32` with Gaussian noise of 1% of each tensor's RMS added to every value
 * (Box-Muller over mulberry32, fixed seed), stored as F16: a "slightly different copy".
 */
export function perturbedF16(f32: Uint8Array): Uint8Array {
  const f = readGGUF(f32);
  let state = 12345;
  const uniform = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 2 ** 32;
  };
  const tensors: TensorSpec[] = f.tensors.map((t) => {
    const v = tensorToF32(t);
    const rms = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    const out = v.map((x) =>
      x + 0.01 * rms * Math.sqrt(-2 * Math.log(uniform())) *
        Math.cos(2 * Math.PI * uniform())
    );
    return {
      name: t.name,
      type: t.dims.length > 1 ? GGMLType.F16 : GGMLType.F32,
      dims: t.dims,
      values: out,
    };
  });
  return writeGGUF([...f.metadata].filter(([k]) => k !== "general.file_type"), tensors);
}
