// Edge hot-path benchmark: requests per second through the Portcullis Worker
// (crates/edge/build, Rust -> wasm) against a plain JavaScript pass-through
// Worker, both on the same workerd (Miniflare 4), driven directly through
// Miniflare's own socket by the same load generator (wrk) in the same run.
//
//   [ORIGIN_SECRET=…] node bench/edge.js [--duration=10] [--connections=32] [--threads=2] [--warmup=2] [--rounds=3] [--rate-limits]
//
// --rate-limits adds two more of our Workers to each round: "unmatched"
// (a rate limit rule on another path: the hot path must not pay for it)
// and "matched" (a token-bucket rule on the benchmark's path, keyed by the
// client address, never refusing: its added cost is one RateLimiter
// Durable Object request per request).
//
// Each Worker forwards GET /app/hello?x=1 to a tiny origin (a Node http
// server in a child process, ~1 KB of text). The request carries
// `CF-Connecting-IP: 203.0.113.7`, a client that is not banned, and a valid
// session: an HS256 session token signed here with node:crypto under the
// JWT_SECRET our Worker is given (the pass-through gets the same cookie),
// which wrk then keeps up to date like a browser (bench/cookie-client.lua:
// the renewed cookie replaces the old one): this is SPEC's hot path (configuration snapshot from the
// per-isolate cache, ban decision, session verified and renewed, a
// protected path, header filtering, forwarding, security headers).
//
// Order: peer, ours, peer, ours, … (three rounds by default: a 2-core
// machine running wrk, workerd and the origin is noisy); each Miniflare is disposed
// before the next one starts, and each is warmed (a few requests, then a
// short wrk run that is not measured) before the measured wrk run.
//
// Prints, and writes to bench/results/edge.json:
//   - machine (cpu, cores, node, wrk), load parameters;
//   - per run: req/s, latency p50/p99 (wrk --latency), non-2xx and socket
//     errors, and workerd's CPU time per request (user + system, from /proc:
//     less sensitive to other load on the machine than req/s);
//   - best and median req/s per Worker, the ratio ours/peer, the 90% target (SPEC);
//   - gzip -9 bundle size (index_bg.wasm + index.js) against 1.5 MB and the
//     3 MB Workers free-plan limit.
// It is a benchmark, not a test: a missed target is reported, never fatal.
// A real error (missing build, wrk missing, a Worker not answering 200, our
// Worker's answer lacking the security headers, many failed requests) exits 1.

import { fork, execFileSync, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { gzipSync } from "node:zlib";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import os from "node:os";
import path from "node:path";
import { opt, toMs, wrkVersion } from "./wrk.js";

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const at = (p) => path.join(ROOT, p);

// ---------------------------------------------------------------------------
// Origin mode: `node bench/edge.js --origin` (forked by the driver). Answers
// every request with 200 and a fixed ~1 KB body; reports its port and, on
// request, how many requests it has served.

if (process.argv[2] === "--origin") {
  const body = Buffer.from("hello from the origin\n".repeat(47)); // 1034 bytes
  let served = 0;
  const server = createServer((req, res) => {
    served++;
    req.resume();
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
  process.on("message", (m) => {
    if (m === "count") process.send({ served });
    if (m === "exit") server.close(() => process.exit(0));
  });
  process.on("disconnect", () => process.exit(0));
}

// ---------------------------------------------------------------------------
// Driver.


const cleanups = [];
async function cleanup() {
  while (cleanups.length) {
    try { await cleanups.pop()(); } catch (e) { console.error(`bench/edge: cleanup: ${e?.message ?? e}`); }
  }
}

const CLIENT_IP = "203.0.113.7";
const BENCH_PATH = "/app/hello?x=1";
const JWT_SECRET = "bench-jwt-secret-0123456789-abcdefghijklmnop";

/** A session cookie as our Worker issues it: HS256 over sub, sid, iat, exp, auth. */
function sessionCookie() {
  const b64 = (x) => Buffer.from(x).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  // Issued a minute ago, so the first answer renews it (and wrk takes the renewed cookie).
  const claims = { sub: "u-bench", sid: b64(randomBytes(32)), iat: now - 60, exp: now + 1740, auth: now - 60, lms: (now - 60) * 1000 };
  const unsigned = `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64(JSON.stringify(claims))}`;
  const signature = createHmac("sha256", JWT_SECRET).update(unsigned).digest("base64url");
  return `__Host-portcullis-session=${unsigned}.${signature}`;
}
const TARGET_RATIO = 0.9;
const BUNDLE_TARGET = 1.5 * 1024 * 1024;
const FREE_PLAN_LIMIT = 3 * 1024 * 1024;

const PEER_SCRIPT = `export default {
  async fetch(req, env) {
    const u = new URL(req.url);
    return fetch(env.ORIGIN_URL + u.pathname + u.search, req);
  },
};`;

async function startOrigin() {
  const child = fork(SELF, ["--origin"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const port = await new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m.port));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`origin exited early (${code})`)));
  });
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill("SIGKILL"), 2000);
    child.once("exit", () => { clearTimeout(t); resolve(); });
    child.send("exit");
  });
  cleanups.push(stop);
  const count = () => new Promise((resolve) => {
    child.once("message", (m) => resolve(m.served));
    child.send("count");
  });
  return { url: `http://127.0.0.1:${port}`, count };
}


