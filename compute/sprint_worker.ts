/**
 * @module A sprint proving thread (Web Worker of sprint_threads.ts): loads the sprint model on its
 * own WASM kernel instance and runs proveSprint over its nonce stripe; between nonces it obeys the
 * shared control block (stop, pause, the proof nonces found by all threads) and its throttle, waiting
 * with Atomics.wait so a stop wakes it at once. Posts one {@link SprintThreadResult} or `{error}`.
 */

import { SprintModel } from "../verifier-wasm/sprint_model.ts";
import { SPRINT_CONTROL, type SprintThreadRequest } from "./sprint_threads.ts";
import { proveSprint } from "./sprint_prover.ts";

/** Longest single wait while paused, ms (the stop flag is checked at least this often). */
const PAUSE_POLL_MS = 100;
/** How far behind its schedule a throttled thread may catch up, ms. */
const CATCH_UP_MS = 1000;

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<SprintThreadRequest>) => void) | null;
  postMessage(m: unknown): void;
};

async function prove(r: SprintThreadRequest) {
  const ctl = new Int32Array(r.control);
  const model = await SprintModel.create(r.params, r.sprintSeed);
  try {
    const spacing = r.rate > 0 ? 1000 / r.rate : 0; // ms between two nonces of this thread
    let next = 0; // earliest start of the next nonce (performance.now())
    let counted = 0; // proof nonces of this thread already added to the shared count
    let pausedMs = 0;
    const t0 = performance.now();
    const gate = (_tried: number, found: number): boolean => {
      if (found > counted) Atomics.add(ctl, SPRINT_CONTROL.found, found - counted);
      counted = found;
      for (;;) {
        if (Atomics.load(ctl, SPRINT_CONTROL.stop)) return false;
        if (Atomics.load(ctl, SPRINT_CONTROL.found) >= r.params.maxNonces) return false;
        if (Atomics.load(ctl, SPRINT_CONTROL.pause)) {
          const t = performance.now();
          Atomics.wait(ctl, SPRINT_CONTROL.pause, 1, PAUSE_POLL_MS);
          pausedMs += performance.now() - t;
          next = 0; // no catching up on the nonces a pause left out
          continue;
        }
        const now = performance.now();
        if (now < next) {
          Atomics.wait(ctl, SPRINT_CONTROL.stop, 0, next - now);
          continue;
        }
        // Nonce k starts no earlier than the first one's time + k spacings: late wake-ups (a loaded
        // machine) are made up for up to CATCH_UP_MS behind; further behind, the schedule restarts.
        next = next > 0 && now - next <= CATCH_UP_MS ? next + spacing : now + spacing;
        Atomics.add(ctl, SPRINT_CONTROL.tried, 1);
        return true;
      }
    };
    const run = await proveSprint(model, r.nodeSeed, {
      start: r.start,
      step: r.step,
      count: Infinity,
      gate,
    });
    return { nonces: run.nonces, tried: run.tried, ms: performance.now() - t0, pausedMs };
  } finally {
    model.free();
  }
}

scope.onmessage = (e) => {
  prove(e.data).then(
    (result) => scope.postMessage(result),
    (err) => scope.postMessage({ error: (err as Error).message }),
  );
};
