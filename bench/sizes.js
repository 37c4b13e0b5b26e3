// Download sizes before and after a change, in one run: the browser's
// first-feedback files and the Worker bundle, gzip -9, of this tree and of
// a base commit built beside it (a git worktree under tests/.tmp/).
//
//   node bench/sizes.js [--base=<commit>] [--base-dir=<checkout of it>] [--no-build]
//
// The Worker is also measured without its wasm name section (code only),
// so a change that strips the names cannot hide code growth.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { root, runScript, worktree } from "./base.js";

const arg = (name, fallback) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const base = arg("base", "891e3c0");
const build = !process.argv.includes("--no-build");

const FIRST_FEEDBACK = [
  "pkg/src/browser.js",
  "pkg/src/checker.js",
  "pkg/dist/rules/portcullis_rules.js",
  "pkg/dist/rules/portcullis_rules_bg.wasm",
  // The English requirements (since the catalogs became data; absent before).
  "pkg/dist/locales/en.rules.js",
];
const WORKER = ["crates/edge/build/index_bg.wasm", "crates/edge/build/index.js"];
// `portcullis/react` on its own (React and the core entry not counted).
const REACT = "pkg/src/react.js";
const REACT_BUDGET = 3000;
const FEATURES = [
  "--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext",
  "--enable-mutable-globals", "--enable-reference-types", "--enable-multivalue",
];

const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;

/** The wasm without its name section (binaryen's --strip-debug), gzip -9. */
function codeOnly(wasm) {
  const out = join(root, "tests", ".tmp", "stripped.wasm");
  execFileSync(join(root, "node_modules", ".bin", "wasm-opt"), ["--strip-debug", ...FEATURES, wasm, "-o", out]);
  return gz(out);
}

function measure(dir) {
  const sum = (files) => files.reduce((total, f) => total + (existsSync(join(dir, f)) ? gz(join(dir, f)) : 0), 0);
  const wasm = join(dir, WORKER[0]);
  return {
    firstFeedback: sum(FIRST_FEEDBACK),
    worker: sum(WORKER),
    workerCode: codeOnly(wasm) + gz(join(dir, WORKER[1])),
    react: existsSync(join(dir, REACT)) ? gz(join(dir, REACT)) : 0,
  };
}

const baseDir = arg("base-dir", null) ?? worktree(base);
if (build) {
  for (const dir of [baseDir, root]) {
    runScript(dir, "scripts/build-pkg.sh");
    runScript(dir, "scripts/build-edge.sh");
  }
}
const before = measure(baseDir);
const after = measure(root);
const kB = (n) => (n / 1000).toFixed(1).padStart(8);
const change = (a, b) => `${b >= a ? "+" : ""}${((b - a) / 1000).toFixed(1)} kB`;
const rows = [
  ["first feedback (gzip)", "firstFeedback"],
  ["Worker bundle as built (gzip)", "worker"],
  ["Worker code, names stripped (gzip)", "workerCode"],
  ["portcullis/react entry (gzip)", "react"],
];
console.log(`sizes in kB (1000 bytes), gzip -9; base ${base} vs this tree (${execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).toString().trim()} + working tree)`);
console.log(`${"what".padEnd(36)} ${"base".padStart(8)} ${"now".padStart(8)}   change`);
for (const [label, key] of rows) {
  console.log(`${label.padEnd(36)} ${kB(before[key])} ${kB(after[key])}   ${change(before[key], after[key])}`);
}
console.log(`portcullis/react <= ${REACT_BUDGET / 1000} kB gzip: ${after.react <= REACT_BUDGET ? "yes" : "NO"}`);
writeFileSync(join(root, "tests", ".tmp", "sizes.json"), JSON.stringify({ base, before, after }, null, 2));
