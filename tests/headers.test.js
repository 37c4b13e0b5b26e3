// The edge's security headers beside the origin's own, on workerd in front
// of a real HTTP server on loopback, and in headless Chromium: by default
// the origin's CSP is kept beside the edge's (both enforced) and the edge's
// takes the origin's nonce, so a nonce-based inline script still runs while
// an inline script without it, and a fetch the edge's CSP forbids, are
// blocked; `set` replaces the origin's CSP (its script then blocked),
// `keep` leaves the origin's alone; other headers can keep the origin's
// value or be switched off; an unknown header name is refused.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { launchBrowser, openPage } from "./support/browser.js";
import { adminJson, startEdge } from "./support/edge.js";

/** The application: /nonce is a page with a nonce-based CSP, /headers sends its own security headers, anything else none. */
function startApplication() {
  const server = createServer((req, res) => {
    if (req.url === "/nonce") {
      const nonce = randomBytes(16).toString("base64");
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": `script-src 'nonce-${nonce}' 'strict-dynamic'; object-src 'none'; base-uri 'none'`,
      });
      res.end(`<!doctype html><title>nonce</title>
<p id="ok">no</p><p id="bad">no</p><p id="fetched">no</p>
<script nonce="${nonce}">
  const seen = [];
  document.addEventListener("securitypolicyviolation", (e) => seen.push(e.effectiveDirective + " " + (e.originalPolicy.includes("wasm-unsafe-eval") ? "edge" : "origin")));
  window.violations = seen;
  document.getElementById("ok").textContent = "ran";
  fetch("http://198.18.0.1:9/").then(() => { document.getElementById("fetched").textContent = "yes"; }, () => {});
</script>
<script>document.getElementById("bad").textContent = "ran";</script>`);
      return;
    }
    const headers = { "content-type": "text/plain" };
    if (req.url === "/headers") {
      Object.assign(headers, {
        "content-security-policy": "img-src 'self'",
        "referrer-policy": "origin",
        "x-frame-options": "DENY",
      });
    }
    res.writeHead(200, headers);
    res.end("hello");
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }),
      })));
}

let origin;
let edge;
let browser;
before(async () => {
  origin = await startApplication();
  // A rate limit rule on the nonce page: its RateLimit headers are added
  // after the answer was secured, which must not add the edge's CSP twice.
  const rateLimits = [{ id: "pages", match: { path: "/nonce" }, key: "ip", algorithm: "token-bucket", limit: 1000, windowSeconds: 60, action: "deny" }];
  edge = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 1000 }, rateLimits } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await edge?.dispose();
  await origin?.close();
});

async function setHeaders(headers) {
  const { status, body } = await adminJson(edge, "/settings", { method: "PATCH", body: JSON.stringify({ responses: { headers } }) });
  assert.equal(status, 200, JSON.stringify(body));
}

/** What the nonce page did in Chromium through the edge. */
async function nonceOutcome() {
  const { page } = await openPage(browser, new URL("/nonce", edge.url).href);
  await page.waitForFunction(() => window.violations === undefined || document.readyState === "complete");
  // The fetch's violation is reported asynchronously.
  await page.waitForTimeout(300);
  const outcome = await page.evaluate(() => ({
    ok: document.getElementById("ok").textContent,
    bad: document.getElementById("bad").textContent,
    violations: window.violations ?? [],
  }));
  await page.close();
  return outcome;
}

