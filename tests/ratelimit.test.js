// Rate limits by any key on workerd: for each algorithm, the limit is exact
// under parallel requests from several client addresses, the RateLimit
// headers follow draft-ietf-httpapi-ratelimit-headers-11, keys by address,
// header, cookie, query and user each count apart, a request without the
// key counts in one shared bucket, and every refusal is audited with the
// key's hash, never its value. A `captcha` rule lets a form post with a
// solved CAPTCHA (a loopback verifier) through and denies the rest.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { adminJson, signIn, startEdge, startOrigin } from "./support/edge.js";

const ALGORITHMS = { sw: "sliding-window", tb: "token-bucket" };
const KEYS = { ip: "ip", header: "header:X-API-Key", cookie: "cookie:team", query: "query:api_key", user: "user" };
const LIMIT = 5;
const WINDOW = 600;

/** One rule per algorithm and key, on `/api/<alg>/<key>/*` (user: under /app/). */
function rules() {
  const out = [];
  for (const [a, algorithm] of Object.entries(ALGORITHMS)) {
    for (const [k, key] of Object.entries(KEYS)) {
      const base = k === "user" ? "/app" : "/api";
      out.push({ id: `${k}-${a}`, match: { path: `${base}/${a}/${k}/*`, methods: ["GET", "POST"] }, key, algorithm, limit: LIMIT, windowSeconds: WINDOW });
    }
  }
  return out;
}

const CAPTCHA_SECRET = "rate-limit-captcha-secret";
let origin;
let edge;
let verifier;
before(async () => {
  verifier = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const form = new URLSearchParams(body);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ success: form.get("response") === "good" && form.get("secret") === CAPTCHA_SECRET }));
    });
  });
  await new Promise((resolve) => verifier.listen(0, "127.0.0.1", resolve));
  origin = await startOrigin();
  const captchaRule = { id: "forms", match: { path: "/forms/*" }, key: "ip", algorithm: "sliding-window", limit: 1, windowSeconds: WINDOW, action: "captcha" };
  // Behind the CAPTCHA rule, on /forms/order, a deny rule by account header.
  const accountRule = { id: "accounts", match: { path: "/forms/order" }, key: "header:X-Account", algorithm: "token-bucket", limit: 2, windowSeconds: WINDOW };
  const spellings = [
    { id: "contact", match: { path: "/contact" }, key: "ip", algorithm: "sliding-window", limit: 1, windowSeconds: WINDOW },
    { id: "auth", match: { path: "/auth/*" }, key: "header:Authorization", algorithm: "sliding-window", limit: 1, windowSeconds: WINDOW },
    { id: "deletes", match: { path: "/items/*", methods: ["DELETE"] }, key: "ip", algorithm: "sliding-window", limit: 1, windowSeconds: WINDOW },
    { id: "merged", match: { path: "/merged/*" }, key: "query:api_key", algorithm: "sliding-window", limit: 1, windowSeconds: WINDOW },
  ];
  edge = await startEdge({
    origin,
    bindings: { CAPTCHA_SECRET },
    policy: {
      bans: { warningsBeforeBan: 1000 },
      captcha: { enabled: true, provider: "turnstile", siteKey: "site", verifyUrl: `http://127.0.0.1:${verifier.address().port}/siteverify`, pages: [] },
      rateLimits: [...rules(), captchaRule, accountRule, ...spellings],
    },
  });
});
after(async () => {
  await edge?.dispose();
  await origin?.close();
  await new Promise((resolve) => {
    verifier.closeAllConnections();
    verifier.close(resolve);
  });
});

let n = 1;
const nextIp = () => `198.18.60.${n++}`;

async function call(path, { ip = nextIp(), headers = {}, ...init } = {}) {
  const r = await edge.request(path, { ip, headers: { Accept: "application/json", ...headers }, ...init });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text.startsWith("{") ? JSON.parse(text) : text };
}

const statuses = (answers) => answers.map((a) => a.status).sort();
const count = (answers, status) => answers.filter((a) => a.status === status).length;

