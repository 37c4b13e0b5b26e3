// Decision logs on workerd: every refusal and every decision the audit log
// records (a warning, a ban, a lockout, a rate-limit refusal, a rotation, a
// monitor-mode "would refuse") is one structured JSON line in the Worker's
// output, and no secret, password or token appears in any of them.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { APP_KEY, JWT_SECRET, XSRF_SALT, adminJson, postLogin, signIn, startEdge, startOrigin } from "./support/edge.js";

const PASSWORD_TRIED = "a-wrong-password-that-must-never-be-logged";
let origin;
let edge;
before(async () => {
  origin = await startOrigin();
  edge = await startEdge({
    origin,
    policy: {
      bans: { warningsBeforeBan: 3 },
      login: { maxFailedAttempts: 2 },
      rateLimits: [
        { id: "hard", match: { path: "/hard" }, key: "ip", algorithm: "token-bucket", limit: 1, windowSeconds: 600 },
        { id: "soft", match: { path: "/soft" }, key: "ip", algorithm: "token-bucket", limit: 1, windowSeconds: 600, mode: "monitor" },
      ],
    },
  });
});
after(async () => {
  await edge?.dispose();
  await origin?.close();
});

/** The structured lines the Worker printed so far. */
function lines() {
  return edge.logs
    .join("")
    .split("\n")
    .map((l) => l.slice(l.indexOf("{")))
    .filter((l) => l.startsWith('{"') && l.includes('"portcullis"'))
    .map((l) => JSON.parse(l));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test("refusals and decisions are structured lines; no secret appears", async () => {
  const session = await signIn(edge, "198.18.90.1", "lena");
  for (let i = 0; i < 3; i++) (await postLogin(edge, "198.18.90.2", "lena", PASSWORD_TRIED)).arrayBuffer();
  for (const path of ["/hard", "/hard", "/soft", "/soft"]) (await edge.request(path, { ip: "198.18.90.3" })).arrayBuffer();
  assert.equal((await adminJson(edge, "/secrets/jwtSecret", { method: "POST" })).status, 200);
  // The admin read hands every shard's items over (and they are logged as appended).
  await adminJson(edge, "/audit");
  await sleep(300);
  const all = lines();
  const refusals = new Set(all.filter((l) => l.portcullis === "refusal").map((l) => l.code));
  for (const code of ["account_locked", "rate_limited"]) assert.ok(refusals.has(code), `refusal ${code}: ${[...refusals]}`);
  const decisions = new Set(all.filter((l) => l.portcullis === "decision").map((l) => l.kind));
  for (const kind of ["warning", "accountLocked", "rateLimited", "secretRotated", "wouldRefuse", "banned"]) {
    assert.ok(decisions.has(kind), `decision ${kind}: ${[...decisions]}`);
  }
  const refusal = all.find((l) => l.portcullis === "refusal" && l.code === "rate_limited");
  assert.deepEqual(Object.keys(refusal).sort(), ["code", "ip", "method", "path", "portcullis", "status", "warning"]);
  assert.equal(refusal.ip, "198.18.90.3");
  assert.equal(refusal.path, "/hard");
  const text = edge.logs.join("");
  for (const secret of [APP_KEY, JWT_SECRET, XSRF_SALT, PASSWORD_TRIED, session.token, session.xsrf]) {
    assert.ok(!text.includes(secret), "a secret, a password or a token appeared in the Worker's output");
  }
});
