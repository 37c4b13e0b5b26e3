// CAPTCHA at the edge, verified against a loopback server that answers like
// the providers' siteverify endpoints; and the change-password check.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { PASSWORD, postLogin, signIn, startEdge, startOrigin } from "./support/edge.js";

const CAPTCHA_SECRET = "captcha-secret-for-tests";
let verifier;
const calls = [];
let origin;
let edge;

function startVerifier() {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const form = new URLSearchParams(body);
      calls.push(Object.fromEntries(form));
      const token = form.get("response");
      const answer = (json) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      if (token === "slow") {
        setTimeout(() => answer({ success: true }), 2500);
      } else if (token === "down") {
        res.writeHead(500).end();
      } else if (form.get("secret") !== CAPTCHA_SECRET) {
        answer({ success: false, "error-codes": ["invalid-input-secret"] });
      } else {
        answer({ success: token === "good", hostname: "portcullis.test" });
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const policy = (port, extra = {}) => ({
  captcha: {
    enabled: true,
    provider: "turnstile",
    siteKey: "site-key",
    verifyUrl: `http://127.0.0.1:${port}/siteverify`,
    pages: ["signup", "login"],
    afterFailedLogins: 2,
    verifyTimeoutSeconds: 1,
    logResults: true,
    ...extra,
  },
  bans: { warningsBeforeBan: 1000 },
  passwords: { minLength: 10 },
});

before(async () => {
  verifier = await startVerifier();
  origin = await startOrigin({ users: { "new-quinn": { createdAgo: 0 }, "staff-ruth": { roles: ["staff"], createdAgo: 0 } } });
  edge = await startEdge({ origin, policy: policy(verifier.address().port), bindings: { CAPTCHA_SECRET } });
});
after(async () => {
  await edge?.dispose();
  await origin?.close();
  await new Promise((resolve) => { verifier.closeAllConnections(); verifier.close(resolve); });
});

let n = 1;
const ip = () => `198.18.9.${n++}`;

/** POSTs a urlencoded form with the session and its XSRF token. */
const postAs = (s, path, fields) =>
  edge.request(path, {
    ip: ip(),
    method: "POST",
    body: new URLSearchParams({ ...fields, _xsrf: s.xsrf }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", Cookie: s.cookie },
  });
const signup = (token, extra = {}) =>
  edge.request("/signup", {
    ip: ip(),
    method: "POST",
    body: new URLSearchParams({ username: "newbie", email: "n@example.com", password: "vQ3#nT8!zKp2@wLm", "cf-turnstile-response": token, ...extra }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });

describe("CAPTCHA", () => {
  test("the public policy names the provider and site key, never the secret", async () => {
    const text = await (await edge.request("/__portcullis/policy")).text();
    assert.ok(!text.includes(CAPTCHA_SECRET));
    const doc = JSON.parse(text);
    assert.deepEqual(doc.captcha, { enabled: true, provider: "turnstile", siteKey: "site-key", pages: ["signup", "login"] });
  });

  test("a solved CAPTCHA passes to the origin; the verifier got the secret and the client IP", async () => {
    const before = origin.seen.length;
    const r = await signup("good");
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    assert.equal(origin.seen.length, before + 1);
    const call = calls.at(-1);
    assert.equal(call.secret, CAPTCHA_SECRET);
    assert.equal(call.response, "good");
    assert.match(call.remoteip, /^198\.18\.9\./);
  });

  test("missing or wrong tokens are refused before the origin, as warnings", async () => {
    const before = origin.seen.length;
    for (const token of ["", "bad"]) {
      const r = await signup(token);
      assert.equal(r.status, 403);
      const body = await r.json();
      assert.equal(body.error, "captcha_failed");
      assert.equal(body.reason, "not_solved");
    }
    assert.equal(origin.seen.length, before);
  });

  test("an unreachable or slow provider fails closed with 503, not counted", async () => {
    for (const token of ["down", "slow"]) {
      const r = await signup(token);
      assert.equal(r.status, 503, token);
      assert.equal((await r.json()).error, "captcha_unavailable");
    }
    const audit = await (await edge.admin("/audit")).json();
    const results = audit.entries.filter((e) => e.kind === "captcha").map((e) => e.detail.result);
    assert.ok(results.includes("unavailable") && results.includes("pass") && results.includes("not_solved"));
  });

  test("on the login page the CAPTCHA is asked only after N failed logins", async () => {
    const login = (password, token) =>
      edge.request("/login", {
        ip: ip(),
        method: "POST",
        body: new URLSearchParams({ username: "olga", password, ...(token ? { "cf-turnstile-response": token } : {}) }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
    for (let i = 0; i < 2; i++) {
      const r = await login("wrong");
      assert.equal(r.status, 401, "no CAPTCHA before two failures");
      await r.arrayBuffer();
    }
    let r = await login(PASSWORD);
    assert.equal(r.status, 403, "now the CAPTCHA is required");
    await r.arrayBuffer();
    r = await login(PASSWORD, "good");
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  });
});

describe("fail open", () => {
  test("when configured, an unreachable provider lets the form through", async () => {
    const o = await startOrigin();
    const e = await startEdge({ origin: o, policy: policy(verifier.address().port, { failOpen: true }), bindings: { CAPTCHA_SECRET } });
    try {
      const r = await e.request("/signup", {
        ip: "198.18.10.1",
        method: "POST",
        body: new URLSearchParams({ username: "x", email: "x@example.com", password: "vQ3#nT8!zKp2@wLm", "cf-turnstile-response": "down" }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    } finally {
      await e.dispose();
      await o.close();
    }
  });
});

describe("change password", () => {
  test("a new password failing the policy is refused with 422 before the origin", async () => {
    const before = origin.seen.length;
    const r = await edge.request("/account/password", {
      ip: ip(),
      method: "POST",
      body: new URLSearchParams({ password: "old", new_password: "short" }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    // No session: the protected path answers first.
    assert.equal(r.status, 401);
    await r.arrayBuffer();
    const s = await signIn(edge, ip(), "pat");
    const weak = await postAs(s, "/account/password", { password: PASSWORD, new_password: "short" });
    assert.equal(weak.status, 422);
    const body = await weak.json();
    assert.equal(body.error, "password_rejected");
    assert.ok(body.rules.includes("minLength"));
    const seenBefore = origin.seen.length;
    const strong = await postAs(s, "/account/password", { password: PASSWORD, new_password: "vQ3#nT8!zKp2@wLm" });
    assert.equal(strong.status, 200);
    await strong.arrayBuffer();
    assert.equal(origin.seen.length, seenBefore + 1);
    assert.ok(before <= seenBefore);
  });
});

describe("probation", () => {
  test("an account on probation solves the CAPTCHA on limited actions; others do not", async () => {
    const patch = await edge.admin("/settings", { method: "PATCH", body: JSON.stringify({ probation: { enabled: true } }) });
    assert.equal(patch.status, 200);
    await patch.arrayBuffer();
    const post = async (username, token) =>
      postAs(await signIn(edge, ip(), username), "/community/threads", { title: "Hello", ...(token ? { "cf-turnstile-response": token } : {}) });
    const unsolved = await post("new-quinn", null);
    assert.equal(unsolved.status, 403);
    assert.equal((await unsolved.json()).error, "captcha_failed");
    const solved = await post("new-quinn", "good");
    assert.equal(solved.status, 200);
    await solved.arrayBuffer();
    const staff = await post("staff-ruth", null);
    assert.equal(staff.status, 200, "staff are not on probation");
    await staff.arrayBuffer();
  });
});