for (const [a, algorithm] of Object.entries(ALGORITHMS)) {
  describe(algorithm, () => {
    test("the limit is exact under parallel requests from several client addresses, with the headers", async () => {
      // 20 at once with one API key, from 10 addresses: exactly LIMIT pass.
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => call(`/api/${a}/header/x`, { ip: `198.18.61.${i % 10}`, headers: { "X-API-Key": `key-${a}-1` } })),
      );
      assert.equal(count(answers, 200), LIMIT, JSON.stringify(statuses(answers)));
      assert.equal(count(answers, 429), 20 - LIMIT);
      const allowed = answers.filter((x) => x.status === 200);
      for (const x of allowed) {
        assert.equal(x.headers.get("ratelimit-policy"), `"header-${a}";q=${LIMIT};w=${WINDOW}`);
        assert.match(x.headers.get("ratelimit"), new RegExp(`^"header-${a}";r=[0-4];t=\\d+$`));
      }
      const remaining = allowed.map((x) => Number(/r=(\d+)/.exec(x.headers.get("ratelimit"))[1])).sort();
      assert.deepEqual(remaining, [0, 1, 2, 3, 4], "each allowed request saw its own count");
      const refused = answers.find((x) => x.status === 429);
      assert.equal(refused.body.error, "rate_limited");
      assert.equal(refused.body.rule, `header-${a}`);
      const retryAfter = Number(refused.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= WINDOW, `Retry-After ${retryAfter}`);
      assert.equal(refused.headers.get("ratelimit"), `"header-${a}";r=0;t=${retryAfter}`);
      assert.equal(refused.headers.get("ratelimit-policy"), `"header-${a}";q=${LIMIT};w=${WINDOW}`);

      // The same from one address, keyed by address.
      const ip = nextIp();
      const byIp = await Promise.all(Array.from({ length: 12 }, () => call(`/api/${a}/ip/x`, { ip })));
      assert.equal(count(byIp, 200), LIMIT);
      assert.equal((await call(`/api/${a}/ip/x`)).status, 200, "another address has its own bucket");
    });

    test("keys by header, cookie and query count apart; a request without the key shares one bucket", async () => {
      const spend = async (path, headers, times = LIMIT) => {
        const out = [];
        for (let i = 0; i < times; i++) out.push((await call(path, { headers })).status);
        return out;
      };
      const full = Array(LIMIT).fill(200);
      // Header: two keys, then the key-less bucket shared by every address.
      assert.deepEqual(await spend(`/api/${a}/header/y`, { "X-API-Key": `key-${a}-2` }), full);
      assert.equal((await call(`/api/${a}/header/y`, { headers: { "X-API-Key": `key-${a}-2` } })).status, 429);
      assert.equal((await call(`/api/${a}/header/y`, { headers: { "X-API-Key": `key-${a}-3` } })).status, 200);
      assert.deepEqual(await spend(`/api/${a}/header/y`, {}), full);
      assert.equal((await call(`/api/${a}/header/y`)).status, 429, "no key: one shared bucket");
      // A spelling another origin reads as the key is refused, never a new bucket.
      assert.equal((await call(`/api/${a}/header/y`, { headers: { "X-API-Key": `key-${a}-9`, "X_API_Key": `key-${a}-2` } })).body.error, "ambiguous_field");

      // Cookie: the quoted and the escaped value are the same key.
      const cookie = (v) => ({ Cookie: `other=1; team=${v}` });
      assert.deepEqual(await spend(`/api/${a}/cookie/x`, cookie(`t${a}`), LIMIT - 2), Array(LIMIT - 2).fill(200));
      assert.equal((await call(`/api/${a}/cookie/x`, { headers: cookie(`"t${a}"`) })).status, 200);
      assert.equal((await call(`/api/${a}/cookie/x`, { headers: cookie(`%74${a}`) })).status, 200);
      assert.equal((await call(`/api/${a}/cookie/x`, { headers: cookie(`t${a}`) })).status, 429);
      assert.equal((await call(`/api/${a}/cookie/x`, { headers: cookie(`u${a}`) })).status, 200);
      assert.equal((await call(`/api/${a}/cookie/x`, { headers: { Cookie: `team=x; team=y` } })).body.error, "duplicate_field");

      // Query.
      assert.deepEqual(await spend(`/api/${a}/query/x?api_key=q${a}`, {}), full);
      assert.equal((await call(`/api/${a}/query/x?api_key=q${a}`)).status, 429);
      assert.equal((await call(`/api/${a}/query/x?api_key=r${a}`)).status, 200);
      assert.equal((await call(`/api/${a}/query/x?api_key=r${a}&api.key=q${a}`)).body.error, "ambiguous_field");
    });

    test("keys by user count one user's requests from every address", async () => {
      const alice = await signIn(edge, nextIp(), `rl-alice-${a}`);
      const bob = await signIn(edge, nextIp(), `rl-bob-${a}`);
      const as = (s) => ({ headers: { Cookie: s.cookie } });
      const got = [];
      for (let i = 0; i < LIMIT + 1; i++) got.push((await call(`/app/${a}/user/x`, as(alice))).status);
      assert.deepEqual(got, [...Array(LIMIT).fill(200), 429]);
      assert.equal((await call(`/app/${a}/user/x`, as(bob))).status, 200);
    });
  });
}