describe("the CSP, merged by default", () => {
  test("both policies reach the client, the edge's with the origin's nonce", async () => {
    const r = await edge.request("/nonce", { ip: "198.18.96.1" });
    await r.arrayBuffer();
    assert.ok(r.headers.get("ratelimit"), "the rule counted the page");
    const policies = r.headers.get("content-security-policy").split(", ");
    assert.equal(policies.length, 2, `the origin's and the edge's, once each: ${policies.join(" | ")}`);
    const [theirs, ours] = policies;
    assert.match(theirs, /^script-src 'nonce-([A-Za-z0-9+/=]+)' 'strict-dynamic'; object-src 'none'/);
    const nonce = theirs.match(/'nonce-[^']+'/)[0];
    assert.match(ours, new RegExp(`script-src-elem 'self' 'wasm-unsafe-eval' ${nonce.replace(/[+/]/g, "\\$&")}(;|$)`));
    assert.match(ours, /script-src 'self' 'wasm-unsafe-eval'; /, "the edge's script-src itself is unchanged");
    assert.match(ours, /default-src 'self'/);
    assert.doesNotMatch(ours, /strict-dynamic/, "only nonces and hashes are taken from the origin");
  });

  test("in Chromium the nonce-based inline script runs; the others are blocked by both policies", async () => {
    const outcome = await nonceOutcome();
    assert.equal(outcome.ok, "ran", "the origin's nonce-based script");
    assert.equal(outcome.bad, "no", "an inline script without the nonce");
    assert.ok(outcome.violations.includes("script-src-elem edge"), JSON.stringify(outcome.violations));
    assert.ok(outcome.violations.includes("script-src-elem origin"), JSON.stringify(outcome.violations));
    assert.ok(outcome.violations.includes("connect-src edge"), `the edge's connect-src is enforced too: ${JSON.stringify(outcome.violations)}`);
  });

  test("set: the edge's CSP replaces the origin's, and the nonce-based script is blocked", async () => {
    await setHeaders({ "Content-Security-Policy": "set" });
    const r = await edge.request("/nonce", { ip: "198.18.96.2" });
    await r.arrayBuffer();
    assert.doesNotMatch(r.headers.get("content-security-policy"), /nonce|strict-dynamic/);
    const outcome = await nonceOutcome();
    assert.equal(outcome.ok, "no");
  });

  test("keep: the origin's CSP alone, when it sent one; the edge's otherwise", async () => {
    await setHeaders({ "Content-Security-Policy": "keep" });
    let r = await edge.request("/nonce", { ip: "198.18.96.3" });
    await r.arrayBuffer();
    assert.match(r.headers.get("content-security-policy"), /^script-src 'nonce-[^']+' 'strict-dynamic'; object-src 'none'; base-uri 'none'$/);
    const outcome = await nonceOutcome();
    assert.equal(outcome.ok, "ran");
    assert.equal(outcome.bad, "no");
    assert.ok(!outcome.violations.some((v) => v.endsWith(" edge")), JSON.stringify(outcome.violations));
    r = await edge.request("/plain", { ip: "198.18.96.3" });
    await r.arrayBuffer();
    assert.match(r.headers.get("content-security-policy"), /^default-src 'self'/);
  });
});

describe("other headers", () => {
  test("set (the default) replaces the origin's value", async () => {
    await setHeaders(null);
    const r = await edge.request("/headers", { ip: "198.18.96.4" });
    await r.arrayBuffer();
    assert.equal(r.headers.get("referrer-policy"), "no-referrer");
    assert.equal(r.headers.get("x-frame-options"), "SAMEORIGIN");
    assert.match(r.headers.get("content-security-policy"), /^img-src 'self', default-src 'self'/, "the origin's CSP first, the edge's beside it");
  });

  test("keep leaves the origin's value and fills in where it sent none; off never sends the edge's", async () => {
    await setHeaders({ "referrer-policy": "keep", "X-Frame-Options": "off" });
    let r = await edge.request("/headers", { ip: "198.18.96.5" });
    await r.arrayBuffer();
    assert.equal(r.headers.get("referrer-policy"), "origin");
    assert.equal(r.headers.get("x-frame-options"), "DENY", "the origin's passes when the edge's is off");
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    r = await edge.request("/plain", { ip: "198.18.96.5" });
    await r.arrayBuffer();
    assert.equal(r.headers.get("referrer-policy"), "no-referrer");
    assert.equal(r.headers.get("x-frame-options"), null);
    // The edge's own answers follow the same settings.
    r = await edge.request("/__portcullis/nope", { ip: "198.18.96.5" });
    await r.arrayBuffer();
    assert.equal(r.headers.get("x-frame-options"), null);
    assert.equal(r.headers.get("referrer-policy"), "no-referrer");
  });

  test("an unknown header, or merge for another header, is refused naming the field; nothing changes", async () => {
    for (const [headers, field] of [
      [{ "X-Powered-By": "off" }, "responses.headers.X-Powered-By"],
      [{ "Referrer-Policy": "merge" }, "responses.headers.Referrer-Policy"],
    ]) {
      const { status, body } = await adminJson(edge, "/settings", { method: "PATCH", body: JSON.stringify({ responses: { headers } }) });
      assert.equal(status, 422, JSON.stringify(body));
      assert.equal(body.field, field);
    }
    const r = await edge.request("/headers", { ip: "198.18.96.6" });
    await r.arrayBuffer();
    assert.equal(r.headers.get("referrer-policy"), "origin", "the last good settings hold");
    await setHeaders(null);
  });
});
