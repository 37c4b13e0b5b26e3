// The password lifecycle and session control at the edge, on workerd in
// front of the loopback origin: secret rotation and ended sessions, single
// session, expiry with its warning header, history, change on first login,
// a tightened policy, inactive accounts, and single-use reset links. Every
// timed rule runs with durations of seconds.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { jwtVerify } from "jose";
import {
  APP_KEY,
  JWT_SECRET,
  ORIGIN_REFUSES,
  PASSWORD,
  XSRF_SALT,
  adminJson,
  postLogin,
  sessionOf,
  signIn,
  startEdge,
  startOrigin,
} from "./support/edge.js";

const STRONG = ["Quiet-harbor-lantern-81", "Velvet-comet-orchard-62", "Amber-glacier-violin-47"];

let origin;
before(async () => {
  origin = await startOrigin({ users: { "any-weak": { anyPassword: true }, "any-tight": { anyPassword: true }, "any-fine": { anyPassword: true } } });
});
after(() => origin?.close());

let nextIp = 1;
const ip = () => `198.18.7.${nextIp++}`;

/** An edge with `policy` for one describe block. */
function useEdge(policy) {
  const box = {};
  before(async () => {
    box.edge = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 1000 }, ...policy } });
  });
  after(() => box.edge?.dispose());
  return box;
}

async function get(edge, path, s, headers = {}) {
  const r = await edge.request(path, { ip: ip(), headers: { Accept: "application/json", Cookie: s.cookie, ...headers } });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, body };
}

