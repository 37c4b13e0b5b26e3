// The short mode of the under-attack benchmark (bench/attack.js --short):
// 200 attacker addresses (IPv4, and IPv6 /64s of two /48s) send failed
// logins, wrong admin keys and forged cookies through wrk at the Worker on
// workerd for 6 seconds; only its count invariants are checked here (the
// speed figures are the full benchmark's, outside npm test).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { root } from "./support/package.js";

test("under attack, every address past the threshold is banned and every warning is audited once", async () => {
  const out = await new Promise((resolve, reject) => {
    execFile(process.execPath, [join(root, "bench", "attack.js"), "--short"], { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`bench/attack.js --short failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
  const crossed = /addresses that crossed the threshold (\d+) = addresses banned (\d+)/.exec(out);
  assert.ok(crossed, out);
  assert.equal(crossed[1], crossed[2]);
  assert.ok(Number(crossed[1]) >= 50, `only ${crossed[1]} addresses crossed the threshold`);
  const audited = /warnings recorded (\d+) = audit entries stored (\d+)/.exec(out);
  assert.ok(audited, out);
  assert.equal(audited[1], audited[2]);
  assert.ok(!/^FAIL/m.test(out), out);
  assert.match(out, /aggregated \/48s/);
});
