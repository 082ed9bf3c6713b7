/** @module Resident memory of a process, read from `/proc/PID/status` (Linux), sampled over time. */

/** Resident set size of process `pid` in bytes (`VmRSS` of `/proc/PID/status`). */
export function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = status.match(/^VmRSS:\s+(\d+)\s+kB$/m);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** RSS figures of one sampling run, bytes. */
export interface RssFigures {
  /** Before the attack. */
  before: number;
  /** Highest sample during the attack. */
  peak: number;
  /** Peak minus before. */
  growth: number;
}

/** Samples the RSS of `pid` every `intervalMs` until {@link RssSampler.stop}. */
export class RssSampler {
  readonly before: number;
  #peak: number;
  readonly #timer: ReturnType<typeof setInterval>;

  /** Takes the "before" sample and starts sampling. */
  constructor(readonly pid: number, intervalMs = 50) {
    this.before = rssBytes(pid);
    this.#peak = this.before;
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Takes one sample now. */
  sample(): void {
    try {
      this.#peak = Math.max(this.#peak, rssBytes(this.pid));
    } catch {
      // the process exited
    }
  }

  /** Stops sampling; returns the figures. */
  stop(): RssFigures {
    clearInterval(this.#timer);
    this.sample();
    return { before: this.before, peak: this.#peak, growth: this.#peak - this.before };
  }
}

/** Megabytes (10^6 bytes) with one decimal, for messages. */
export function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