function changePassword(edge, s, newPassword) {
  return edge.request("/account/password", {
    ip: ip(),
    method: "POST",
    body: new URLSearchParams({ password: PASSWORD, new_password: newPassword, _xsrf: s.xsrf }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", Cookie: s.cookie },
  });
}

describe("secret rotation and ended sessions", () => {
  const box = useEdge({ bans: { warningsBeforeBan: 1 } });

  test("rotating the JWT secret logs everyone out, without a warning", async () => {
    const { edge } = box;
    const s = await signIn(edge, ip(), "rota");
    assert.equal((await get(edge, "/app/x", s)).status, 200);
    const weak = await adminJson(edge, "/secrets/jwtSecret", { method: "POST", body: JSON.stringify({ value: "too-short" }) });
    assert.equal(weak.status, 422);
    assert.equal((await get(edge, "/app/x", s)).status, 200, "a refused rotation changes nothing");
    const newSecret = "rotated-secret-rotated-secret-0123456789";
    const rotated = await adminJson(edge, "/secrets/jwtSecret", { method: "POST", body: JSON.stringify({ value: newSecret }) });
    assert.equal(rotated.status, 200);
    assert.ok(!JSON.stringify(rotated.body).includes(newSecret), "the secret is never returned");
    const clientIp = "198.18.7.250";
    const r = await edge.request("/app/x", { ip: clientIp, headers: { Accept: "application/json", Cookie: s.cookie } });
    assert.equal(r.status, 401);
    assert.equal((await r.json()).error, "session_ended");
    // One warning would ban (warningsBeforeBan 1): an ended session is none.
    const again = await edge.request("/", { ip: clientIp });
    assert.equal(again.status, 200, "not banned");
    await again.arrayBuffer();
    const fresh = await signIn(edge, ip(), "rota");
    const { payload } = await jwtVerify(fresh.token, new TextEncoder().encode(newSecret), { algorithms: ["HS256"] });
    assert.equal(payload.sub, "u-rota");
    await assert.rejects(jwtVerify(fresh.token, new TextEncoder().encode(JWT_SECRET), { algorithms: ["HS256"] }));
    const settings = await adminJson(edge, "/settings");
    assert.equal(settings.body.secrets.jwtSecret, "set");
    assert.ok(!JSON.stringify(settings.body).includes(newSecret));
  });

  test("rotating the XSRF salt logs everyone out", async () => {
    const { edge } = box;
    const s = await signIn(edge, ip(), "salty");
    assert.equal((await adminJson(edge, "/secrets/xsrfSalt", { method: "POST" })).status, 200);
    const r = await get(edge, "/app/x", s);
    assert.equal(r.status, 401);
    assert.equal(r.body.error, "session_ended");
    assert.equal(r.headers.getSetCookie().filter((c) => c.includes("Max-Age=0")).length, 2, "both cookies cleared");
  });

  test("an admin ends one user's sessions, or everyone's", async () => {
    const { edge } = box;
    const a = await signIn(edge, ip(), "endme");
    const b = await signIn(edge, ip(), "keepme");
    assert.equal((await adminJson(edge, "/users/u-endme/sessions", { method: "DELETE" })).status, 200);
    assert.equal((await get(edge, "/app/x", a)).status, 401);
    assert.equal((await get(edge, "/app/x", b)).status, 200, "other users keep theirs");
    const later = await signIn(edge, ip(), "endme");
    assert.equal((await get(edge, "/app/x", later)).status, 200, "a new login works");
    assert.equal((await adminJson(edge, "/sessions", { method: "DELETE" })).status, 200);
    assert.equal((await get(edge, "/app/x", b)).status, 401);
    assert.equal((await get(edge, "/app/x", later)).status, 401);
    assert.equal((await adminJson(edge, `/users/${"x".repeat(300)}/sessions`, { method: "DELETE" })).status, 422);
  });
});

describe("single session", () => {
  const box = useEdge({ login: { singleSession: "endOthers", inactiveAccountSeconds: 0 } });

  test("a new login ends the user's other session; the exception allows several", async () => {
    const { edge } = box;
    const first = await signIn(edge, ip(), "solo");
    assert.equal((await get(edge, "/app/x", first)).status, 200);
    const second = await signIn(edge, ip(), "solo");
    const ended = await get(edge, "/app/x", first);
    assert.equal(ended.status, 401);
    assert.equal(ended.body.error, "session_ended");
    const page = await get(edge, "/app/x", first, { Accept: "text/html" });
    assert.equal(page.headers.get("location"), "/login?reason=session_ended");
    assert.equal((await get(edge, "/app/x", second)).status, 200);
    const patched = await adminJson(edge, "/users/u-solo", { method: "PATCH", body: JSON.stringify({ allowMultipleSessions: true }) });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.record.allowMultipleSessions, true);
    const third = await signIn(edge, ip(), "solo");
    assert.equal((await get(edge, "/app/x", second)).status, 200);
    assert.equal((await get(edge, "/app/x", third)).status, 200);
    const record = await adminJson(edge, "/users/u-solo");
    assert.equal(record.body.record.sessions.length, 2);
  });

  test("refuse-new mode refuses a second login until the first logs out", async () => {
    const { edge } = box;
    assert.equal((await adminJson(edge, "/settings", { method: "PATCH", body: JSON.stringify({ login: { singleSession: "refuseNew" } }) })).status, 200);
    const first = await signIn(edge, ip(), "only");
    const refused = await postLogin(edge, ip(), "only", PASSWORD);
    assert.equal(refused.status, 409);
    assert.equal((await refused.json()).error, "session_active");
    assert.deepEqual(refused.headers.getSetCookie(), [], "no session for the refused login");
    const out = await edge.request("/logout", {
      ip: ip(),
      method: "POST",
      headers: { Cookie: first.cookie, "X-XSRF-Token": first.xsrf },
    });
    await out.arrayBuffer();
    assert.equal((await get(edge, "/app/x", first)).status, 401, "logged out");
    const next = await signIn(edge, ip(), "only");
    assert.equal((await get(edge, "/app/x", next)).status, 200);
  });
});