// CPU time (user + system, ms) of the workerd processes this process started
// (Miniflare spawns workerd directly): a second, less load-sensitive measure
// than req/s. Linux /proc only; null elsewhere.
const CLK_TCK = (() => {
  try { return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100; } catch { return 100; }
})();
function workerdCpuMs() {
  if (!existsSync("/proc/self/stat")) return null;
  let ticks = 0;
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    let st;
    try { st = readFileSync(`/proc/${d}/stat`, "utf8"); } catch { continue; }
    const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
    if (Number(f[1]) === process.pid && st.slice(st.indexOf("(") + 1, st.lastIndexOf(")")) === "workerd") {
      ticks += Number(f[11]) + Number(f[12]);
    }
  }
  return (ticks * 1000) / CLK_TCK;
}


function parseWrk(out) {
  const num = (re) => { const m = re.exec(out); return m ? Number(m[1]) : 0; };
  const rps = num(/Requests\/sec:\s+([\d.]+)/);
  const pct = (p) => { const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(out); return m ? toMs(m[1]) : NaN; };
  const total = /(\d+) requests in ([\d.]+\w+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps,
    requests: total ? Number(total[1]) : 0,
    p50_ms: pct(50),
    p75_ms: pct(75),
    p90_ms: pct(90),
    p99_ms: pct(99),
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/),
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

function runWrk(url, { threads, connections, duration }, cookie) {
  const args = [
    `-t${threads}`, `-c${connections}`, `-d${duration}s`, "--latency", "--timeout", "5s",
    "-H", `CF-Connecting-IP: ${CLIENT_IP}`, "-H", `Cookie: ${cookie}`,
    "-s", at("bench/cookie-client.lua"), new URL(BENCH_PATH, url).href,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const kill = () => child.kill("SIGKILL");
    cleanups.push(kill);
    const guard = setTimeout(kill, (duration + 30) * 1000);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      cleanups.splice(cleanups.indexOf(kill), 1);
      if (code !== 0) return reject(new Error(`wrk failed (${code ?? signal}): ${err || out}`));
      const r = parseWrk(out);
      if (!r.rps || !r.requests) return reject(new Error(`wrk output not understood:\n${out}`));
      resolve({ ...r, raw: out });
    });
  });
}

const OURS = new Set(["ours", "unmatched", "matched"]);
const APP_KEY = "k".repeat(40);
/** The rate limit rule each of our kinds is given (none for "ours"). */
const RULES = {
  unmatched: { id: "other", match: { path: "/api/*" }, key: "ip", algorithm: "token-bucket", limit: 1_000_000, windowSeconds: 1 },
  matched: { id: "bench", match: { path: "/app/*", methods: ["GET"] }, key: "ip", algorithm: "token-bucket", limit: 1_000_000, windowSeconds: 1 },
};