test("a captcha rule lets a form post with a solved CAPTCHA through and denies what cannot carry one", async () => {
  const ip = nextIp();
  const form = (token) => ({
    ip,
    method: "POST",
    body: new URLSearchParams({ note: "hi", ...(token ? { "cf-turnstile-response": token } : {}) }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  assert.equal((await call("/forms/contact", form())).status, 200, "under the limit: no CAPTCHA");
  assert.equal((await call("/forms/contact", form())).body.error, "captcha_failed");
  assert.equal((await call("/forms/contact", form("bad"))).body.error, "captcha_failed");
  assert.equal((await call("/forms/contact", form("good"))).status, 200);
  const json = await call("/forms/contact", { ip, method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  assert.equal(json.status, 429);
  assert.equal((await call("/forms/contact", { ip })).status, 429, "a GET cannot carry one");
});

test("a solved CAPTCHA excuses only the captcha rule: a deny rule after it still counts and refuses", async () => {
  const ip = nextIp();
  const post = () => call("/forms/order", {
    ip,
    method: "POST",
    body: new URLSearchParams({ "cf-turnstile-response": "good" }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", "X-Account": "acct-1" },
  });
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await post());
  assert.deepEqual(answers.map((x) => x.status), [200, 200, 429, 429]);
  assert.equal(answers[2].body.rule, "accounts");
  assert.match(answers[1].headers.get("ratelimit"), /"forms";r=0;t=\d+, "accounts";r=0;t=\d+/);
});

test("other spellings of a counted request are counted too", async () => {
  // The path as the origin routes it: format suffixes, PHP scripts, front controllers, case.
  const ip = nextIp();
  assert.equal((await call("/contact", { ip })).status, 200);
  for (const path of ["/contact.json", "/contact.php", "/index.php/contact", "/Contact/", "/%63ontact", "/contact."]) {
    assert.equal((await call(path, { ip })).status, 429, path);
  }
  // The same credential in another spelling of its scheme and spaces.
  assert.equal((await call("/auth/x", { headers: { Authorization: "Bearer abc" } })).status, 200);
  for (const value of ["bearer abc", "BEARER  abc", "Bearer\tabc"]) {
    assert.equal((await call("/auth/x", { headers: { Authorization: value } })).status, 429, value);
  }
  // A POST that asks for DELETE with `_method` (Rails, Laravel) is a DELETE.
  const del = nextIp();
  assert.equal((await call("/items/1", { ip: del, method: "DELETE" })).status, 200);
  const override = await call("/items/1", { ip: del, method: "POST", body: "_method=DELETE", headers: { "content-type": "application/x-www-form-urlencoded" } });
  assert.equal(override.status, 429);
  // A query key also read from the body (Rails' params, Laravel's input()).
  assert.equal((await call("/merged/x?api_key=k1")).status, 200);
  const merged = await call("/merged/x?api_key=k2", { method: "POST", body: "api_key=k1", headers: { "content-type": "application/x-www-form-urlencoded" } });
  assert.equal(merged.body.error, "ambiguous_field");
  const bodyOnly = await call("/merged/x", { method: "POST", body: "api_key=k1", headers: { "content-type": "application/x-www-form-urlencoded" } });
  assert.equal(bodyOnly.status, 429);
  assert.equal((await call("/merged/x?api_key=%20k1%20")).status, 429, "trimmed");
});

test("refusals are audited with the rule and the key's hash, never the key", async () => {
  const secret = "very-secret-api-key-0123456789";
  for (let i = 0; i <= LIMIT; i++) await call("/api/sw/header/audit", { headers: { "X-API-Key": secret } });
  const { body } = await adminJson(edge, "/audit?kind=rateLimited&limit=500");
  const mine = body.entries.filter((e) => e.detail.rule === "header-sw");
  assert.ok(mine.length >= 1, "refusals are in the audit log");
  for (const e of body.entries) {
    assert.match(e.detail.key, /^([0-9a-f]{32}|absent)$/);
    assert.ok(!JSON.stringify(e).includes(secret));
  }
  assert.ok(!edge.logs.join("").includes(secret), "nor in the Worker's log");
});

test("counts outlive the bucket's object: a restart keeps them, for each algorithm", async () => {
  const ip = "198.18.62.1";
  const restartRules = Object.entries(ALGORITHMS).map(([a, algorithm]) => ({ id: `restart-${a}`, match: { path: `/restart/${a}` }, key: "ip", algorithm, limit: 2, windowSeconds: WINDOW }));
  let again = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 1000 }, rateLimits: restartRules } });
  const dir = again.persist;
  try {
    for (const a of Object.keys(ALGORITHMS)) {
      const got = [];
      for (let i = 0; i < 3; i++) {
        const r = await again.request(`/restart/${a}`, { ip });
        await r.arrayBuffer();
        got.push(r.status);
      }
      assert.deepEqual(got, [200, 200, 429], a);
    }
    await again.dispose();
    again = await startEdge({ origin, persist: dir, policy: { bans: { warningsBeforeBan: 1000 }, rateLimits: restartRules } });
    for (const a of Object.keys(ALGORITHMS)) {
      const r = await again.request(`/restart/${a}`, { ip });
      await r.arrayBuffer();
      assert.equal(r.status, 429, `${a}: still over the limit after the restart`);
    }
  } finally {
    await again.dispose();
  }
});
