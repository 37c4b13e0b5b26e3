// Login, lockout, sessions and XSRF at the edge, on workerd in front of a
// loopback origin whose POST /login succeeds for the password PASSWORD and
// names the user in Portcullis-Login-User. Tokens are checked with an
// independent JWT library (jose).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SignJWT, jwtVerify, decodeJwt } from "jose";
import { JWT_SECRET, PASSWORD, postLogin, sessionOf, setCookies, signIn, startEdge, startOrigin } from "./support/edge.js";

const POLICY = {
  login: { maxFailedAttempts: 3, lockoutSeconds: 60 },
  sessions: { idleTimeoutSeconds: 3, absoluteLifetimeSeconds: 600, leewaySeconds: 0 },
  bans: { warningsBeforeBan: 1000 },
};
const key = new TextEncoder().encode(JWT_SECRET);

let origin;
let edge;
before(async () => {
  origin = await startOrigin();
  edge = await startEdge({ origin, policy: POLICY });
});
after(async () => {
  await edge?.dispose();
  await origin?.close();
});

let nextIp = 1;
const ip = () => `198.18.1.${nextIp++}`;

const login = (username, password, headers = {}) => postLogin(edge, ip(), username, password, headers);
const cookies = setCookies;

describe("login and sessions", () => {
  test("a successful login issues the session and XSRF cookies", async () => {
    const r = await login("alice", PASSWORD);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("portcullis-login-user"), null, "the origin's login header is stripped");
    await r.arrayBuffer();
    const jar = cookies(r);
    const s = jar["__Host-portcullis-session"].line;
    for (const attr of ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"]) assert.ok(s.includes(attr), s);
    const x = jar["__Host-portcullis-xsrf"].line;
    assert.ok(!x.includes("HttpOnly"), "the page can read the XSRF cookie");
    const { payload, protectedHeader } = await jwtVerify(jar["__Host-portcullis-session"].value, key, { algorithms: ["HS256"] });
    assert.equal(protectedHeader.alg, "HS256");
    assert.equal(payload.sub, "u-alice");
    assert.ok(payload.sid && payload.iat && payload.exp);
    assert.equal(payload.exp - payload.iat, 3);
  });

  test("a login form without its fields is refused before the origin", async () => {
    const before = origin.seen.length;
    for (const body of ["username=alice", "password=x", ""]) {
      const r = await edge.request("/login", { ip: ip(), method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } });
      assert.equal(r.status, 400);
      assert.equal((await r.json()).error, "missing_field");
    }
    const json = await edge.request("/login", { ip: ip(), method: "POST", body: JSON.stringify({ x: "&username=a&password=b" }), headers: { "content-type": "application/json" } });
    assert.equal(json.status, 400, "a body that hides the fields from the edge");
    await json.arrayBuffer();
    assert.equal(origin.seen.length, before);
  });

  test("protected paths need a session: 401 for APIs, a redirect for pages", async () => {
    let r = await edge.request("/app/data", { ip: ip() });
    assert.equal(r.status, 401);
    assert.equal((await r.json()).error, "login_required");
    r = await edge.request("/app/page", { ip: ip(), headers: { Accept: "text/html" } });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "/login?reason=login_required");
    await r.arrayBuffer();
  });

  test("the origin learns the verified user; the session slides", async () => {
    const s = await signIn(edge, ip(), "bob");
    let r = await edge.request("/app/me", { ip: ip(), headers: { Cookie: s.cookie, "Portcullis-User": "mallory" } });
    assert.equal(r.status, 200);
    const seen = await r.json();
    assert.equal(seen.headers["portcullis-user"], "u-bob");
    assert.ok(seen.headers["portcullis-session"]);
    // Renewed once a 60th of the idle timeout (here: a second) has passed, not within the same second.
    assert.equal(cookies(r)["__Host-portcullis-session"], undefined, "a token issued this second is kept");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    r = await edge.request("/app/me", { ip: ip(), headers: { Cookie: s.cookie } });
    await r.arrayBuffer();
    const renewed = cookies(r)["__Host-portcullis-session"].value;
    assert.ok(decodeJwt(renewed).exp > decodeJwt(s.token).exp, "the expiry moved forward");
  });

  test("an idle session expires; a page is sent to login with the reason", async () => {
    const s = await signIn(edge, ip(), "carol");
    await new Promise((resolve) => setTimeout(resolve, 4200));
    const r = await edge.request("/account/settings", { ip: ip(), headers: { Cookie: s.cookie, Accept: "text/html" } });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "/login?reason=session_expired");
    await r.arrayBuffer();
  });

  test("tokens signed by another library with the secret are accepted; forged ones are not", async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = await new SignJWT({ sid: "s-jose", auth: now }).setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject("u-jose").setIssuedAt(now).setExpirationTime(now + 3).sign(key);
    let r = await edge.request("/app/me", { ip: ip(), headers: { Cookie: `__Host-portcullis-session=${good}` } });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).headers["portcullis-user"], "u-jose");
    const [h, p] = good.split(".");
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${p}.`;
    const hs512 = await new SignJWT({ sid: "s", auth: now }).setProtectedHeader({ alg: "HS512" }).setSubject("u-x").setIssuedAt(now).setExpirationTime(now + 60).sign(key);
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: "admin", sid: "s", iat: now, exp: now + 99, auth: now })).toString("base64url")}.${good.split(".")[2]}`;
    const expired = await new SignJWT({ sid: "s", auth: now - 100 }).setProtectedHeader({ alg: "HS256" }).setSubject("u-x").setIssuedAt(now - 100).setExpirationTime(now - 50).sign(key);
    const future = await new SignJWT({ sid: "s", auth: now }).setProtectedHeader({ alg: "HS256" }).setSubject("u-x").setIssuedAt(now + 600).setExpirationTime(now + 900).sign(key);
    for (const [name, token] of Object.entries({ none, hs512, tampered, expired, future })) {
      r = await edge.request("/app/me", { ip: ip(), headers: { Cookie: `__Host-portcullis-session=${token}` } });
      assert.equal(r.status, 401, name);
      await r.arrayBuffer();
    }
  });

  test("a forged token is a security warning", async () => {
    const before = (await (await edge.admin("/audit")).json()).entries.filter((e) => e.detail?.warning === "forgedToken").length;
    const r = await edge.request("/app/me", { ip: ip(), headers: { Cookie: "__Host-portcullis-session=eyJhbGciOiJub25lIn0.e30." } });
    assert.equal(r.status, 401);
    await r.arrayBuffer();
    const afterCount = (await (await edge.admin("/audit")).json()).entries.filter((e) => e.detail?.warning === "forgedToken").length;
    assert.equal(afterCount, before + 1);
  });

  test("logout clears both cookies", async () => {
    const s = await signIn(edge, ip(), "dave");
    const r = await edge.request("/logout", { ip: ip(), method: "POST", headers: { Cookie: s.cookie } });
    await r.arrayBuffer();
    const jar = cookies(r);
    assert.ok(jar["__Host-portcullis-session"].line.includes("Max-Age=0"));
    assert.ok(jar["__Host-portcullis-xsrf"].line.includes("Max-Age=0"));
  });
});

