/** @module A TTY-guarded progress line for long work (downloads, mining, generation). */

/** Options for {@link createProgress}. */
export interface ProgressOptions {
  /** What is in progress, printed before the bar. */
  label: string;
  /** Total units of work, or undefined when unknown. */
  total?: number;
  /** Unit name shown after the counts (e.g. "tokens", "MiB"). */
  unit?: string;
  /** Force drawing on or off; by default only when stderr is a terminal. */
  enabled?: boolean;
}

/** A progress reporter: call `update` as work advances and `done` at the end. */
export interface Progress {
  /** Sets the units completed so far (and optionally an extra note, like a rate). */
  update(current: number, note?: string): void;
  /** Clears the line (or prints a final line when drawing). */
  done(note?: string): void;
}

const encoder = new TextEncoder();

/**
 * Creates a progress line on stderr. It draws only on a terminal with a non-zero width and at most
 * ten times a second, so piped output and CI logs stay clean.
 */
export function createProgress(options: ProgressOptions): Progress {
  let enabled = options.enabled;
  let columns = 80;
  if (enabled === undefined) {
    try {
      enabled = Deno.stderr.isTerminal();
      if (enabled) columns = Deno.consoleSize().columns;
    } catch {
      enabled = false;
    }
  }
  if (!enabled || columns < 20) return { update() {}, done() {} };
  let last = 0;
  const draw = (current: number, note = "", force = false) => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    const unit = options.unit ? ` ${options.unit}` : "";
    let text: string;
    if (options.total && options.total > 0) {
      const frac = Math.min(1, current / options.total);
      const width = Math.max(10, Math.min(30, columns - options.label.length - 40));
      const filled = Math.round(frac * width);
      text = `${options.label} [${"#".repeat(filled)}${
        "-".repeat(width - filled)
      }] ${current}/${options.total}${unit}`;
    } else {
      text = `${options.label} ${current}${unit}`;
    }
    if (note) text += ` ${note}`;
    Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${text.slice(0, columns - 1)}`));
  };
  return {
    update: (current, note) => draw(current, note),
    done: (note) => {
      Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${note ? note + "\n" : ""}`));
    },
  };
}
