// The built-in CAPTCHA on workerd: challenges from GET
// /__portcullis/challenge, solved by the npm package as installed (its
// Node entry), verified by the edge: a solution passes once, for its route
// and client; replayed, expired, tampered, wrong-route, other-client,
// unsolved and missing solutions are refused; warned clients get the
// raised difficulty.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { signIn, startEdge, startOrigin } from "./support/edge.js";
import { importPackage } from "./support/package.js";

let pkg;
let origin;
let edge;
before(async () => {
  pkg = await importPackage();
  origin = await startOrigin({
    users: { "unverified-uma": { verified: false }, "verified-vic": { verified: true }, "older-olaf": {} },
    // The origin confirms Uma's email on this page's answer.
    answer: (req) => (req.url === "/verify-email/done" ? { headers: { "Portcullis-Login-Verified": "true" } } : null),
  });
  edge = await startEdge({
    origin,
    policy: {
      captcha: {
        enabled: true,
        provider: "builtin",
        pages: ["signup", "reset"],
        unverifiedUsers: true,
        logResults: true,
        builtin: { difficulty: 10, raisedDifficulty: 12, raiseAfterWarnings: 3, expirySeconds: 2 },
      },
      bans: { warningsBeforeBan: 1000 },
    },
  });
});
after(async () => {
  await edge?.dispose();
  await origin?.close();
});

let n = 1;
const ip = () => `198.18.14.${n++}`;

/** A challenge for `route`, asked from `from`. */
async function challenge(from, route = "/signup") {
  const r = await edge.request(`/__portcullis/challenge?route=${encodeURIComponent(route)}`, { ip: from });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("cache-control") ?? "", /no-store/);
  return r.json();
}

/** A signup from `from` carrying `solution` (none when undefined). */
async function signup(from, solution) {
  const fields = { username: `cap${n}`, email: `cap${n}@example.com`, password: "Quiet-harbor-lantern-81" };
  if (solution !== undefined) fields["portcullis-captcha"] = solution;
  const r = await edge.request("/signup", {
    ip: from,
    method: "POST",
    body: new URLSearchParams(fields).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  const body = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  return { status: r.status, reason: body?.reason, body };
}

describe("the built-in CAPTCHA", () => {
  test("a solved challenge passes once; its replay is refused", async () => {
    const from = ip();
    const c = await challenge(from);
    assert.deepEqual([c.algorithm, c.difficulty, c.field], ["SHA-256", 10, "portcullis-captcha"]);
    const progress = [];
    const solution = await pkg.solveChallenge(c, { onProgress: (p) => progress.push(p) });
    assert.ok(progress.at(-1).done);
    assert.equal((await signup(from, solution)).status, 200);
    const replay = await signup(from, solution);
    assert.deepEqual([replay.status, replay.body.error, replay.reason], [403, "captcha_failed", "replayed"]);
  });

  test("tampered, wrong-route, other-client, unsolved and missing solutions are refused", async () => {
    const from = ip();
    const good = await pkg.solveChallenge(await challenge(from));
    const [head, counter] = [good.slice(0, good.lastIndexOf(".")), good.slice(good.lastIndexOf(".") + 1)];
    const parts = head.split(".");
    const cases = [
      ["a lower difficulty", [parts[0], "9", ...parts.slice(2)].join(".") + "." + counter, "badSignature"],
      ["a later expiry", [parts[0], parts[1], String(Number(parts[2]) + 100), ...parts.slice(3)].join(".") + "." + counter, "badSignature"],
      ["a changed MAC", head.slice(0, -2) + (head.endsWith("AA") ? "BB" : "AA") + "." + counter, "badSignature"],
      ["an unsolved counter", head + "." + (Number(counter) + 1), "unsolved"],
      ["junk", "pc1.x", "malformed"],
      ["nothing", undefined, "missing"],
    ];
    for (const [what, solution, reason] of cases) {
      const r = await signup(from, solution);
      // An unsolved counter may, rarely, solve too: then the right one still passes below.
      if (what === "an unsolved counter" && r.status === 200) continue;
      assert.deepEqual([r.status, r.reason], [403, reason], what);
    }
    // Another client (address) with the same solution: not its challenge.
    assert.deepEqual([(await signup(ip(), good)).reason], ["badSignature"]);
    // A challenge for another route: not this form's.
    const reset = await pkg.solveChallenge(await challenge(from, "/reset"));
    assert.equal((await signup(from, reset)).reason, "badSignature");
    // The right one, after all that, still passes once.
    assert.equal((await signup(from, good)).status, 200);
  });

  test("an expired solution is refused", async () => {
    const from = ip();
    const solution = await pkg.solveChallenge(await challenge(from));
    await new Promise((resolve) => setTimeout(resolve, 2200));
    assert.equal((await signup(from, solution)).reason, "expired");
  });

  test("a client with recent warnings gets the raised difficulty", async () => {
    const from = ip();
    assert.equal((await challenge(from)).difficulty, 10);
    for (let i = 0; i < 3; i++) assert.equal((await signup(from, "pc1.x")).status, 403);
    assert.equal((await challenge(from)).difficulty, 12);
  });

  test("users whose email is not verified solve it on the configured actions, until the origin says they are", async () => {
    const from = ip();
    const post = (s, path, solution) => {
      const fields = { subject: "Help", _xsrf: s.xsrf };
      if (solution) fields["portcullis-captcha"] = solution;
      return edge.request(path, {
        ip: from,
        method: "POST",
        body: new URLSearchParams(fields).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", Cookie: s.cookie },
      });
    };
    const uma = await signIn(edge, from, "unverified-uma");
    const bare = await post(uma, "/tickets");
    assert.equal(bare.status, 403);
    assert.equal((await bare.json()).reason, "missing");
    const other = await post(uma, "/community/replies");
    assert.equal(other.status, 200, "not a configured action");
    await other.arrayBuffer();
    const solved = await post(uma, "/tickets", await pkg.solveChallenge(await challenge(from, "/tickets")));
    assert.equal(solved.status, 200);
    await solved.arrayBuffer();
    // Verified at login, or a session from before the header: no CAPTCHA.
    for (const name of ["verified-vic", "older-olaf"]) {
      const r = await post(await signIn(edge, from, name), "/tickets");
      assert.equal(r.status, 200, name);
      await r.arrayBuffer();
    }
    // The origin says Uma's email is verified: her session is renewed without the mark.
    const confirm = await edge.request("/verify-email/done", { ip: from, headers: { Cookie: uma.cookie } });
    assert.equal(confirm.status, 200);
    await confirm.arrayBuffer();
    const renewed = confirm.headers.getSetCookie().find((c) => c.startsWith("__Host-portcullis-session="));
    assert.ok(renewed, "the answer renews the session");
    const after = await post({ ...uma, cookie: renewed.split(";")[0] }, "/tickets");
    assert.equal(after.status, 200);
    await after.arrayBuffer();
  });

  test("the challenge route answers only for the built-in provider and a path", async () => {
    const bad = await edge.request("/__portcullis/challenge", { ip: ip() });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error, "invalid_route");
    const post = await edge.request("/__portcullis/challenge?route=/signup", { ip: ip(), method: "POST" });
    assert.equal(post.status, 405);
    await post.arrayBuffer();
    const off = await edge.admin("/settings", { method: "PATCH", body: JSON.stringify({ captcha: { enabled: false } }) });
    assert.equal(off.status, 200);
    await off.arrayBuffer();
    const gone = await edge.request("/__portcullis/challenge?route=/signup", { ip: ip() });
    assert.equal(gone.status, 404);
    await gone.arrayBuffer();
  });
});
