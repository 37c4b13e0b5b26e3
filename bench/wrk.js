// What the benchmarks share: their numeric options, wrk's version line and
// its latency units.
import { execFileSync } from "node:child_process";

/** The number given as `--name=N` (positive), or `fallback`. */
export function opt(name, fallback) {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  if (!a) return fallback;
  const v = Number(a.slice(name.length + 3));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

/** wrk's banner line; throws when wrk is missing (`bash scripts/setup.sh` installs it). */
export function wrkVersion() {
  // `wrk -v` prints its banner and exits 1.
  try {
    return execFileSync("wrk", ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).split("\n")[0].trim();
  } catch (e) {
    const out = `${e.stdout ?? ""}${e.stderr ?? ""}`.split("\n")[0].trim();
    if (out.startsWith("wrk")) return out;
    throw new Error("wrk not found: bash scripts/setup.sh installs it (apt-get install -y wrk)");
  }
}

/** A wrk duration (`812.5us`, `3.2ms`, `1.1s`, `2m`) in milliseconds. */
export function toMs(value) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value);
  if (!m) return NaN;
  const n = Number(m[1]);
  return { us: n / 1000, ms: n, s: n * 1000, m: n * 60_000 }[m[2]];
}
