// What the vault costs on workerd, through the admin API as an operator
// calls it (one edge, its Control object, loopback):
//   - a round trip that does no cryptography (GET /vault), the baseline;
//   - encrypt and decrypt of 1 and of 100 items per call.
// From medians of several rounds:
//   - Argon2id (unwrapping the private key) ≈ decrypt(1) − encrypt(1);
//   - HPKE seal per item ≈ (encrypt(100) − encrypt(1)) / 99;
//   - HPKE open per item ≈ (decrypt(100) − decrypt(1)) / 99.
// Decrypts are limited to 10 a minute per vault: the rounds stay under it.
//
//   node bench/vault.js [--rounds=4]
import { adminJson, startEdge, startOrigin } from "../tests/support/edge.js";
import { opt } from "./wrk.js";

const rounds = Number(opt("rounds", 4));
if (!(rounds >= 1 && rounds <= 5)) throw new Error("usage: node bench/vault.js [--rounds=1..5] (10 decrypts a minute)");
const PASSPHRASE = "benchmark passphrase of the vault";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function timed(edge, path, body, method = "POST") {
  const t0 = process.hrtime.bigint();
  const r = await adminJson(edge, path, method === "GET" ? {} : { method, body: JSON.stringify(body) });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 200) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return { ms, body: r.body };
}

const origin = await startOrigin();
const edge = await startEdge({ origin });
try {
  const made = await adminJson(edge, "/vault/passphrase", { method: "POST", body: JSON.stringify({ passphrase: PASSPHRASE }) });
  if (made.status !== 201) throw new Error(`create answered ${made.status}`);
  const items = (n) => Array.from({ length: n }, (_, i) => ({ field: "card_number", value: `4111 1111 1111 ${String(i).padStart(4, "0")}` }));
  const sealed100 = (await timed(edge, "/vault/encrypt", { items: items(100) })).body.envelopes;
  const open = (n) => ({ passphrase: PASSPHRASE, items: sealed100.slice(0, n).map((envelope) => ({ field: "card_number", envelope })) });
  const t = { baseline: [], encrypt1: [], encrypt100: [], decrypt1: [], decrypt100: [] };
  for (let round = 0; round < rounds; round++) {
    t.baseline.push((await timed(edge, "/vault", null, "GET")).ms);
    t.encrypt1.push((await timed(edge, "/vault/encrypt", { items: items(1) })).ms);
    t.encrypt100.push((await timed(edge, "/vault/encrypt", { items: items(100) })).ms);
    t.decrypt1.push((await timed(edge, "/vault/decrypt", open(1))).ms);
    t.decrypt100.push((await timed(edge, "/vault/decrypt", open(100))).ms);
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
  console.log(`vault on workerd (miniflare), ${rounds} rounds, medians in ms per admin call:`);
  for (const [k, v] of Object.entries(m)) console.log(`  ${k.padEnd(11)} ${v.toFixed(2).padStart(8)}   (rounds: ${t[k].map((x) => x.toFixed(1)).join(", ")})`);
  console.log(`Argon2id unwrap (19 MiB, t=2, p=1) ≈ decrypt1 − encrypt1 = ${(m.decrypt1 - m.encrypt1).toFixed(1)} ms`);
  console.log(`HPKE seal per item ≈ ${(((m.encrypt100 - m.encrypt1) / 99) * 1000).toFixed(0)} µs; HPKE open per item ≈ ${(((m.decrypt100 - m.decrypt1) / 99) * 1000).toFixed(0)} µs`);
} finally {
  await edge.dispose();
  origin.close();
}
