// Under-attack benchmark: the Portcullis Worker on workerd (Miniflare 4,
// every Durable Object class of wrangler.toml) in front of a loopback
// origin, with a signed-in visitor on the hot path, alone and then while
// thousands of attacker addresses send failed logins, wrong admin keys and
// forged cookies; wrk drives both (bench/cookie-client.lua for the
// visitor, bench/attack.lua for the attackers), side by side in one run.
//
//   node bench/attack.js [--attack=30] [--visitor=10] [--rounds=3] [--v4=1000] [--v6-prefixes=4] [--v6-per=250]
//   node bench/attack.js --short      (the count invariants only; part of npm test)
//
// Prints, and writes to bench/results/attack.json:
//   - the visitor's req/s and p99, alone and during the attack;
//   - failed logins per second (alone, no bans: their cost) and the ratio of
//     hot-path req/s to it (SPEC: a failed login costs at most 3x);
//   - attacker addresses that crossed the threshold vs those banned, and
//     warnings recorded vs audit entries stored (must be equal);
//   - Durable Object requests per warning for each class (Control's share
//     at most 1 per 100 warnings), and round trips per failed login;
//   - the number of bans after aggregation;
//   - the hot path with 100,000 bans against 0 (ratio >= 0.95).
// A broken invariant exits 1; a missed speed goal is reported, not fatal.

import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { BlockList, isIPv6 } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { adminJson, signIn, startEdge, startOrigin } from "../tests/support/edge.js";
import { opt, toMs, wrkVersion } from "./wrk.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SHORT = process.argv.includes("--short");
// --only=logins|attack|bans runs one part (for looking into it).
const ONLY = process.argv.find((x) => x.startsWith("--only="))?.slice(7);
const part = (name) => !ONLY || ONLY === name;
const ATTACK_SECONDS = opt("attack", SHORT ? 6 : 30);
const VISITOR_SECONDS = opt("visitor", 10);
const ROUNDS = opt("rounds", 3);
const V4 = opt("v4", SHORT ? 100 : 1000);
const V6_PREFIXES = opt("v6-prefixes", SHORT ? 2 : 4);
const V6_PER = opt("v6-per", SHORT ? 50 : 250);
const WARNINGS_BEFORE_BAN = 3;
const AGGREGATE_AFTER = SHORT ? 20 : 100;
const VISITOR_IP = "203.0.113.7";
const BAN_COUNT = 100_000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
};


