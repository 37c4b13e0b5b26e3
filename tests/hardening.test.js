// The hardening classes on workerd, each tried as an attacker would: other
// spellings of a path or a checked route, fields the origin reads another
// way, cross-site requests, origin faults, CAPTCHA fail-open, hostile admin
// input, unbounded bodies, tokens, the lockout key, shared caches, and
// attempts on locked accounts. What the edge checked is learned only from
// outside: its answers and the admin API.
import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import { after, before, describe, test } from "node:test";
import { SignJWT } from "jose";
import { APP_KEY, JWT_SECRET, PASSWORD, adminJson, postLogin, signIn, startEdge, startOrigin } from "./support/edge.js";

let n = 1;
const ip = () => `198.19.${Math.floor(n / 250)}.${(n++ % 250) + 1}`;
const FORM = { "content-type": "application/x-www-form-urlencoded" };

async function json(r) {
  const text = await r.text();
  try {
    return JSON.parse(text);
  } catch {
    return { text };
  }
}

/** POSTs `body` to `path` as client `ipAddress`; status and JSON. */
async function post(edge, path, body, { headers = FORM, ip: from = ip() } = {}) {
  const r = await edge.request(path, { ip: from, method: "POST", body, headers });
  return { status: r.status, body: await json(r), headers: r.headers };
}

const form = (fields) => new URLSearchParams(fields).toString();

/** GET `path` exactly as written (no URL parsing) through the edge. */
function raw(edge, path, from) {
  const { hostname, port } = new URL(edge.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: "GET", headers: { "CF-Connecting-IP": from } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The audit entries of `kind` for client `address`. */
async function audit(edge, kind, address) {
  const r = await edge.admin(`/audit?kind=${kind}${address ? `&ip=${address}` : ""}&limit=1000`);
  return (await r.json()).entries;
}

describe("path spellings and checked routes", () => {
  let origin;
  let edge;
  before(async () => {
    origin = await startOrigin({ isLogin: (p) => /^\/login(\.json|\.php\/.*|\/|\.)?$/i.test(p) });
    edge = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 1000 } } });
  });
  after(async () => {
    await edge.dispose();
    await origin.close();
  });

  test("encoded separators, encoded dots and double encoding are refused", async () => {
    // Sent raw (a URL parser would resolve `%2e%2e` before sending).
    for (const path of ["/app/..%2Fhello", "/app/%2e%2e%2Fhello", "/app/..%5Chello", "/app/%2e%2e/hello", "/app/%252e%252e/hello", "/x%2F..%2Fapp/y"]) {
      const seen = origin.seen.length;
      const r = await raw(edge, path, ip());
      if (r.status === 400) {
        assert.equal(JSON.parse(r.body).error, "ambiguous_path", path);
      } else {
        // The runtime resolved the path itself: the origin got that path.
        assert.equal(origin.seen.length, seen + 1, path);
        assert.doesNotMatch(origin.seen.at(-1).url, /%2e|%2f|%5c/i, path);
        assert.doesNotMatch(origin.seen.at(-1).url, /^\/app\//, `${path}: reached a protected path without a session`);
      }
    }
  });

  test("a protected prefix holds for the raw and the decoded path", async () => {
    for (const path of ["/app/hello", "/APP/hello", "/%61pp/hello", "//app/hello", "/app;x=1/hello", "/x/../app/hello"]) {
      // An absolute URL, so that `//app` is a path and not a host.
      const r = await edge.request(`${edge.url.replace(/\/$/, "")}${path}`, { ip: ip(), headers: { accept: "application/json" } });
      assert.equal(r.status, 401, path);
      await r.arrayBuffer();
    }
  });

  test("headers that override the path, host or method never reach the origin", async () => {
    const sent = {
      "X-Original-URL": "/app/secret",
      "X-Rewrite-URL": "/app/secret",
      "X-Forwarded-Host": "evil.example",
      "X-Forwarded-Prefix": "/app",
      "X-HTTP-Method-Override": "DELETE",
      "X-HTTP-Method": "DELETE",
      "X-Method-Override": "DELETE",
      Forwarded: "host=evil.example",
    };
    const r = await edge.request("/hello", { ip: ip(), headers: sent });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const seen = origin.seen.at(-1);
    for (const name of Object.keys(sent)) assert.equal(seen.headers[name.toLowerCase()], undefined, name);
  });

  test("the login route under its other spellings counts failures and locks", async () => {
    const account = "spelling-victim";
    const spellings = ["/login.json", "/login.php/x", "/Login", "/login/", "/login."];
    for (const [i, path] of spellings.entries()) {
      const r = await post(edge, path, form({ username: account, password: "wrong" }));
      assert.equal(r.status, i < 4 ? 401 : 423, path);
    }
    const right = await post(edge, "/login.json", form({ username: account, password: PASSWORD }));
    assert.equal(right.status, 423, "five failures through other spellings locked the account");
  });
});

