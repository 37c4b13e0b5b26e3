// The built-in CAPTCHA's costs at the default difficulty, side by side:
//   - solve time in Node (the package's Node entry: the on-demand wasm
//     module, in slices on the main thread) and in Chromium (the browser
//     entry: the same module in a Web Worker), median and p95 over
//     `--solves` challenges each (fresh nonces: every solve is new work);
//   - hashes per second in each, against 2^difficulty expected;
//   - the edge's verification of a solution (core's `verify`) in wasm on
//     V8, as the Worker runs it (the on-demand module's benchmark hook),
//     and natively (`cargo run --release --example challenge_verify`), in µs;
//   - what a solved form costs an attacker in native SHA-256 hashes.
//
//   node bench/captcha.js [--solves=40] [--difficulty=20]
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { launchBrowser, serveDirectory } from "../tests/support/browser.js";
import { opt } from "./wrk.js";

const root = new URL("..", import.meta.url).pathname;
const solves = Number(opt("solves", 40));
const difficulty = Number(opt("difficulty", 20));
if (!(solves >= 5 && solves <= 500)) throw new Error("usage: node bench/captcha.js [--solves=5..500] [--difficulty=N]");

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (xs) => quantile(xs, 0.5);
/** Challenges shaped as the edge's (only their bytes matter to the work). */
const challenges = Array.from({ length: solves }, () => ({
  challenge: `pc1.${difficulty}.1800000000.${randomBytes(16).toString("hex")}.${randomBytes(32).toString("base64url")}`,
  difficulty,
  algorithm: "SHA-256",
}));

async function inNode() {
  const { solveChallenge } = await import(join(root, "pkg/src/node.js"));
  await solveChallenge({ ...challenges[0], difficulty: 4 });
  const ms = [];
  let hashes = 0;
  for (const c of challenges) {
    const t0 = performance.now();
    const solution = await solveChallenge(c);
    ms.push(performance.now() - t0);
    hashes += Number(solution.slice(solution.lastIndexOf(".") + 1)) + 1;
  }
  return { ms, hashes };
}

async function inChromium() {
  const served = await serveDirectory(join(root, "pkg"));
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    // Any page of the served origin will do: a script shown as text.
    await page.goto(new URL("src/captcha.js", served.url).href);
    return await page.evaluate(async (list) => {
      const { solveChallenge } = await import("/src/browser.js");
      await solveChallenge({ ...list[0], difficulty: 4 });
      const ms = [];
      let hashes = 0;
      for (const c of list) {
        const t0 = performance.now();
        const solution = await solveChallenge(c);
        ms.push(performance.now() - t0);
        hashes += Number(solution.slice(solution.lastIndexOf(".") + 1)) + 1;
      }
      return { ms, hashes };
    }, challenges);
  } finally {
    await browser.close();
    await served.close();
  }
}

/** Core's verify in wasm on V8 (the on-demand module; workerd runs the same engine). */
async function verifyWasm() {
  const full = await import(join(root, "pkg/dist/full/portcullis_full.js"));
  const { readFile } = await import("node:fs/promises");
  full.initSync({ module: await readFile(join(root, "pkg/dist/full/portcullis_full_bg.wasm")) });
  const solution = full.benchChallenge();
  const n = 20_000;
  const rounds = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    if (full.benchVerifyChallenge(solution, n) !== n) throw new Error("the benchmark's solution did not verify");
    rounds.push(((performance.now() - t0) * 1000) / n);
  }
  return median(rounds);
}

function verifyNative() {
  const out = execFileSync("cargo", ["run", "-q", "--release", "--locked", "-p", "portcullis-core", "--example", "challenge_verify"], {
    cwd: root,
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").at(-1));
}

const node = await inNode();
const chromium = await inChromium();
const verify = verifyNative();
const wasmVerify = await verifyWasm();
const rate = (r) => r.hashes / (r.ms.reduce((a, b) => a + b, 0) / 1000);
console.log(`built-in CAPTCHA, difficulty ${difficulty} (2^${difficulty} = ${(2 ** difficulty).toLocaleString("en")} hashes expected), ${solves} solves each`);
console.log("where        median ms    p95 ms    max ms   hashes/s");
for (const [name, r] of [["Node", node], ["Chromium", chromium]]) {
  console.log(
    `${name.padEnd(12)} ${median(r.ms).toFixed(0).padStart(9)} ${quantile(r.ms, 0.95).toFixed(0).padStart(9)} ${Math.max(...r.ms).toFixed(0).padStart(9)} ${Math.round(rate(r)).toLocaleString("en").padStart(10)}`,
  );
}
console.log(`Chromium median <= 1000 ms: ${median(chromium.ms) <= 1000 ? "yes" : "NO"}`);
console.log(`edge verify (core's verify): wasm on V8 ${wasmVerify.toFixed(2)} µs, native ${verify.verifyMicros} µs (medians of 5 rounds of 20,000)`);
console.log(
  `an attacker pays 2^${difficulty} ≈ ${(2 ** difficulty).toLocaleString("en")} SHA-256 per solved form: ~${(2 ** difficulty / 8.5e6).toFixed(3)} s of one SHA-NI core (≈ 8.5 M hashes/s), ~${Math.round(20.1e9 / 2 ** difficulty).toLocaleString("en")} forms/s on one L40S-class GPU (20.1 GH/s)`,
);