async function startWorker(kind, originUrl, persistDir) {
  const { Miniflare } = await import("miniflare");
  const common = {
    compatibilityDate: "2026-08-01",
    // Workerd's own stdout/stderr (the Workers' console) to ours.
    handleRuntimeStdio(stdout, stderr) { stdout.pipe(process.stdout); stderr.pipe(process.stderr); },
  };
  const options = OURS.has(kind)
    ? {
      ...common,
      scriptPath: at("crates/edge/build/index.js"),
      modules: true,
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
      bindings: {
        ORIGIN_URL: originUrl,
        APPLICATION_KEY: APP_KEY,
        JWT_SECRET,
        PORTCULLIS_PRESET: "owasp-asvs-l2",
        ...(process.env.PORTCULLIS_CACHE_SECONDS ? { PORTCULLIS_CACHE_SECONDS: process.env.PORTCULLIS_CACHE_SECONDS } : {}),
        // ORIGIN_SECRET=… signs every forwarded request (its cost on the hot path).
        ...(process.env.ORIGIN_SECRET ? { ORIGIN_SECRET: process.env.ORIGIN_SECRET } : {}),
      },
      durableObjects: {
        CONTROL: { className: "Control", useSQLite: true },
        IP_GUARD: { className: "IpGuard", useSQLite: true },
        ACCOUNT: { className: "AccountGuard", useSQLite: true },
        USER: { className: "UserState", useSQLite: true },
        BAN_LOG: { className: "BanLog", useSQLite: true },
        AUDIT_LOG: { className: "AuditLog", useSQLite: true },
        RATE_LIMITER: { className: "RateLimiter", useSQLite: true },
      },
      durableObjectsPersist: persistDir,
    }
    : {
      ...common,
      modules: true,
      script: PEER_SCRIPT,
      bindings: { ORIGIN_URL: originUrl },
    };
  const mf = new Miniflare(options);
  let disposed = false;
  const dispose = async () => { if (!disposed) { disposed = true; await mf.dispose(); } };
  cleanups.push(dispose);
  const url = await mf.ready;
  if (RULES[kind]) {
    const r = await fetch(new URL("/__portcullis/admin/settings", url), {
      method: "PATCH",
      headers: { Authorization: `Bearer ${APP_KEY}`, "content-type": "application/json", "CF-Connecting-IP": "100.64.0.1" },
      body: JSON.stringify({ rateLimits: [RULES[kind]] }),
    });
    if (r.status !== 200) throw new Error(`${kind}: setting the rate limit answered ${r.status}: ${await r.text()}`);
  }
  return {
    url,
    async dispose() { await dispose(); cleanups.splice(cleanups.indexOf(dispose), 1); },
  };
}

const SECURITY_HEADERS = ["x-content-type-options", "content-security-policy"];

