/**
 * @module Sprint benchmarks on the dev and main sprint models (WASM kernel, one thread): deriving
 * the sprint model, one nonce's evaluation (the unit of proving: a proof nonce costs `odds` of them),
 * proving until `sampleSize` proof nonces are found (dev only: main would take minutes), and
 * validating a proof (its sampled nonces re-run) beside them in the same run.
 */

import { networkParams } from "../../chain/params.ts";
import { sprintNodeSeed } from "../../chain/sprint.ts";
import { sha256 } from "../../chain/hash.ts";
import { SprintModel } from "../../verifier-wasm/sprint_model.ts";
import { validateSprintProof } from "../../verifier-wasm/sprint_validate.ts";
import { proveSprint } from "../../compute/sprint_prover.ts";

const seed = sha256(new TextEncoder().encode("sprint bench"));
const node = sprintNodeSeed(new Uint8Array(33).fill(2));

for (const net of ["dev", "main"] as const) {
  const p = networkParams(net).sprint;
  const model = await SprintModel.create(p, seed);
  // A proof of sampleSize nonces: found once here (main: about 64 x 900 evaluations).
  const proof = (await proveSprint(model, node, { count: 2 ** 31, maxFound: p.sampleSize })).nonces;
  let nonce = 0;
  let sample = 0;
  const n = net === "main" ? 20 : undefined;
  Deno.bench({
    name: `${net}: evaluate one nonce (forward pass, permutation, distance)`,
    group: net,
    baseline: true,
    n: n && 2000,
    fn: () => {
      model.distance(node, nonce++);
    },
  });
  Deno.bench({
    name: `${net}: validate a ${proof.length}-nonce proof (${p.sampleSize} re-run)`,
    group: net,
    n,
    fn: () => {
      validateSprintProof(model, node, proof, sha256(new Uint8Array([sample++ & 255])));
    },
  });
  Deno.bench({
    name: `${net}: derive and load the sprint model`,
    group: net,
    n,
    fn: async () => {
      (await SprintModel.create(p, seed)).free();
    },
  });
  if (net === "dev") {
    let start = 0;
    Deno.bench({
      name: `dev: prove until ${p.sampleSize} proof nonces`,
      group: net,
      fn: async () => {
        const run = await proveSprint(model, node, {
          start,
          count: 2 ** 31,
          maxFound: p.sampleSize,
        });
        start += run.tried;
      },
    });
  }
}