function wrk(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.once("error", (e) => reject(new Error(`wrk: ${e.message} (install it: bash scripts/setup.sh)`)));
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${err}`));
      const num = (re) => { const m = re.exec(out); return m ? Number(m[1]) : 0; };
      const p99 = /^\s+99%\s+(\S+)/m.exec(out);
      const attack = /^ATTACK (.*)$/m.exec(out);
      resolve({
        rps: num(/Requests\/sec:\s+([\d.]+)/),
        requests: num(/(\d+) requests in/),
        p99_ms: p99 ? toMs(p99[1]) : NaN,
        non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/),
        attack: attack ? JSON.parse(attack[1]) : null,
      });
    });
  });
}

/** The visitor on the hot path for `seconds`. */
function visitor(edge, cookie, seconds, connections = 8) {
  return wrk([
    "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "--timeout", "5s",
    "-H", `CF-Connecting-IP: ${VISITOR_IP}`, "-H", `Cookie: ${cookie}`,
    "-s", path.join(ROOT, "bench/cookie-client.lua"), new URL("/app/hello", edge.url).href,
  ]);
}

/** The attackers for `seconds`. */
function attackers(edge, seconds, { mix, burst = WARNINGS_BEFORE_BAN + 1, connections = 16 } = {}) {
  return wrk(
    ["-t2", `-c${connections}`, `-d${seconds}s`, "--timeout", "5s", "-s", path.join(ROOT, "bench/attack.lua"), edge.url],
    { V4: String(V4), V6_PREFIXES: String(V6_PREFIXES), V6_PER: String(V6_PER), BURST: String(burst), THREADS: "2", ...(mix ? { MIX: mix } : {}) },
  );
}

function attackerAddresses() {
  const list = [];
  for (let i = 0; i < V4; i++) list.push(`198.${18 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`);
  for (let j = 0; j < V6_PREFIXES * V6_PER; j++) {
    list.push(`2001:db8:${(Math.floor(j / V6_PER) % V6_PREFIXES + 1).toString(16)}:${(j % V6_PER + 1).toString(16)}::1`);
  }
  return list;
}

async function metrics(edge) {
  const r = await edge.admin("/metrics");
  const text = await r.text();
  if (r.status !== 200) throw new Error(`metrics answered ${r.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const diff = (after, before) => Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));

/** Waits (bounded) until no warning is still on its way to an IpGuard. */
async function settled(edge) {
  for (let i = 0; i < 100; i++) {
    if ((await metrics(edge)).pendingWarnings === 0) return;
    await sleep(100);
  }
  throw new Error("warnings still pending after 10 s");
}


const CLASSES = ["ACCOUNT", "IP_GUARD", "AUDIT_LOG", "BAN_LOG", "USER", "CONTROL"];

async function main() {
  const results = {
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, wrk: wrkVersion() },
    parameters: { attackSeconds: ATTACK_SECONDS, visitorSeconds: VISITOR_SECONDS, v4: V4, v6Prefixes: V6_PREFIXES, v6Per: V6_PER, warningsBeforeBan: WARNINGS_BEFORE_BAN, aggregateV6After: AGGREGATE_AFTER, short: SHORT },
  };
  console.log(`machine: ${results.machine.cpu}, ${results.machine.cores} cores, node ${process.version}, ${results.machine.wrk}`);
  const origin = await startOrigin();
  try {
    // -------------------------------------------------- failed logins alone
    if (!SHORT && part("logins")) {
      const edge = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 10_000 }, login: { maxFailedAttempts: 1000 } }, bindings: { PORTCULLIS_AUDIT_FLUSH_SECONDS: "5" } });
      try {
        const s = await signIn(edge, VISITOR_IP, "visitor");
        await visitor(edge, s.cookie, 2); // warm
        const hot = await visitor(edge, s.cookie, VISITOR_SECONDS);
        const before = (await metrics(edge)).durableObjectRequests;
        const logins = await attackers(edge, VISITOR_SECONDS, { mix: "login", burst: 1_000_000 });
        await settled(edge);
        const during = diff((await metrics(edge)).durableObjectRequests, before);
        const failed = logins.attack?.statuses?.["401"] ?? 0;
        const perSecond = failed / VISITOR_SECONDS;
        const perLogin = Object.fromEntries(CLASSES.map((c) => [c, (during[c] ?? 0) / Math.max(failed, 1)]));
        results.failedLogins = { hotPathRps: hot.rps, failedPerSecond: perSecond, costRatio: hot.rps / perSecond, roundTripsPerFailedLogin: perLogin };
        console.log(`\nhot path alone: ${hot.rps.toFixed(0)} req/s; failed logins alone: ${perSecond.toFixed(0)}/s; a failed login costs ${(hot.rps / perSecond).toFixed(2)}x a hot-path request (SPEC: <= 3x): ${hot.rps / perSecond <= 3 ? "yes" : "NO"}`);
        console.log(`Durable Object requests per failed login: ${CLASSES.map((c) => `${c} ${perLogin[c].toFixed(2)}`).join(", ")}`);
      } finally {
        await edge.dispose();
      }
    }

    // -------------------------------------------------- the attack
    if (part("attack")) {
    const edge = await startEdge({
      origin,
      policy: { bans: { warningsBeforeBan: WARNINGS_BEFORE_BAN, aggregateV6After: AGGREGATE_AFTER } },
      bindings: { PORTCULLIS_AUDIT_FLUSH_SECONDS: "5" },
    });
    const startedAt = Math.floor(Date.now() / 1000) - 1;
    try {
      const s = await signIn(edge, VISITOR_IP, "visitor");
      let alone = null;
      if (!SHORT) {
        await visitor(edge, s.cookie, 2);
        alone = await visitor(edge, s.cookie, VISITOR_SECONDS);
      }
      const before = await metrics(edge);
      const [attack, during] = await Promise.all([
        attackers(edge, ATTACK_SECONDS),
        SHORT ? Promise.resolve(null) : visitor(edge, s.cookie, ATTACK_SECONDS, 4),
      ]);
      await settled(edge);
      const after = await metrics(edge);
      const calls = diff(after.durableObjectRequests, before.durableObjectRequests);
      const recorded = calls["warnings.recorded"] ?? 0;

      // What the audit log holds (reading it hands over what the shards held).
      const stats = await adminJson(edge, `/audit/stats?bucket=60&since=${startedAt}`);
      const stored = stats.body.counts.filter((c) => c.kind === "warning").reduce((a, c) => a + c.count, 0);
      const afterFlush = (await metrics(edge)).durableObjectRequests;
      const bans = (await adminJson(edge, "/bans")).body.bans;
      const blocked = new BlockList();
      for (const b of bans) {
        const [addr, len] = b.target.split("/");
        const family = isIPv6(addr) ? "ipv6" : "ipv4";
        if (len) blocked.addSubnet(addr, Number(len), family);
        else blocked.addAddress(addr, family);
      }
      // Warnings per client (an IPv4 address or an IPv6 /64) from the log.
      const clients = (await adminJson(edge, `/audit/clients?since=${startedAt}&limit=100000`)).body.clients;
      const attackerKeys = new Set(attackerAddresses().map((ip) => (isIPv6(ip) ? ip.replace(/::1$/, "::/64") : ip)));
      let sentFrom = 0;
      let crossed = 0;
      let crossedBanned = 0;
      const unbanned = [];
      for (const { client, warnings } of clients) {
        if (!attackerKeys.has(client)) continue;
        sentFrom++;
        if (warnings >= WARNINGS_BEFORE_BAN) {
          crossed++;
          const addr = client.split("/")[0];
          if (blocked.check(addr, isIPv6(addr) ? "ipv6" : "ipv4")) crossedBanned++;
          else if (unbanned.length < 5) unbanned.push(`${client} (${warnings} warnings)`);
        }
      }
      const aggregates = bans.filter((b) => b.reason === "aggregate").length;
      const statuses = attack.attack?.statuses ?? {};
      const failedLogins = attack.attack?.sent?.login ?? 0;
      results.attack = {
        requests: attack.requests, rps: attack.rps, sent: attack.attack?.sent, statuses,
        addressesWithWarnings: sentFrom, crossed, crossedBanned, warningsRecorded: recorded, auditEntriesStored: stored,
        bans: bans.length, aggregates,
        perWarning: Object.fromEntries(CLASSES.map((c) => [c, (calls[c] ?? 0) / Math.max(recorded, 1)])),
        controlWithFlush: ((afterFlush.CONTROL ?? 0) - (before.durableObjectRequests.CONTROL ?? 0)) / Math.max(recorded, 1),
        visitorAlone: alone && { rps: alone.rps, p99_ms: alone.p99_ms },
        visitorDuring: during && { rps: during.rps, p99_ms: during.p99_ms, non2xx: during.non2xx },
      };
      console.log(`\nattack: ${attack.requests} requests in ${ATTACK_SECONDS} s (${attack.rps.toFixed(0)}/s) from ${sentFrom} addresses that got a warning; sent ${JSON.stringify(attack.attack?.sent)}; answers ${JSON.stringify(statuses)}`);
      console.log(`failed logins sent during the attack: ${(failedLogins / ATTACK_SECONDS).toFixed(0)}/s`);
      if (alone) {
        console.log(`visitor   alone: ${alone.rps.toFixed(0)} req/s, p99 ${alone.p99_ms.toFixed(1)} ms`);
        console.log(`visitor  attack: ${during.rps.toFixed(0)} req/s, p99 ${during.p99_ms.toFixed(1)} ms, non-2xx ${during.non2xx}`);
      }
      console.log(`Durable Object requests per warning: ${CLASSES.map((c) => `${c} ${results.attack.perWarning[c].toFixed(3)}`).join(", ")}; Control with the final hand-over ${results.attack.controlWithFlush.toFixed(3)}`);
      const controlOps = Object.entries(calls).filter(([k, v]) => k.startsWith("CONTROL.") && v > 0).map(([k, v]) => `${k.slice(8)} ${v}`).join(", ");
      console.log(`Control's requests during the attack: ${controlOps}`);
      console.log(`bans after aggregation: ${bans.length} (${aggregates} aggregated /48s)`);
      check(crossed === crossedBanned, `addresses that crossed the threshold ${crossed} = addresses banned ${crossedBanned}${unbanned.length ? `; not banned: ${unbanned.join(", ")}` : ""}`);
      check(recorded === stored, `warnings recorded ${recorded} = audit entries stored ${stored}`);
      check(recorded > 0 && crossed > 0, "the attack warned and banned");
      check((calls["warnings.failed"] ?? 0) === 0, `warnings that failed to record: ${calls["warnings.failed"] ?? 0}`);
      if (!SHORT) {
        const share = results.attack.perWarning.CONTROL;
        console.log(`Control's share: ${(share * 100).toFixed(2)} per 100 warnings (target <= 1): ${share <= 0.01 ? "yes" : "NO"}`);
      }
    } finally {
      await edge.dispose();
    }
    }

    // -------------------------------------------------- 100,000 bans against 0
    if (!SHORT && part("bans")) {
      const none = await startEdge({ origin });
      const many = await startEdge({ origin });
      try {
        const t0 = Date.now();
        // 2,500 a call: an admin request carries at most 64 KB.
        for (let start = 0; start < BAN_COUNT; start += 2_500) {
          const targets = Array.from({ length: 2_500 }, (_, i) => {
            const n = start + i;
            return `10.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
          });
          const r = await adminJson(many, "/bans", { method: "POST", body: JSON.stringify({ targets, seconds: 86_400 }) });
          if (r.status !== 201) throw new Error(`import answered ${r.status}: ${JSON.stringify(r.body)}`);
        }
        console.log(`\nimported ${BAN_COUNT} bans in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        const sessions = [await signIn(none, VISITOR_IP, "visitor"), await signIn(many, VISITOR_IP, "visitor")];
        // The importing isolate dropped its copy: the next request loads the bans.
        const banned = await many.request("/hello", { ip: "10.0.3.9" });
        await banned.arrayBuffer();
        if (banned.status !== 403) throw new Error(`a banned address got ${banned.status}`);
        const rps = [[], []];
        for (let round = 0; round < ROUNDS; round++) {
          for (const [i, edge] of [none, many].entries()) {
            await visitor(edge, sessions[i].cookie, 2);
            const r = await visitor(edge, sessions[i].cookie, VISITOR_SECONDS);
            rps[i].push(r.rps);
            console.log(`round ${round + 1}  ${i ? "100,000 bans" : "0 bans      "}  ${r.rps.toFixed(0)} req/s  p99 ${r.p99_ms.toFixed(1)} ms`);
          }
        }
        const ratio = median(rps[1]) / median(rps[0]);
        results.bans = { count: BAN_COUNT, medianRps0: median(rps[0]), medianRps100k: median(rps[1]), ratio, rounds: rps };
        console.log(`hot path with 100,000 bans / with 0 (medians): ${(ratio * 100).toFixed(1)}% (target >= 95%): ${ratio >= 0.95 ? "yes" : "NO"}`);
      } finally {
        await none.dispose();
        await many.dispose();
      }
    }
  } finally {
    await origin.close();
  }
  if (!SHORT) {
    mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
    writeFileSync(path.join(ROOT, "bench/results/attack.json"), JSON.stringify(results, null, 2) + "\n");
    console.log("\nwritten: bench/results/attack.json");
  }
  if (failures.length) {
    console.error(`\nbench/attack: ${failures.length} invariant(s) broken`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`bench/attack: ${e?.stack ?? e}`);
  process.exit(1);
});
