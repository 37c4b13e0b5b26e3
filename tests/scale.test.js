// Under attack: the edge on workerd keeps banning, counting and answering
// without the one Control object on any per-request or per-warning path.
// Control is made unavailable from the test side (a stand-in binding the
// test switches off, tests/support/edge.js `controlSwitch`), never by a
// flag in the Worker.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { adminJson, PASSWORD, postLogin, signIn, startEdge, startOrigin } from "./support/edge.js";

let origin;
before(async () => {
  origin = await startOrigin();
});
after(() => origin.close());

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function get(edge, path, s, ip = "198.18.40.1") {
  const r = await edge.request(path, { ip, headers: { Accept: "application/json", ...(s ? { Cookie: s.cookie } : {}) } });
  await r.arrayBuffer();
  return r.status;
}

/** Polls `check` (bounded: 40 tries, 250 ms apart) until it is true. */
async function eventually(check, what) {
  for (let i = 0; i < 40; i++) {
    if (await check()) return;
    await sleep(250);
  }
  assert.fail(`never: ${what}`);
}

describe("with Control unavailable", () => {
  let edge;
  before(async () => {
    edge = await startEdge({ origin, controlSwitch: true, cacheSeconds: 1, policy: { bans: { warningsBeforeBan: 3 }, login: { maxFailedAttempts: 50 } } });
  });
  after(() => edge.dispose());

  test("logins, new bans, the hot path and wrong admin keys keep working, and the audit entries arrive once it is back", async () => {
    const alice = await signIn(edge, "198.18.40.2", "alice");
    assert.equal(await get(edge, "/app/x", alice), 200);
    assert.deepEqual(await edge.control(false), { down: true, hang: false, refused: 0 });

    // Past the cache lifetime the refresh fails: the last snapshot stays.
    await sleep(1300);
    assert.equal(await get(edge, "/app/x", alice), 200, "the hot path");
    assert.equal(await get(edge, "/app/x", alice), 200);
    const bob = await signIn(edge, "198.18.40.3", "bob");
    assert.equal(await get(edge, "/app/x", bob), 200, "a new login");

    // Three failed logins ban the address, without Control.
    for (let i = 0; i < 3; i++) {
      const r = await postLogin(edge, "198.18.40.66", "carol", "wrong-password");
      assert.equal(r.status, 401);
      await r.arrayBuffer();
    }
    assert.equal(await get(edge, "/hello", null, "198.18.40.66"), 403, "banned at once");

    // A wrong application key is refused in the isolate.
    const wrong = await edge.request("/__portcullis/admin/settings", { ip: "198.18.40.77", headers: { Authorization: "Bearer wrong-key" } });
    assert.equal(wrong.status, 401);
    await wrong.arrayBuffer();

    const { refused } = await edge.control(true);
    assert.ok(refused >= 1, "Control was asked (the refresh) and did not answer");
    assert.ok(edge.logs.join("").includes("keeping the last one"), "the failed refresh is logged");

    // Reading the log hands over what the shards held: each warning once.
    const audit = await adminJson(edge, "/audit?ip=198.18.40.66&kind=warning");
    assert.equal(audit.status, 200);
    assert.equal(audit.body.entries.length, 3);
    const banned = await adminJson(edge, "/audit?kind=banned");
    assert.deepEqual(banned.body.entries.map((e) => e.ip), ["198.18.40.66"]);
    const again = await adminJson(edge, "/audit?ip=198.18.40.66&kind=warning");
    assert.equal(again.body.entries.length, 3, "a second read adds nothing");
    const wrongKey = await adminJson(edge, "/audit?ip=198.18.40.77&kind=warning");
    assert.deepEqual(wrongKey.body.entries.map((e) => e.detail.warning), ["wrongApplicationKey"]);
    const bans = await adminJson(edge, "/bans");
    assert.deepEqual(bans.body.bans.map((b) => b.target), ["198.18.40.66"]);
  });

  test("a password change's session revocation is retried until it lands", async () => {
    const first = await signIn(edge, "198.18.41.1", "dave");
    const second = await signIn(edge, "198.18.41.2", "dave");
    assert.equal(await get(edge, "/app/x", second), 200);
    await edge.control(false);
    const change = await edge.request("/account/password", {
      ip: "198.18.41.1",
      method: "POST",
      body: new URLSearchParams({ password: PASSWORD, new_password: "Kestrel-orbit-91-lantern", _xsrf: first.xsrf }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", Cookie: first.cookie },
    });
    assert.equal(change.status, 200, "the change goes through while Control is away");
    await change.arrayBuffer();
    // The change made this isolate reload; Control's absence must not make
    // it answer 503 to everyone (it keeps its copy).
    assert.equal(await get(edge, "/hello", null, "198.18.41.9"), 200);
    await sleep(300);
    await edge.control(true);
    // The user's object retries; once Control has it and the replica
    // refreshed, the other session is over.
    await eventually(async () => (await get(edge, "/app/x", second)) !== 200, "the older session ended");
  });

  test("a Control that hangs holds a password change at most briefly, and the revocation still lands", async () => {
    const first = await signIn(edge, "198.18.41.11", "frank");
    const second = await signIn(edge, "198.18.41.12", "frank");
    assert.equal(await get(edge, "/app/x", second), 200);
    await edge.control("hang");
    try {
      const started = Date.now();
      const change = await edge.request("/account/password", {
        ip: "198.18.41.11",
        method: "POST",
        body: new URLSearchParams({ password: PASSWORD, new_password: "Heron-quartz-57-meadow", _xsrf: first.xsrf }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", Cookie: first.cookie },
      });
      await change.arrayBuffer();
      const took = Date.now() - started;
      assert.equal(change.status, 200, "the change goes through while Control hangs");
      // The revocation waits 1.5 s for Control, then the alarm takes over
      // (without the bound it waited the stand-in's whole 20 s).
      assert.ok(took < 10_000, `the change took ${took} ms`);
      assert.ok(edge.logs.join("").includes("not confirmed within"), "the wait that ran out is logged");
    } finally {
      await edge.control(true);
    }
    await eventually(async () => (await get(edge, "/app/x", second)) !== 200, "the older session ended");
  });
});

describe("Control's share", () => {
  let edge;
  before(async () => {
    edge = await startEdge({ origin, cacheSeconds: 600, policy: { bans: { warningsBeforeBan: 1000 } } });
  });
  after(() => edge.dispose());

  test("wrong admin keys never reach Control; concurrent forged cookies cause one reload", async () => {
    const s = await signIn(edge, "198.18.42.1", "erin");
    const before = (await edge.metrics())["CONTROL.admin"] ?? 0;
    const wrong = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        edge.request("/__portcullis/admin/bans", { ip: `198.18.42.${10 + i}`, headers: { Authorization: "Bearer nope" } }),
      ),
    );
    assert.ok(wrong.every((r) => r.status === 401));
    await Promise.all(wrong.map((r) => r.arrayBuffer()));
    // (the metrics call itself is answered in the isolate)
    assert.equal((await edge.metrics())["CONTROL.admin"] ?? 0, before, "no wrong key reached Control");

    await sleep(5100); // the snapshot is older than 5 s: a forged token asks for a fresh one
    const snapshots = (await edge.metrics())["CONTROL.snapshot"] ?? 0;
    const [head, body] = s.token.split(".");
    const forged = `${head}.${body}.${"A".repeat(43)}`;
    const cookie = `__Host-portcullis-session=${forged}`;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        edge.request("/hello", { ip: `198.18.43.${10 + i}`, headers: { Cookie: cookie } }),
      ),
    );
    assert.ok(answers.every((r) => r.status === 200), "a forged cookie is no session, not an error");
    await Promise.all(answers.map((r) => r.arrayBuffer()));
    const reloads = ((await edge.metrics())["CONTROL.snapshot"] ?? 0) - snapshots;
    assert.ok(reloads <= 1, `20 forged cookies caused ${reloads} reloads`);
  });
});

