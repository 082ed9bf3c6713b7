/**
 * @module Test set-up run by `deno task test` before the suite: finds the system packages some tests
 * need (Debian's `chromium` for the page and in-browser verifier tests, Debian's `rustc` with
 * `libstd-rust-dev-wasm32` for the kernel rebuild check) and installs the missing ones with apt, so
 * the README's one test command works on a fresh machine. Prints one line per action; exits 1 with
 * a one-line reason when something is missing and cannot be installed.
 *
 * @example
 * ```sh
 * deno run -A tests/setup.ts   # then: deno test -A
 * ```
 */

/** A system requirement: the paths that show it is present and the Debian packages that provide it. */
export interface Requirement {
  /** What it is for, for the log line. */
  readonly purpose: string;
  /** Every path must exist for the requirement to hold. */
  readonly paths: readonly string[];
  /** Debian packages that provide it. */
  readonly packages: readonly string[];
}

/** What the suite needs from the system. */
export const REQUIREMENTS: readonly Requirement[] = [
  {
    purpose: "headless browser tests",
    paths: [Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium"],
    packages: ["chromium"],
  },
  {
    purpose: "the kernel.wasm rebuild check",
    paths: ["/usr/bin/rustc", "/usr/lib/rustlib/wasm32-unknown-unknown"],
    packages: ["rustc", "libstd-rust-dev-wasm32"],
  },
];

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The requirements whose paths are not all present. */
export function missingRequirements(reqs: readonly Requirement[] = REQUIREMENTS): Requirement[] {
  return reqs.filter((r) => !r.paths.every(exists));
}

async function run(cmd: string[]): Promise<boolean> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "inherit",
  }).output().catch(() => ({ success: false }));
  return out.success;
}

/** Installs the packages of the missing requirements with apt (through sudo when not root). */
export async function installMissing(missing: readonly Requirement[]): Promise<void> {
  const packages = [...new Set(missing.flatMap((r) => r.packages))];
  const sudo = Deno.uid?.() === 0 ? [] : ["sudo", "-n"];
  console.log(`setup: installing ${packages.join(" ")} with apt-get`);
  const ok = await run([...sudo, "apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-qq"]) &&
    await run([
      ...sudo,
      "apt-get",
      "-o",
      "DPkg::Lock::Timeout=300",
      "install",
      "-y",
      "-qq",
      ...packages,
    ]);
  const still = missingRequirements(missing);
  if (!ok || still.length > 0) {
    throw new Error(
      `could not install ${packages.join(" ")} (needed for ${
        still.map((r) => r.purpose).join(", ") || "the suite"
      }): run 'apt-get install ${packages.join(" ")}' as root, then 'deno task test' again`,
    );
  }
}

if (import.meta.main) {
  const missing = missingRequirements();
  if (missing.length === 0) {
    console.log("setup: system packages present");
  } else {
    try {
      await installMissing(missing);
    } catch (e) {
      console.error(`setup: ${(e as Error).message}`);
      Deno.exit(1);
    }
  }
}
