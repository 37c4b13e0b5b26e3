// Breached passwords at the edge, on workerd, against a loopback range
// server that answers like Have I Been Pwned's `range/{prefix}` and
// records every request: only five-hex-digit prefixes ever leave the edge,
// always with `Add-Padding: true`. Signup, change password and reset are
// checked; a range server that is down or slow refuses with 503 unless
// `failOpen`; ranges are cached per isolate.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { PASSWORD, adminJson, signIn, startEdge, startOrigin } from "./support/edge.js";

const BREACHED = "Correct-Horse-Battery-1999";
const CLEAN = "Quiet-harbor-lantern-81";
const sha1 = (text) => createHash("sha1").update(text).digest("hex").toUpperCase();

let ranges;
const asked = [];
let slow = false;
let origin;
let edge;

/** A padded range for `prefix`: 300 entries, the breached password's among them. */
function range(prefix) {
  const lines = [];
  for (let i = 0; i < 300; i++) lines.push(`${createHash("sha1").update(`${prefix}${i}`).digest("hex").toUpperCase().slice(5)}:${i % 3 === 0 ? 0 : i}`);
  const hash = sha1(BREACHED);
  if (hash.startsWith(prefix)) lines.push(`${hash.slice(5)}:12345`);
  return lines.join("\r\n");
}

function startRanges() {
  const server = createServer((req, res) => {
    asked.push({ url: req.url, padding: req.headers["add-padding"], method: req.method });
    const prefix = req.url.replace(/^\/range\//, "");
    if (slow) {
      setTimeout(() => res.writeHead(200).end(range(prefix)), 2500);
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" }).end(range(prefix));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const breached = (extra = {}) => ({
  passwords: { minLength: 10, breached: { enabled: true, rangeUrl: `http://127.0.0.1:${ranges.address().port}/range/`, timeoutSeconds: 1, ...extra } },
});

before(async () => {
  ranges = await startRanges();
  origin = await startOrigin({ users: { "breach-bea": {}, "breach-ben": {} } });
  edge = await startEdge({ origin, policy: { ...breached(), bans: { warningsBeforeBan: 1000 } } });
});
after(async () => {
  await edge?.dispose();
  await origin?.close();
  await new Promise((resolve) => {
    ranges.closeAllConnections();
    ranges.close(resolve);
  });
});

let n = 1;
const ip = () => `198.18.12.${n++}`;
const FORM = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };

async function signup(password, headers = {}) {
  const r = await edge.request("/signup", {
    ip: ip(),
    method: "POST",
    body: new URLSearchParams({ username: `user${n}`, email: `user${n}@example.com`, password }).toString(),
    headers: { ...FORM, ...headers },
  });
  return { status: r.status, body: r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text() };
}

async function setBreached(extra) {
  const r = await edge.admin("/settings", { method: "PATCH", body: JSON.stringify(breached(extra)) });
  assert.equal(r.status, 200, await r.text());
}

describe("breached passwords", () => {
  test("a breached password is refused at signup with its count, in English and Czech; a clean one passes", async () => {
    const before = asked.length;
    const refused = await signup(BREACHED);
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.error, "password_rejected");
    assert.deepEqual(refused.body.rules, ["breached"]);
    assert.equal(refused.body.count, 12345);
    assert.match(refused.body.message, /12345 times in known data breaches/);
    const czech = await signup(BREACHED, { "accept-language": "cs" });
    assert.match(czech.body.message, /objevilo 12345krát/);
    const clean = await signup(CLEAN);
    assert.equal(clean.status, 200, JSON.stringify(clean.body));
    // Two prefixes asked for; the second refusal came from the cache.
    const mine = asked.slice(before);
    assert.deepEqual(mine.map((a) => a.url).sort(), [`/range/${sha1(BREACHED).slice(0, 5)}`, `/range/${sha1(CLEAN).slice(0, 5)}`].sort());
  });

  test("only five-hex-digit prefixes ever left the edge, each with Add-Padding", () => {
    assert.ok(asked.length > 0);
    for (const { url, padding, method } of asked) {
      assert.match(url, /^\/range\/[0-9A-F]{5}$/, url);
      assert.equal(padding, "true");
      assert.equal(method, "GET");
      for (const secret of [BREACHED, CLEAN, sha1(BREACHED).slice(5), sha1(CLEAN).slice(5)]) assert.ok(!url.includes(secret));
    }
  });

  test("a change of password and a reset are checked too", async () => {
    const from = ip();
    const s = await signIn(edge, from, "breach-bea");
    const change = await edge.request("/account/password", {
      ip: from,
      method: "POST",
      body: new URLSearchParams({ password: PASSWORD, new_password: BREACHED, _xsrf: s.xsrf }).toString(),
      headers: { ...FORM, Cookie: s.cookie },
    });
    assert.equal(change.status, 422);
    assert.deepEqual((await change.json()).rules, ["breached"]);
    const token = (await adminJson(edge, "/reset-tokens", { method: "POST", body: JSON.stringify({ user: "u-breach-ben", purpose: "selfService" }) })).body.token;
    const reset = await edge.request("/reset", {
      ip: ip(),
      method: "POST",
      body: new URLSearchParams({ token, new_password: BREACHED }).toString(),
      headers: FORM,
    });
    assert.equal(reset.status, 422);
    assert.deepEqual((await reset.json()).rules, ["breached"]);
  });

  test("a range server that is down or slow refuses with 503 breach_check_unavailable, unless failOpen", async () => {
    const fresh = "Unseen-prefix-pelican-" + Date.now();
    slow = true;
    try {
      const refused = await signup(fresh);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error, "breach_check_unavailable");
      await setBreached({ failOpen: true });
      const open = await signup(fresh + "x");
      assert.equal(open.status, 200, JSON.stringify(open.body));
    } finally {
      slow = false;
    }
    // Down: nothing listens on the port.
    const closed = createServer();
    await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = closed.address().port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await edge.admin("/settings", { method: "PATCH", body: JSON.stringify({ passwords: { breached: { enabled: true, failOpen: false, rangeUrl: `http://127.0.0.1:${port}/range/` } } }) });
    assert.equal(r.status, 200);
    const down = await signup(fresh + "y");
    assert.equal(down.status, 503);
    assert.equal(down.body.error, "breach_check_unavailable");
  });

  test("the public policy says the check is on; a bad setting names its field", async () => {
    const policy = await (await edge.request("/__portcullis/policy", { ip: ip() })).json();
    assert.equal(policy.passwords.breached.enabled, true);
    for (const [breached, field] of [
      [{ minCount: 0 }, "passwords.breached.minCount"],
      [{ rangeUrl: "http://api.example/range/" }, "passwords.breached.rangeUrl"],
      [{ timeoutSeconds: 0 }, "passwords.breached.timeoutSeconds"],
    ]) {
      const r = await edge.admin("/settings", { method: "PATCH", body: JSON.stringify({ passwords: { breached } }) });
      assert.equal(r.status, 422, JSON.stringify(breached));
      assert.match(await r.text(), new RegExp(field.replace(/\./g, "\\.")));
    }
  });
});