describe("the verified-token cache", () => {
  test("a revoked token is refused at once by the isolate that cached its signature check", async () => {
    const edge = await startEdge({ origin, cacheSeconds: 600 });
    try {
      const s = await signIn(edge, "198.18.46.1", "frank");
      for (let i = 0; i < 3; i++) assert.equal(await get(edge, "/app/x", s), 200);
      const ended = await edge.admin("/users/u-frank/sessions", { method: "DELETE" });
      assert.equal(ended.status, 200);
      await ended.arrayBuffer();
      assert.notEqual(await get(edge, "/app/x", s), 200, "refused at once");
    } finally {
      await edge.dispose();
    }
  });
});

describe("one account under credential stuffing", () => {
  test("attempts on an account this isolate saw locked are refused without asking its object", async () => {
    const edge = await startEdge({ origin, cacheSeconds: 600, policy: { login: { maxFailedAttempts: 2, lockoutSeconds: 600 }, bans: { warningsBeforeBan: 1000 } } });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await postLogin(edge, `198.18.47.${i}`, "grace", "wrong-password");
        await r.arrayBuffer();
      }
      const before = (await edge.metrics())["ACCOUNT"] ?? 0;
      for (let i = 0; i < 10; i++) {
        const r = await postLogin(edge, `198.18.48.${i}`, "Grace", i % 2 ? "wrong-password" : PASSWORD);
        assert.equal(r.status, 423, "locked");
        await r.arrayBuffer();
      }
      assert.equal((await edge.metrics())["ACCOUNT"] ?? 0, before, "no attempt reached the account's object");
      const warned = await adminJson(edge, "/audit/clients?limit=100");
      assert.equal(warned.body.clients.filter((c) => c.client.startsWith("198.18.48.")).length, 10, "each attempt is still a warning");
      // The administrator's unlock is seen at once by this isolate.
      const unlocked = await edge.admin("/accounts/grace/unlock", { method: "POST" });
      assert.equal(unlocked.status, 200);
      await unlocked.arrayBuffer();
      const r = await postLogin(edge, "198.18.49.1", "grace", PASSWORD);
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    } finally {
      await edge.dispose();
    }
  });
});