describe("checked fields read one way", () => {
  let origin;
  let edge;
  before(async () => {
    origin = await startOrigin();
    edge = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 1000 } } });
  });
  after(async () => {
    await edge.dispose();
    await origin.close();
  });

  const refusedAmbiguous = async (label, path, body, headers = FORM) => {
    const r = await post(edge, path, body, { headers });
    assert.equal(r.status, 400, `${label}: ${JSON.stringify(r.body)}`);
    assert.ok(["ambiguous_field", "duplicate_field"].includes(r.body.error), `${label}: ${r.body.error}`);
  };

  test("a checked name in the query as well as the body", async () => {
    await refusedAmbiguous("query", "/login?username=victim", form({ username: "decoy", password: "x" }));
    await refusedAmbiguous("query only", "/login?password=x", form({ username: "decoy", password: "y" }));
  });

  test("names a framework folds into the checked one", async () => {
    await refusedAmbiguous("leading space", "/login", "+username=victim&username=decoy&password=x");
    // PHP reads `new.password` as `new_password`.
    await refusedAmbiguous("dot", "/reset", "token=t&new.password=Quiet-harbor-lantern-81&new_password=Other-harbor-lantern-82");
    await refusedAmbiguous("case", "/login", "Username=victim&username=decoy&password=x");
    await refusedAmbiguous("array", "/login", "username[]=victim&password=x&username=decoy");
  });

  test("JSON with a duplicate key, a case variant or a non-string value", async () => {
    const type = { "content-type": "application/json" };
    await refusedAmbiguous("duplicate", "/login", '{"username":"decoy","password":"x","username":"victim"}', type);
    await refusedAmbiguous("case", "/login", '{"username":"decoy","Username":"victim","password":"x"}', type);
    await refusedAmbiguous("array", "/login", '{"username":["victim"],"password":"x"}', type);
  });

  test("a content encoding or a charset other than UTF-8", async () => {
    await refusedAmbiguous("gzip", "/login", form({ username: "a", password: "b" }), { ...FORM, "content-encoding": "gzip" });
    await refusedAmbiguous("latin-1", "/login", form({ username: "a", password: "b" }), {
      "content-type": "application/x-www-form-urlencoded; charset=iso-8859-1",
    });
  });

  test("multipart with the same name twice, or a part the origin may read otherwise", async () => {
    const multipart = (parts) => {
      const b = "----x";
      const body = parts.map((p) => `--${b}\r\n${p}`).join("") + `--${b}--\r\n`;
      return { body, headers: { "content-type": `multipart/form-data; boundary=${b}` } };
    };
    const field = (name, value, extra = "") => `Content-Disposition: form-data; name="${name}"${extra}\r\n\r\n${value}\r\n`;
    const twice = multipart([field("username", "decoy"), field("username", "victim"), field("password", "x")]);
    await refusedAmbiguous("twice", "/login", twice.body, twice.headers);
    const starred = multipart([field("username", "decoy", "; name*=UTF-8''victim"), field("password", "x")]);
    await refusedAmbiguous("name*", "/login", starred.body, starred.headers);
    const file = multipart([field("username", "victim", '; filename="u.txt"'), field("password", "x")]);
    await refusedAmbiguous("file", "/login", file.body, file.headers);
  });

  test("plain forms, JSON and multipart still work", async () => {
    const plain = await post(edge, "/login", form({ username: "plain-a", password: PASSWORD }));
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
  });
});

