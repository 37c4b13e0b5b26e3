// Monitor mode on workerd: with `mode: "monitor"` bans, the lockout, the
// CAPTCHA, the upload rules, the edge's password rules and a rate limit
// let the request pass, and the audit log says what would have happened
// (`wouldRefuse`, with the code), counting no warning; the hardening
// refusals and the edge's own routes are never monitor-only. CSP in
// report-only mode, and its report endpoint: size cap, rate limit, audit
// without warnings.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { adminJson, postLogin, startEdge, startOrigin } from "./support/edge.js";

let origin;
let edge;
before(async () => {
  origin = await startOrigin();
  edge = await startEdge({
    origin,
    bindings: { CAPTCHA_SECRET: "monitor-captcha-secret" },
    policy: {
      bans: { mode: "monitor", warningsBeforeBan: 2 },
      login: { mode: "monitor", maxFailedAttempts: 2 },
      // The provider is unreachable: enforced, every signup would be 503.
      captcha: { mode: "monitor", enabled: true, provider: "turnstile", siteKey: "k", verifyUrl: "http://127.0.0.1:9/siteverify", pages: ["signup"], verifyTimeoutSeconds: 1 },
      uploads: { mode: "monitor", paths: ["/upload"] },
      passwords: { mode: "monitor", minLength: 12 },
      responses: { cspReportOnly: true },
      rateLimits: [{ id: "watch", match: { path: "/watched" }, key: "ip", algorithm: "sliding-window", limit: 1, windowSeconds: 600, mode: "monitor" }],
    },
  });
});
after(async () => {
  await edge?.dispose();
  await origin?.close();
});

async function would(feature) {
  const { body } = await adminJson(edge, "/audit?kind=wouldRefuse&limit=500");
  return body.entries.filter((e) => e.detail.feature === feature);
}

const form = (fields) => ({
  method: "POST",
  body: new URLSearchParams(fields).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded" },
});

test("a banned address passes in monitor mode, audited; the admin API still refuses it", async () => {
  const r = await adminJson(edge, "/bans", { method: "POST", body: JSON.stringify({ target: "198.18.70.1", seconds: 600 }) });
  assert.equal(r.status, 201);
  const page = await edge.request("/anything", { ip: "198.18.70.1" });
  assert.equal(page.status, 200);
  await page.arrayBuffer();
  const [entry] = await would("bans");
  assert.equal(entry.detail.wouldRefuse, "banned");
  assert.equal(entry.detail.status, 403);
  assert.equal(entry.ip, "198.18.70.1");
  const admin = await edge.request("/__portcullis/admin/settings", { ip: "198.18.70.1" });
  assert.equal(admin.status, 403, "the edge's own routes are never monitor-only");
  await admin.arrayBuffer();
});

test("a locked account's login reaches the origin in monitor mode", async () => {
  for (let i = 0; i < 2; i++) (await postLogin(edge, "198.18.70.2", "mona", "wrong")).arrayBuffer();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const r = await postLogin(edge, "198.18.70.2", "mona", "wrong");
  assert.equal(r.status, 401, "the origin's own answer, not 423");
  await r.arrayBuffer();
  const entries = await would("lockout");
  assert.ok(entries.some((e) => e.detail.wouldRefuse === "account_locked"), JSON.stringify(entries));
});

test("uploads, the password rules and the CAPTCHA pass in monitor mode, audited", async () => {
  const boundary = "----monitor";
  const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="tool.exe"\r\nContent-Type: application/octet-stream\r\n\r\nMZ\r\n--${boundary}--\r\n`;
  const up = await edge.request("/upload", { ip: "198.18.70.3", method: "POST", body, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } });
  assert.equal(up.status, 200);
  await up.arrayBuffer();
  assert.equal((await would("uploads"))[0].detail.wouldRefuse, "upload_type_not_allowed");

  const signup = await edge.request("/signup", { ip: "198.18.70.4", ...form({ username: "sam", email: "sam@example.com", password: "short1" }) });
  assert.equal(signup.status, 200, "the origin's answer");
  await signup.arrayBuffer();
  const [rejected] = await would("passwords");
  assert.equal(rejected.detail.wouldRefuse, "password_rejected");
  assert.ok(rejected.detail.answer.rules.length >= 1, "which rules failed");
  assert.ok(!JSON.stringify(rejected).includes("short1"), "never the password");
  assert.ok((await would("captcha")).length >= 1);
});

test("a monitored rate limit lets the request over the limit pass, audited", async () => {
  for (const expected of [200, 200]) {
    const r = await edge.request("/watched", { ip: "198.18.70.5" });
    assert.equal(r.status, expected);
    await r.arrayBuffer();
  }
  const [entry] = await would("rateLimits");
  assert.equal(entry.detail.wouldRefuse, "rate_limited");
  assert.equal(entry.detail.answer.rule, "watch");
});

test("the hardening refusals are never monitor-only", async () => {
  const r = await edge.request("/login", { ip: "198.18.70.6", method: "POST", body: "username=a&password=b&password=c", headers: { "content-type": "application/x-www-form-urlencoded" } });
  assert.equal((await r.json()).error, "duplicate_field");
  const cross = await edge.request("/login", { ip: "198.18.70.6", ...form({ username: "a", password: "b" }), headers: { "content-type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site" } });
  assert.equal((await cross.json()).error, "cross_site");
});

test("CSP report-only: the header names the report endpoint, which caps, limits and audits reports without warnings", async () => {
  const page = await edge.request("/", { ip: "198.18.70.7" });
  await page.arrayBuffer();
  assert.equal(page.headers.get("content-security-policy"), "frame-ancestors 'self'", "only framing is enforced");
  assert.match(page.headers.get("content-security-policy-report-only"), /report-uri \/__portcullis\/csp-report/);
  const report = JSON.stringify({ "csp-report": { "document-uri": "https://site.example/reset?token=secret-reset-token", "violated-directive": "script-src", "blocked-uri": "https://evil.example/x.js?q=1" } });
  const send = (body, ip = "198.18.70.8") => edge.request("/__portcullis/csp-report", { ip, method: "POST", body, headers: { "content-type": "application/csp-report" } });
  let r = await send(report);
  assert.equal(r.status, 202);
  await r.arrayBuffer();
  const { body } = await adminJson(edge, "/audit?kind=cspReport");
  assert.deepEqual(body.entries[0].detail.violations[0], { directive: "script-src", disposition: "", blocked: "https://evil.example", document: "https://site.example/reset" });
  assert.ok(!JSON.stringify(body).includes("secret-reset-token"), "no query kept");
  r = await send("x".repeat(17 * 1024));
  assert.equal(r.status, 413);
  await r.arrayBuffer();
  // Malformed reports are refused but never count toward a ban (2 warnings would ban here).
  for (let i = 0; i < 3; i++) {
    r = await send("not json", "198.18.70.9");
    assert.equal(r.status, 400);
    await r.arrayBuffer();
  }
  const clients = await adminJson(edge, "/audit?kind=warning&ip=198.18.70.9");
  assert.equal(clients.body.entries.length, 0, "no warning");
  r = await edge.request("/__portcullis/csp-report", { ip: "198.18.70.8" });
  assert.equal(r.status, 405);
  await r.arrayBuffer();
  const statuses = [];
  for (let i = 0; i < 25; i++) {
    r = await send(report, "198.18.70.10");
    statuses.push(r.status);
    await r.arrayBuffer();
  }
  assert.equal(statuses.filter((s) => s === 202).length, 20, "20 a minute per client");
  assert.equal(statuses.at(-1), 429);
});