describe("concurrent warnings", () => {
  test("warnings arriving together from one address are all counted and ban it at the threshold", async () => {
    const edge = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 3 } } });
    try {
      for (let k = 0; k < 10; k++) {
        const ip = `198.18.45.${k}`;
        const answers = await Promise.all([0, 1, 2, 3].map((i) => postLogin(edge, ip, `user${k}-${i}`, "wrong-password")));
        await Promise.all(answers.map((r) => r.arrayBuffer()));
      }
      const bans = (await adminJson(edge, "/bans")).body.bans.map((b) => b.target).sort();
      assert.deepEqual(bans, Array.from({ length: 10 }, (_, k) => `198.18.45.${k}`).sort());
      // The audit log's shards hand their entries over to Control on their
      // own schedule: wait (bounded) until all are in, then check that each
      // warning was counted exactly once (a double count never settles at 4).
      let counts = [];
      await eventually(async () => {
        counts = (await adminJson(edge, "/audit/clients?limit=100")).body.clients.map((c) => c.warnings);
        return counts.length === 10 && counts.every((n) => n >= 4);
      }, "every warning in the audit log");
      assert.deepEqual(counts, Array(10).fill(4), "every warning counted once");
    } finally {
      await edge.dispose();
    }
  });
});

describe("bans as data", () => {
  test("IPv6 /64 bans of one /48 become one ban of the /48, never over a never-ban address; bans outlive the isolate", async () => {
    const policy = { bans: { warningsBeforeBan: 1, aggregateV6After: 3, neverBan: ["2001:db8:2:ff::1"] } };
    let edge = await startEdge({ origin, cacheSeconds: 1, policy });
    const persist = edge.persist;
    try {
      const forge = (ip) => edge.request("/app/x", { ip, headers: { Cookie: "__Host-portcullis-session=x.y.z", Accept: "application/json" } });
      for (const ip of ["2001:db8:1:1::5", "2001:db8:1:2::5", "2001:db8:1:3::5", "2001:db8:2:1::5", "2001:db8:2:2::5", "2001:db8:2:3::5"]) {
        const r = await forge(ip);
        await r.arrayBuffer();
      }
      const bans = await adminJson(edge, "/bans");
      const targets = bans.body.bans.map((b) => b.target).sort();
      assert.deepEqual(targets, ["2001:db8:1::/48", "2001:db8:2:1::/64", "2001:db8:2:2::/64", "2001:db8:2:3::/64"]);
      assert.equal(bans.body.bans.find((b) => b.target === "2001:db8:1::/48").reason, "aggregate");
      // A /64 of the aggregated /48 that never warned is banned (after the
      // replica's next refresh); the /48 with a never-ban address is not.
      await eventually(async () => (await get(edge, "/hello", null, "2001:db8:1:77::1")) === 403, "the /48 is banned");
      assert.equal(await get(edge, "/hello", null, "2001:db8:2:77::1"), 200);
      const audit = await adminJson(edge, "/audit?kind=banned&ip=2001:db8:1::/48");
      assert.equal(audit.body.entries.length, 1);
      assert.equal(audit.body.entries[0].detail.members, 3);
      // A later, shorter aggregate of the same prefix never shortens it.
      for (const target of ["2001:db8:1:50::/64", "2001:db8:1:51::/64", "2001:db8:1:52::/64"]) {
        const r = await adminJson(edge, "/bans", { method: "POST", body: JSON.stringify({ target, seconds: 3 }) });
        assert.equal(r.status, 201);
      }
      const after = (await adminJson(edge, "/bans")).body.bans.find((b) => b.target === "2001:db8:1::/48");
      assert.ok(after && after.until > Date.now() / 1000 + 600, `the /48 still lasts: ${JSON.stringify(after)}`);
    } finally {
      await edge.dispose();
    }
    // A new isolate reads the bans from the shards.
    edge = await startEdge({ origin, cacheSeconds: 1, policy, persist });
    try {
      assert.equal(await get(edge, "/hello", null, "2001:db8:1:99::1"), 403);
      assert.equal(await get(edge, "/hello", null, "2001:db8:2:1::9"), 403);
      assert.equal(await get(edge, "/hello", null, "198.18.44.1"), 200);
      // Lifting the aggregate lifts its members' records too: their next
      // warning counts afresh instead of publishing the old ban again.
      const lifted = await edge.admin(`/bans/${encodeURIComponent("2001:db8:1::/48")}`, { method: "DELETE" });
      assert.equal(lifted.status, 200);
      await lifted.arrayBuffer();
      assert.equal(await get(edge, "/hello", null, "2001:db8:1:99::1"), 200);
      const bannedEntries = async () => (await adminJson(edge, `/audit?kind=banned&ip=${encodeURIComponent("2001:db8:1:1::/64")}`)).body.entries.length;
      const before = await bannedEntries();
      const r = await edge.request("/app/x", { ip: "2001:db8:1:1::5", headers: { Cookie: "__Host-portcullis-session=q.r.s", Accept: "application/json" } });
      await r.arrayBuffer();
      // (warningsBeforeBan is 1 here: the warning bans it again, as a new
      // ban, audited, not the old one announced again)
      assert.equal(await bannedEntries(), before + 1);
    } finally {
      await edge.dispose();
    }
  });
});