describe("cross-site requests and the admin API's warnings", () => {
  let origin;
  let edge;
  before(async () => {
    origin = await startOrigin();
    edge = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 3 }, routes: { allowedOrigins: ["https://partner.example"] } } });
  });
  after(async () => {
    await edge.dispose();
    await origin.close();
  });

  test("admin requests without a key count no warning", async () => {
    const from = ip();
    for (let i = 0; i < 6; i++) {
      const r = await edge.request("/__portcullis/admin/x", { ip: from });
      assert.equal(r.status, 401);
      await r.arrayBuffer();
    }
    const wrong = await edge.request("/__portcullis/admin/x", { ip: from, headers: { Authorization: "Bearer nope" } });
    assert.equal(wrong.status, 401, "not banned by keyless requests");
    await wrong.arrayBuffer();
  });

  test("cross-site unsafe requests to checked routes are refused before anything counts", async () => {
    const account = "cross-victim";
    for (const headers of [
      { "sec-fetch-site": "cross-site" },
      { origin: "null" },
      { origin: "https://evil.example" },
    ]) {
      for (let i = 0; i < 3; i++) {
        const r = await post(edge, "/login", form({ username: account, password: "wrong" }), { headers: { ...FORM, ...headers } });
        assert.equal(r.status, 403, JSON.stringify(headers));
        assert.equal(r.body.error, "cross_site");
      }
    }
    const own = await post(edge, "/login", form({ username: account, password: PASSWORD }), {
      headers: { ...FORM, "sec-fetch-site": "same-origin", origin: new URL(edge.url).origin },
    });
    assert.equal(own.status, 200, "the account was never locked, the address never banned");
    for (const headers of [{ origin: "https://partner.example" }, { "sec-fetch-site": "same-site" }, { "sec-fetch-site": "none" }, {}]) {
      const r = await post(edge, "/login", form({ username: "cross-ok", password: PASSWORD }), { headers: { ...FORM, ...headers } });
      assert.equal(r.status, 200, JSON.stringify(headers));
    }
  });
});

describe("origin faults on checked routes", () => {
  let origin;
  let edge;
  let failing = true;
  before(async () => {
    origin = await startOrigin({ answer: (req) => (failing && req.url.startsWith("/login") ? { status: 500 } : null) });
    edge = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 5 } } });
  });
  after(async () => {
    await edge.dispose();
    await origin.close();
  });

  test("a 5xx gives the attempt back, counts no warning and answers 502 origin_error", async () => {
    const from = ip();
    for (let i = 0; i < 12; i++) {
      const r = await post(edge, "/login", form({ username: "fault-user", password: "wrong" }), { ip: from });
      assert.equal(r.status, 502, `attempt ${i + 1}`);
      assert.equal(r.body.error, "origin_error");
    }
    failing = false;
    const ok = await post(edge, "/login", form({ username: "fault-user", password: PASSWORD }), { ip: from });
    assert.equal(ok.status, 200, "not banned, not locked");
  });

  test("other routes pass the origin's 5xx through", async () => {
    failing = true;
    const r = await edge.request("/login-help", { ip: ip() });
    assert.equal(r.status, 500);
    await r.arrayBuffer();
  });
});

