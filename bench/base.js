// A base commit checked out beside this tree, for before-and-after
// benchmarks in one run (bench/sizes.js, bench/password.js --base).
import { execFileSync } from "node:child_process";
import { existsSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(fileURLToPath(import.meta.url), "..", "..");

/** A worktree of `commit` under tests/.tmp, with this tree's node_modules. */
export function worktree(commit) {
  const dir = join(root, "tests", ".tmp", `base-${commit}`);
  if (!existsSync(dir)) {
    execFileSync("git", ["worktree", "add", "--detach", "-f", dir, commit], { cwd: root, stdio: "ignore" });
  }
  if (!existsSync(join(dir, "node_modules"))) symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** Runs one of a checkout's build scripts (scripts/build-pkg.sh, …), its output on stderr. */
export function runScript(cwd, script) {
  execFileSync("bash", [script], { cwd, stdio: ["ignore", process.stderr, "inherit"] });
}