describe("XSRF", () => {
  test("unsafe requests on protected paths need the token bound to the session", async () => {
    const s = await signIn(edge, ip(), "erin");
    let r = await edge.request("/app/save", { ip: ip(), method: "POST", body: "x", headers: { Cookie: s.cookie } });
    assert.equal(r.status, 403);
    assert.equal((await r.json()).error, "xsrf_failed");
    r = await edge.request("/app/save", { ip: ip(), method: "POST", body: "x", headers: { Cookie: s.cookie, "X-XSRF-Token": s.xsrf } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    r = await edge.request("/app/save", {
      ip: ip(),
      method: "POST",
      body: new URLSearchParams({ _xsrf: s.xsrf, note: "hi" }).toString(),
      headers: { Cookie: s.cookie, "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(r.status, 200);
    assert.ok((await r.json()).bodyLength > 0, "the form still reaches the origin");
    const other = await signIn(edge, ip(), "frank");
    r = await edge.request("/app/save", { ip: ip(), method: "POST", body: "x", headers: { Cookie: s.cookie, "X-XSRF-Token": other.xsrf } });
    assert.equal(r.status, 403, "another session's token does not fit");
    await r.arrayBuffer();
    r = await edge.request("/app/read", { ip: ip(), headers: { Cookie: s.cookie } });
    assert.equal(r.status, 200, "safe methods need no token");
    await r.arrayBuffer();
  });
});

describe("lockout", () => {
  test("failures report attempts left; the limit locks with 423 and Retry-After without asking the origin", async () => {
    let r = await login("grace", "wrong");
    assert.equal(r.status, 401);
    assert.equal(r.headers.get("portcullis-attempts-left"), "2");
    await r.arrayBuffer();
    r = await login("grace", "wrong");
    assert.equal(r.headers.get("portcullis-attempts-left"), "1");
    await r.arrayBuffer();
    r = await login("grace", "wrong");
    assert.equal(r.status, 423);
    assert.ok(Number(r.headers.get("retry-after")) > 50);
    const body = await r.json();
    assert.equal(body.error, "account_locked");
    assert.equal(body.attemptsLeft, 0);
    const seen = origin.seen.length;
    r = await login("grace", PASSWORD);
    assert.equal(r.status, 423, "locked even with the right password");
    await r.arrayBuffer();
    assert.equal(origin.seen.length, seen, "the origin was not contacted");
  });

  test("parallel failures lock at exactly the limit: only that many reach the origin", async () => {
    const before = origin.seen.filter((r) => r.url === "/login").length;
    const results = await Promise.all(Array.from({ length: 12 }, () => login("heidi", "wrong")));
    const statuses = results.map((r) => r.status);
    await Promise.all(results.map((r) => r.arrayBuffer()));
    const reached = origin.seen.filter((r) => r.url === "/login").length - before;
    assert.equal(reached, 3, `origin saw ${reached}: ${JSON.stringify(statuses)}`);
    assert.ok(statuses.every((s) => s === 401 || s === 423), JSON.stringify(statuses));
    assert.ok(statuses.filter((s) => s === 423).length >= 9);
    const after = await login("heidi", PASSWORD);
    assert.equal(after.status, 423, "locked, even for the right password");
    await after.arrayBuffer();
  });

  test("login and signup routes cannot be dodged by spelling", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await edge.request(["/%6Cogin", "/LOGIN/", "/login;jsessionid=1"][i], {
        ip: ip(),
        method: "POST",
        body: "username=judy&password=wrong",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      await r.arrayBuffer();
    }
    const r = await login("judy", PASSWORD);
    assert.equal(r.status, 423, "the three variants counted as failed logins");
    await r.arrayBuffer();
  });

  test("a checked field sent twice is refused", async () => {
    const r = await edge.request("/login", {
      ip: ip(),
      method: "POST",
      body: "username=decoy&username=victim&password=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error, "duplicate_field");
  });

  test("JSON login bodies count too; unreadable formats are refused", async () => {
    let r = await edge.request("/login", {
      ip: ip(),
      method: "POST",
      body: JSON.stringify({ username: "kim", password: "wrong" }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(r.headers.get("portcullis-attempts-left"), "2");
    await r.arrayBuffer();
    r = await edge.request("/login", { ip: ip(), method: "POST", body: "kim wrong", headers: { "content-type": "text/plain" } });
    assert.equal(r.status, 415);
    await r.arrayBuffer();
  });

  test("the admin unlocks", async () => {
    for (let i = 0; i < 3; i++) await (await login("ivan", "wrong")).arrayBuffer();
    assert.equal((await login("ivan", PASSWORD)).status, 423);
    const r = await edge.admin("/accounts/ivan/unlock", { method: "POST" });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const ok = await login("ivan", PASSWORD);
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
  });
});