describe("tokens, the lockout key and caches", () => {
  let origin;
  let edge;
  before(async () => {
    origin = await startOrigin({ answer: (req) => (req.url.startsWith("/app/cached") ? { headers: { "cache-control": "public, max-age=600" } } : null) });
    edge = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 10 } } });
  });
  after(async () => {
    await edge.dispose();
    await origin.close();
  });

  test("a token whose nbf is ahead is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sub: "u-early", sid: "s-early", auth: now, lms: now * 1000 })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt(now)
      .setNotBefore(now + 3600)
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(JWT_SECRET));
    const r = await edge.request("/app/hello", { ip: ip(), headers: { Cookie: `__Host-portcullis-session=${token}`, accept: "application/json" } });
    assert.equal(r.status, 401);
    await r.arrayBuffer();
  });

  test("a reset the origin took ends the user's other reset links", async () => {
    const mint = async () => (await adminJson(edge, "/reset-tokens", { method: "POST", body: JSON.stringify({ user: "u-twolinks", purpose: "selfService" }) })).body.token;
    const [first, second] = [await mint(), await mint()];
    const reset = (token, password) =>
      post(edge, "/reset", form({ token, new_password: password }), { headers: { ...FORM, accept: "application/json" } });
    assert.equal((await reset(first, "Kestrel-violet-811-Harbor")).status, 200);
    const other = await reset(second, "Kestrel-violet-812-Harbor");
    assert.equal(other.status, 410, JSON.stringify(other.body));
    assert.equal(other.body.error, "reset_link_used");
  });

  test("change password and reset check the account's login name, not only its id", async () => {
    const from = ip();
    const session = await signIn(edge, from, "kestrel");
    const change = await post(edge, "/account/password", form({ new_password: "Kestrel-orbit-91-lantern" }), {
      ip: from,
      headers: { ...FORM, cookie: session.cookie, "x-xsrf-token": session.xsrf, accept: "application/json" },
    });
    assert.equal(change.status, 422, JSON.stringify(change.body));
    assert.deepEqual(change.body.rules, ["userInfo"]);
    const token = (await adminJson(edge, "/reset-tokens", { method: "POST", body: JSON.stringify({ user: "u-kestrel", purpose: "selfService" }) })).body.token;
    const reset = await post(edge, "/reset", form({ token, new_password: "Lantern-KESTREL-orbit-92" }), { headers: { ...FORM, accept: "application/json" } });
    assert.equal(reset.status, 422, JSON.stringify(reset.body));
    assert.deepEqual(reset.body.rules, ["userInfo"]);
  });

  test("a forged token counts one warning, however many requests carry it", async () => {
    const from = ip();
    const forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LXgifQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        const r = await edge.request("/hello", { ip: from, headers: { Cookie: `__Host-portcullis-session=${forged}` } });
        await r.arrayBuffer();
      }),
    );
    const r = await edge.request("/hello", { ip: from });
    assert.equal(r.status, 200, "not banned by one token's requests");
    await r.arrayBuffer();
  });

  test("one good login as Victim does not clear the failures against victim", async () => {
    for (let i = 0; i < 4; i++) {
      assert.equal((await post(edge, "/login", form({ username: "victim-k", password: "wrong" }))).status, 401);
    }
    assert.equal((await post(edge, "/login", form({ username: "Victim-K", password: PASSWORD }))).status, 200);
    assert.equal((await post(edge, "/login", form({ username: "victim-k", password: "wrong" }))).status, 423);
  });

  test("an answer to a request with a verified identity is private", async () => {
    const s = await signIn(edge, ip(), "cache-user");
    const r = await edge.request("/app/cached", { ip: ip(), headers: { Cookie: s.cookie } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const cc = r.headers.get("cache-control");
    assert.match(cc, /private/);
    assert.doesNotMatch(cc, /public/);
  });

  test("attempts on a locked account count toward the address's ban", async () => {
    const from = ip();
    for (let i = 0; i < 5; i++) await post(edge, "/login", form({ username: "locked-k", password: "wrong" }), { ip: from });
    for (let i = 0; i < 5; i++) {
      const r = await post(edge, "/login", form({ username: "locked-k", password: "wrong" }), { ip: from });
      assert.equal(r.status, 423);
    }
    const r = await edge.request("/hello", { ip: from });
    assert.equal(r.status, 403, "ten refused attempts ban the address");
    assert.equal((await json(r)).error, "banned");
  });
});