describe("password expiry", () => {
  const box = useEdge({ passwords: { expirySeconds: 3, expiryWarningSeconds: 2 }, login: { inactiveAccountSeconds: 0 } });

  test("a warning header before expiry, then only the change page until the password changes", async () => {
    const { edge } = box;
    const s = await signIn(edge, ip(), "aging");
    assert.equal(s.expiresIn, null, "not yet in the warning period");
    await sleep(1200);
    const warned = await get(edge, "/app/x", s);
    assert.equal(warned.status, 200);
    const left = Number(warned.headers.get("portcullis-password-expires-in"));
    assert.ok(left >= 1 && left <= 2, `expires in ${left}`);
    await sleep(2000);
    const blocked = await get(edge, "/app/x", s);
    assert.equal(blocked.status, 403);
    assert.deepEqual([blocked.body.error, blocked.body.reason], ["password_change_required", "password_expired"]);
    const page = await get(edge, "/app/x", s, { Accept: "text/html" });
    assert.equal(page.status, 302);
    assert.equal(page.headers.get("location"), "/account/password?reason=password_expired");
    assert.equal((await get(edge, "/account/password", s, { Accept: "text/html" })).status, 200, "the change page passes");
    assert.equal((await get(edge, "/style.css", s)).status, 200, "static assets pass");
    const seen = origin.seen.length;
    const changed = await changePassword(edge, s, STRONG[0]);
    assert.equal(changed.status, 200);
    assert.equal(origin.seen.length, seen + 1);
    const after = sessionOf(changed);
    await changed.arrayBuffer();
    assert.equal((await get(edge, "/app/x", after)).status, 200, "free again with the renewed session");
    const relogin = await signIn(edge, ip(), "aging");
    assert.equal((await get(edge, "/app/x", relogin)).status, 200);
  });

  test("a user whose password never expires is exempt", async () => {
    const { edge } = box;
    await signIn(edge, ip(), "forever");
    assert.equal((await adminJson(edge, "/users/u-forever", { method: "PATCH", body: JSON.stringify({ neverExpires: true }) })).status, 200);
    await sleep(3100);
    const s = await signIn(edge, ip(), "forever");
    const r = await get(edge, "/app/x", s);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("portcullis-password-expires-in"), null);
  });
});

describe("history, first login, tightened policy, inactivity", () => {
  const box = useEdge({ passwords: { historyCount: 2, changeOnFirstLogin: true }, login: { inactiveAccountSeconds: 2 } });

  test("change on first login, then no reuse of the last two passwords", async () => {
    const { edge } = box;
    const s = await signIn(edge, ip(), "newbie");
    const blocked = await get(edge, "/app/x", s);
    assert.equal(blocked.status, 403);
    assert.equal(blocked.body.reason, "first_login");
    const before = origin.seen.length;
    const reused = await changePassword(edge, s, PASSWORD);
    assert.equal(reused.status, 422);
    assert.deepEqual((await reused.json()).rules, ["history"]);
    assert.equal(origin.seen.length, before, "the origin never saw the refused change");
    const refusedByOrigin = await changePassword(edge, s, ORIGIN_REFUSES);
    assert.equal(refusedByOrigin.status, 400);
    await refusedByOrigin.arrayBuffer();
    assert.equal((await get(edge, "/app/x", s)).status, 403, "still required after the origin refused");
    const first = await changePassword(edge, s, STRONG[0]);
    assert.equal(first.status, 200);
    const s1 = sessionOf(first);
    await first.arrayBuffer();
    assert.equal((await get(edge, "/app/x", s1)).status, 200);
    const second = await changePassword(edge, s1, STRONG[1]);
    assert.equal(second.status, 200);
    const s2 = sessionOf(second);
    await second.arrayBuffer();
    assert.equal((await changePassword(edge, s2, STRONG[0])).status, 422, "one of the last two");
    const third = await changePassword(edge, s2, PASSWORD);
    assert.equal(third.status, 200, "three passwords ago is allowed with historyCount 2");
    await third.arrayBuffer();
    const record = await adminJson(edge, "/users/u-newbie");
    assert.equal(record.body.record.historyEntries, 3);
    assert.ok(!JSON.stringify(record.body).match(/[A-Za-z0-9+/]{43}/), "no fingerprints in the admin view");
  });

  test("a password failing a tightened policy must be changed at the next login", async () => {
    const { edge } = box;
    await signIn(edge, ip(), "any-weak", PASSWORD);
    const s = await signIn(edge, ip(), "any-weak", "password1");
    const r = await get(edge, "/app/x", s);
    assert.equal(r.status, 403);
    // changeOnFirstLogin took precedence at the first login; the reason stays until a change.
    assert.ok(["first_login", "policy_tightened"].includes(r.body.reason), r.body.reason);
    assert.equal((await adminJson(edge, "/settings", { method: "PATCH", body: JSON.stringify({ passwords: { changeOnFirstLogin: false } }) })).status, 200);
    const fresh = await signIn(edge, ip(), "any-tight", "password1");
    assert.equal((await get(edge, "/app/x", fresh)).body.reason, "policy_tightened");
    const good = await signIn(edge, ip(), "any-fine", STRONG[2]);
    assert.equal((await get(edge, "/app/x", good)).status, 200);
  });

  test("an account not seen for too long is refused until an admin reactivates it", async () => {
    const { edge } = box;
    await signIn(edge, ip(), "sleepy");
    await sleep(3100);
    const refused = await postLogin(edge, ip(), "sleepy", PASSWORD);
    assert.equal(refused.status, 403);
    assert.equal((await refused.json()).error, "account_inactive");
    assert.equal((await adminJson(edge, "/users/u-sleepy")).body.record.inactive, true);
    assert.equal((await adminJson(edge, "/users/u-sleepy", { method: "PATCH", body: JSON.stringify({ reactivate: true }) })).status, 200);
    await signIn(edge, ip(), "sleepy");
    assert.equal((await adminJson(edge, "/users/u-sleepy", { method: "PATCH", body: JSON.stringify({ nope: 1 }) })).status, 422);
  });
});