// A few requests before measuring: the first one loads our configuration
// snapshot from the Control Durable Object. Checks that the answers are the
// origin's, and (ours) that they went through the checks with the session.
async function warm(kind, url, cookie) {
  let last;
  for (let i = 0; i < 5; i++) {
    const r = await fetch(new URL(BENCH_PATH, url), { headers: { "CF-Connecting-IP": CLIENT_IP, Cookie: cookie } });
    const text = await r.text();
    if (r.status !== 200 || !text.startsWith("hello from the origin")) {
      throw new Error(`${kind}: warm-up request ${i} answered ${r.status}: ${text.slice(0, 300)}`);
    }
    last = r;
  }
  if (kind === "matched" && !last.headers.get("ratelimit")) throw new Error("matched: the answer lacks RateLimit");
  if (kind !== "matched" && last.headers.get("ratelimit")) throw new Error(`${kind}: a rule counted the request`);
  if (OURS.has(kind)) {
    const missing = SECURITY_HEADERS.filter((h) => !last.headers.get(h));
    if (missing.length) throw new Error(`ours: the response lacks ${missing.join(", ")}; it did not go through the checks`);
    if (last.headers.get("x-content-type-options") !== "nosniff") {
      throw new Error(`ours: x-content-type-options is ${last.headers.get("x-content-type-options")}`);
    }
    if (!last.headers.getSetCookie().some((c) => c.startsWith("__Host-portcullis-session="))) {
      throw new Error("ours: the session was not renewed; the request did not take the session path");
    }
  }
  return Object.fromEntries(last.headers);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const mb = (b) => `${(b / 1024 / 1024).toFixed(2)} MB`;

async function main() {
  const load = {
    threads: opt("threads", 2),
    connections: opt("connections", 32),
    duration: opt("duration", 10),
    warmup: opt("warmup", 2),
  };
  for (const f of ["crates/edge/build/index.js", "crates/edge/build/index_bg.wasm"]) {
    if (!existsSync(at(f))) throw new Error(`${f} is missing: build the edge first (bash scripts/build-edge.sh)`);
  }
  const wrk = wrkVersion();
  const machine = {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memory: mb(os.totalmem()),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    miniflare: JSON.parse(readFileSync(at("node_modules/miniflare/package.json"), "utf8")).version,
    wrk,
  };
  console.log("Portcullis edge benchmark: our Worker (Rust/wasm) vs a JS pass-through Worker");
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory}, ${machine.platform}`);
  console.log(`node ${machine.node}, miniflare ${machine.miniflare}, ${machine.wrk}`);
  console.log(`load: wrk -t${load.threads} -c${load.connections} -d${load.duration}s --latency, ` +
    `GET ${BENCH_PATH}, CF-Connecting-IP: ${CLIENT_IP}, a valid session cookie (an HS256 token signed here, kept up to date by bench/cookie-client.lua); ${load.warmup}s unmeasured warm-up per Worker`);
  if (process.env.PORTCULLIS_CACHE_SECONDS) console.log(`PORTCULLIS_CACHE_SECONDS=${process.env.PORTCULLIS_CACHE_SECONDS}`);

  // Bundle size first: it needs no servers.
  const js = readFileSync(at("crates/edge/build/index.js"));
  const wasm = readFileSync(at("crates/edge/build/index_bg.wasm"));
  const gz = (b) => gzipSync(b, { level: 9 }).length;
  const bundle = {
    wasm: { raw: wasm.length, gzip: gz(wasm) },
    js: { raw: js.length, gzip: gz(js) },
  };
  bundle.gzipTotal = bundle.wasm.gzip + bundle.js.gzip;
  bundle.target = BUNDLE_TARGET;
  bundle.freePlanLimit = FREE_PLAN_LIMIT;
  bundle.meetsTarget = bundle.gzipTotal <= BUNDLE_TARGET;

  const origin = await startOrigin();
  console.log(`origin: ${origin.url} (child process, 1,034-byte text body)`);
  const persistRoot = mkdtempSync(path.join(os.tmpdir(), "portcullis-bench-edge-"));
  cleanups.push(() => rmSync(persistRoot, { recursive: true, force: true }));

  const rounds = Math.round(opt("rounds", 3));
  const kinds = process.argv.includes("--rate-limits") ? ["peer", "ours", "unmatched", "matched"] : ["peer", "ours"];
  const order = Array.from({ length: rounds }, () => kinds).flat();
  const runs = [];
  const cookie = sessionCookie();
  let headersSeen;
  console.log("");
  for (const [i, kind] of order.entries()) {
    const round = Math.floor(i / kinds.length) + 1;
    const worker = await startWorker(kind, origin.url, path.join(persistRoot, `run${i}`));
    try {
      const headers = await warm(kind, worker.url, cookie);
      if (kind === "ours") headersSeen ??= headers;
      await runWrk(worker.url, { ...load, duration: load.warmup }, cookie);
      const before = await origin.count();
      const cpu0 = workerdCpuMs();
      const r = await runWrk(worker.url, load, cookie);
      const cpu1 = workerdCpuMs();
      const reached = (await origin.count()) - before;
      const workerdCpuUs = cpu0 === null ? null : ((cpu1 - cpu0) * 1000) / r.requests;
      const failed = r.non2xx + r.socketErrors;
      if (failed > r.requests * 0.01) {
        throw new Error(`${kind}: ${r.non2xx} non-2xx responses and ${r.socketErrors} socket errors out of ${r.requests}:\n${r.raw}`);
      }
      const { raw, ...numbers } = r;
      runs.push({ round, worker: kind, url: worker.url.href, ...numbers, originRequests: reached, workerdCpuUs });
      console.log(`round ${round}  ${kind.padEnd(4)}  ${fmt(r.rps, 0).padStart(7)} req/s  ` +
        `p50 ${r.p50_ms.toFixed(2)} ms  p99 ${r.p99_ms.toFixed(2).padStart(6)} ms  ` +
        (workerdCpuUs === null ? "" : `workerd CPU ${workerdCpuUs.toFixed(0)} us/req  `) +
        `(${fmt(r.requests)} requests, origin saw ${fmt(reached)}, non-2xx ${r.non2xx}, socket errors ${r.socketErrors})`);
    } finally {
      await worker.dispose();
    }
  }

  const summary = {};
  for (const kind of kinds) {
    const rs = runs.filter((r) => r.worker === kind);
    summary[kind] = {
      best_rps: Math.max(...rs.map((r) => r.rps)),
      median_rps: median(rs.map((r) => r.rps)),
      median_p50_ms: median(rs.map((r) => r.p50_ms)),
      median_p99_ms: median(rs.map((r) => r.p99_ms)),
      median_workerd_cpu_us: rs[0].workerdCpuUs === null ? null : median(rs.map((r) => r.workerdCpuUs)),
    };
  }
  const perRound = Array.from({ length: rounds }, (_, i) => i + 1).map((round) => {
    const o = runs.find((r) => r.round === round && r.worker === "ours");
    const p = runs.find((r) => r.round === round && r.worker === "peer");
    return o.rps / p.rps;
  });
  const ratio = {
    best: summary.ours.best_rps / summary.peer.best_rps,
    median: summary.ours.median_rps / summary.peer.median_rps,
    perRound,
  };
  ratio.meetsTarget = ratio.median >= TARGET_RATIO;

  const pc = (x) => `${(x * 100).toFixed(1)}%`;
  const ok = (b) => (b ? "yes" : "NO");
  console.log("");
  console.log("worker      best req/s   median req/s   median p50   median p99   workerd CPU/req");
  for (const kind of kinds) {
    const s = summary[kind];
    console.log(`${kind.padEnd(9)}   ${fmt(s.best_rps).padStart(10)}   ${fmt(s.median_rps).padStart(12)}   ` +
      `${s.median_p50_ms.toFixed(2).padStart(7)} ms   ${s.median_p99_ms.toFixed(2).padStart(7)} ms   ` +
      (s.median_workerd_cpu_us === null ? "n/a" : `${s.median_workerd_cpu_us.toFixed(0).padStart(7)} us`));
  }
  console.log("");
  console.log(`ratio ours/peer: median ${pc(ratio.median)}, best ${pc(ratio.best)}, ` +
    perRound.map((r, i) => `round ${i + 1} ${pc(r)}`).join(", "));
  console.log(`target >= ${pc(TARGET_RATIO)} of the JS pass-through (median): ${ok(ratio.meetsTarget)}`);
  if (summary.ours.median_workerd_cpu_us !== null) {
    ratio.workerdCpu = summary.ours.median_workerd_cpu_us / summary.peer.median_workerd_cpu_us;
    console.log(`workerd CPU per request (all of Miniflare's workerd: entry, outbound and the Worker): ` +
      `ours ${summary.ours.median_workerd_cpu_us.toFixed(0)} us, peer ${summary.peer.median_workerd_cpu_us.toFixed(0)} us ` +
      `(x${ratio.workerdCpu.toFixed(2)}, +${(summary.ours.median_workerd_cpu_us - summary.peer.median_workerd_cpu_us).toFixed(0)} us)`);
  }
  for (const kind of kinds.filter((k) => k === "unmatched" || k === "matched")) {
    const s = summary[kind];
    const vsPeer = s.median_rps / summary.peer.median_rps;
    const vsOurs = s.median_rps / summary.ours.median_rps;
    ratio[kind] = { vsPeer, vsOurs };
    const cpu = s.median_workerd_cpu_us === null ? "" :
      `, workerd CPU ${s.median_workerd_cpu_us >= summary.ours.median_workerd_cpu_us ? "+" : ""}${(s.median_workerd_cpu_us - summary.ours.median_workerd_cpu_us).toFixed(0)} us a request against ours`;
    console.log(`rate limit ${kind === "matched" ? "matched (one rule counting every request)" : "on another path (counting none)"}: ` +
      `median ${pc(vsPeer)} of the peer, ${pc(vsOurs)} of ours without rules${cpu}`);
  }
  console.log("");
  console.log(`bundle gzip -9: index_bg.wasm ${mb(bundle.wasm.gzip)} (raw ${mb(bundle.wasm.raw)}) + ` +
    `index.js ${(bundle.js.gzip / 1024).toFixed(1)} KB (raw ${(bundle.js.raw / 1024).toFixed(1)} KB) = ${mb(bundle.gzipTotal)}`);
  console.log(`target <= 1.50 MB: ${ok(bundle.meetsTarget)}; ` +
    `Workers free-plan limit 3 MB: ${ok(bundle.gzipTotal <= FREE_PLAN_LIMIT)} ` +
    `(${pc(bundle.gzipTotal / FREE_PLAN_LIMIT)} of it)`);

  const results = {
    date: new Date().toISOString(),
    machine,
    load: { ...load, path: BENCH_PATH, clientIp: CLIENT_IP, order },
    cacheSeconds: process.env.PORTCULLIS_CACHE_SECONDS ?? "default (5)",
    runs,
    summary,
    ratio: { ...ratio, target: TARGET_RATIO },
    bundle,
    oursSecurityHeaders: Object.fromEntries(
      Object.entries(headersSeen ?? {}).filter(([k]) => !["date", "content-length", "content-type"].includes(k)),
    ),
  };
  mkdirSync(at("bench/results"), { recursive: true });
  writeFileSync(at("bench/results/edge.json"), JSON.stringify(results, null, 2) + "\n");
  console.log("\nwritten: bench/results/edge.json");
}

if (process.argv[2] !== "--origin") {
  await main().catch((e) => {
    console.error(`bench/edge: ${e?.stack ?? e}`);
    process.exitCode = 1;
  }).finally(cleanup);
}