describe("hostile admin input", () => {
  let origin;
  let edge;
  before(async () => {
    origin = await startOrigin();
    edge = await startEdge({ origin });
  });
  after(async () => {
    await edge.dispose();
    await origin.close();
  });

  const patch = async (body) => {
    const r = await edge.admin("/settings", { method: "PATCH", body: JSON.stringify(body) });
    return { status: r.status, body: await json(r) };
  };

  test("catch-all networks, unbounded numbers and plain-http feeds are refused naming the field", async () => {
    const cases = [
      [{ bans: { fraud: { enabled: true, denyList: ["0.0.0.0/0"] } } }, "bans.fraud.denyList[0]"],
      [{ bans: { fraud: { enabled: true, denyList: ["::/0"] } } }, "bans.fraud.denyList[0]"],
      [{ bans: { neverBan: ["0.0.0.0/1"] } }, "bans.neverBan[0]"],
      [{ bans: { banSeconds: 9223372036854775807 } }, "bans.banSeconds"],
      [{ sessions: { idleTimeoutSeconds: 1e15 } }, "sessions.idleTimeoutSeconds"],
      [{ bans: { fraud: { enabled: true, feedUrl: "http://feed.example/list" } } }, "bans.fraud.feedUrl"],
    ];
    for (const [body, field] of cases) {
      const r = await patch(body);
      assert.equal(r.status, 422, JSON.stringify(body));
      assert.equal(r.body.field, field, JSON.stringify(r.body));
    }
  });

  test("a manual ban of a catch-all network or for ever-so-long is refused", async () => {
    for (const [body, code] of [
      [{ target: "0.0.0.0/0", seconds: 60 }, "invalid_target"],
      [{ target: "203.0.113.9", seconds: 9223372036854775807 }, "invalid_duration"],
    ]) {
      const r = await edge.admin("/bans", { method: "POST", body: JSON.stringify(body) });
      assert.equal(r.status, 422, JSON.stringify(body));
      assert.equal((await json(r)).error, code);
    }
    const key = await edge.request("/__portcullis/admin/settings", { ip: ip(), headers: { Authorization: `Bearer ${APP_KEY}` } });
    assert.equal(key.status, 200);
    await key.arrayBuffer();
  });
});

describe("bodies and CAPTCHA fail-open", () => {
  let origin;
  let verifier;
  let edge;
  let verifierStatus = 429;
  before(async () => {
    origin = await startOrigin();
    verifier = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(verifierStatus, { "content-type": "application/json" });
        res.end(JSON.stringify({ success: false, "error-codes": ["too-many"] }));
      });
    });
    await new Promise((resolve) => verifier.listen(0, "127.0.0.1", resolve));
    edge = await startEdge({
      origin,
      policy: {
        captcha: {
          enabled: true,
          provider: "turnstile",
          siteKey: "site",
          verifyUrl: `http://127.0.0.1:${verifier.address().port}/siteverify`,
          pages: ["signup"],
          failOpen: true,
        },
      },
      bindings: { CAPTCHA_SECRET: "captcha-secret" },
    });
  });
  after(async () => {
    await edge.dispose();
    await origin.close();
    await new Promise((resolve) => verifier.close(resolve));
  });

  test("fail-open never passes a provider's 4xx or 429", async () => {
    for (const status of [429, 400]) {
      verifierStatus = status;
      const r = await post(edge, "/signup", form({ username: "cap-user", email: "c@example.com", password: "Quiet-harbor-lantern-81", "cf-turnstile-response": "junk" }));
      assert.notEqual(r.status, 200, `provider ${status}`);
      assert.ok(["captcha_unavailable", "captcha_failed"].includes(r.body.error), r.body.error);
    }
    verifierStatus = 503;
    const open = await post(edge, "/signup", form({ username: "cap-user2", email: "d@example.com", password: "Quiet-harbor-lantern-81", "cf-turnstile-response": "junk" }));
    assert.equal(open.status, 200, "a provider 5xx fails open");
  });

  test("a session's unsafe request without the XSRF header is not read without a length", async () => {
    const s = await signIn(edge, ip(), "stream-user");
    const { hostname, port } = new URL(edge.url);
    const started = Date.now();
    // A chunked form body that would run to a gigabyte: the edge must
    // answer without reading it for `_xsrf` (the header is required then).
    const answer = await new Promise((resolve, reject) => {
      const req = request({
        host: hostname,
        port,
        path: "/app/notes",
        method: "POST",
        headers: { ...FORM, Cookie: s.cookie, "CF-Connecting-IP": ip(), "transfer-encoding": "chunked" },
      });
      let done = false;
      const chunk = Buffer.from("x=".padEnd(64 * 1024, "y") + "&");
      req.on("response", (res) => {
        done = true;
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          req.destroy();
          resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString()) });
        });
      });
      req.on("error", (e) => (done ? undefined : reject(e)));
      let sent = 0;
      const pump = () => {
        if (done) return;
        if (++sent > 16 * 1024 || Date.now() - started > 15_000) return req.end();
        req.write(chunk, () => setTimeout(pump, 1));
      };
      pump();
    });
    assert.equal(answer.status, 403);
    assert.equal(answer.body.error, "xsrf_failed");
    assert.ok(Date.now() - started < 10_000, "answered without reading the stream to its end");
  });
});