describe("reset links", () => {
  const box = useEdge({ sessions: { resetLinks: { selfServiceSeconds: 2 } }, passwords: { historyCount: 3 }, login: { inactiveAccountSeconds: 0 } });

  const mint = (edge, user, purpose = "sentByAdmin") =>
    adminJson(edge, "/reset-tokens", { method: "POST", body: JSON.stringify({ user, purpose }) });

  const postReset = (edge, token, newPassword, headers = {}) =>
    edge.request("/reset", {
      ip: ip(),
      method: "POST",
      body: new URLSearchParams({ token, new_password: newPassword }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", Accept: "application/json", ...headers },
    });

  test("a link is accepted once and passes the verified user to the origin", async () => {
    const { edge } = box;
    const minted = await mint(edge, "u-rita");
    assert.equal(minted.status, 201);
    assert.match(minted.body.url, /^\/reset\?token=[A-Za-z0-9_-]{43}$/);
    const page = await edge.request(minted.body.url, { ip: ip(), headers: { "Portcullis-Reset-User": "u-mallory" } });
    assert.equal(page.status, 200);
    const seen = await page.json();
    assert.equal(seen.headers["portcullis-reset-user"], "u-rita", "the verified user, never the client's header");
    assert.equal(seen.headers["portcullis-reset-purpose"], "sentByAdmin");
    const weak = await postReset(edge, minted.body.token, "short");
    assert.equal(weak.status, 422, "core checks the new password first");
    await weak.arrayBuffer();
    const refused = await postReset(edge, minted.body.token, ORIGIN_REFUSES);
    assert.equal(refused.status, 400, "the origin's refusal");
    await refused.arrayBuffer();
    const used = await postReset(edge, minted.body.token, STRONG[0]);
    assert.equal(used.status, 200, "still usable after those refusals");
    const reseen = await used.json();
    assert.equal(reseen.headers["portcullis-reset-user"], "u-rita");
    const twice = await postReset(edge, minted.body.token, STRONG[1]);
    assert.equal(twice.status, 410);
    assert.equal((await twice.json()).error, "reset_link_used");
    const html = await edge.request(minted.body.url, { ip: ip(), headers: { Accept: "text/html" } });
    assert.equal(html.status, 302);
    assert.equal(html.headers.get("location"), "/reset?reason=reset_link_used");
    // The reset password is history now.
    const again = await mint(edge, "u-rita");
    // A token without the new password is refused, not forwarded unredeemed.
    const bare = await edge.request("/reset", {
      ip: ip(),
      method: "POST",
      body: new URLSearchParams({ token: again.body.token }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", Accept: "application/json" },
    });
    assert.equal(bare.status, 400);
    assert.equal((await bare.json()).error, "missing_field");
    // A JSON body hiding the password from the edge is refused too.
    const hidden = await edge.request(`/reset?token=${again.body.token}`, {
      ip: ip(),
      method: "POST",
      body: JSON.stringify({ x: "&new_password=weak&" }),
      headers: { "content-type": "application/json", Accept: "application/json" },
    });
    assert.equal(hidden.status, 400);
    await hidden.arrayBuffer();
    const reuse = await postReset(edge, again.body.token, STRONG[0]);
    assert.equal(reuse.status, 422);
    assert.deepEqual((await reuse.json()).rules, ["history"]);
  });

  test("a reset ends the user's sessions; a change ends the others but keeps the one that made it", async () => {
    const { edge } = box;
    const thief = await signIn(edge, ip(), "victim");
    const owner = await signIn(edge, ip(), "victim");
    assert.equal((await get(edge, "/app/x", thief)).status, 200);
    const changed = await changePassword(edge, owner, STRONG[2]);
    assert.equal(changed.status, 200);
    const kept = sessionOf(changed);
    await changed.arrayBuffer();
    assert.equal((await get(edge, "/app/x", thief)).body.error, "session_ended", "the other session ended");
    assert.equal((await get(edge, "/app/x", kept)).status, 200, "the session that changed it goes on");
    const minted = await mint(edge, "u-victim");
    const reset = await postReset(edge, minted.body.token, STRONG[1]);
    assert.equal(reset.status, 200);
    await reset.arrayBuffer();
    assert.equal((await get(edge, "/app/x", kept)).body.error, "session_ended", "a reset ends every session");
  });

  test("parallel uses of one link: exactly one wins", async () => {
    const { edge } = box;
    const minted = await mint(edge, "u-race", "invitation");
    const answers = await Promise.all(STRONG.map((pw) => postReset(edge, minted.body.token, pw)));
    const statuses = answers.map((r) => r.status).sort();
    await Promise.all(answers.map((r) => r.arrayBuffer()));
    assert.deepEqual(statuses, [200, 410, 410]);
  });

  test("unknown, expired and malformed requests", async () => {
    const { edge } = box;
    const unknown = await postReset(edge, "A".repeat(43), STRONG[0]);
    assert.equal(unknown.status, 400);
    assert.equal((await unknown.json()).error, "reset_link_invalid");
    const minted = await mint(edge, "u-late", "selfService");
    await sleep(2100);
    const late = await postReset(edge, minted.body.token, STRONG[0]);
    assert.equal(late.status, 410);
    assert.equal((await late.json()).error, "reset_link_expired");
    assert.equal((await mint(edge, "u-x", "whenever")).status, 422);
    assert.equal((await mint(edge, "", "invitation")).status, 422);
    // Without a token the reset page is the origin's (asking for a link).
    const ask = await edge.request("/reset", { ip: ip() });
    assert.equal(ask.status, 200);
    assert.equal((await ask.json()).headers["portcullis-reset-user"], undefined);
  });

  test("with password reset switched off no link is minted or accepted", async () => {
    const { edge } = box;
    const minted = await mint(edge, "u-off");
    assert.equal((await adminJson(edge, "/settings", { method: "PATCH", body: JSON.stringify({ signup: { passwordResetEnabled: false } }) })).status, 200);
    assert.equal((await mint(edge, "u-off")).status, 409);
    const r = await postReset(edge, minted.body.token, STRONG[0]);
    assert.equal(r.status, 404);
    assert.equal((await r.json()).error, "password_reset_disabled");
    const audit = await adminJson(edge, "/audit");
    const kinds = new Set(audit.body.entries.map((e) => e.kind));
    for (const kind of ["resetTokenIssued", "resetTokenUsed", "settingsChanged"]) assert.ok(kinds.has(kind), kind);
    assert.ok(!JSON.stringify(audit.body).includes(minted.body.token), "tokens are never logged");
    assert.ok(!JSON.stringify(audit.body).includes(APP_KEY) && !JSON.stringify(audit.body).includes(XSRF_SALT));
  });
});
