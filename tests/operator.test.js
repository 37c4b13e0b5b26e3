// In front of a real application, for its operator, on workerd: a way back
// in (`wrangler secret put APPLICATION_KEY` after a rotation through the
// API takes over; the environment key that rotation replaced does not come
// back), each admin action's actor (a short id from the key, never the
// key), and policy as code (the deployment's policy authoritative, landing
// audited when it changes, the admin API's policy writes refused).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { APP_KEY, adminJson, startEdge, startOrigin } from "./support/edge.js";

const ROTATED = "rotated-through-the-api-0123456789-abcdef";
const PUT_LATER = "put-with-wrangler-later-0123456789-abcdef";

let origin;
before(async () => {
  origin = await startOrigin();
});
after(() => origin.close());

const status = async (edge, key) => (await adminJson(edge, "/settings", { key })).status;

describe("break-glass", () => {
  test("a new APPLICATION_KEY takes over after a rotation through the API; the one it replaced stays out", async () => {
    let edge = await startEdge({ origin });
    const persist = edge.persist;
    try {
      const r = await adminJson(edge, "/secrets/applicationKey", { method: "POST", body: JSON.stringify({ value: ROTATED }) });
      assert.equal(r.status, 200);
      assert.equal(await status(edge, APP_KEY), 401, "the old key is out");
      assert.equal(await status(edge, ROTATED), 200);
      await edge.dispose();

      // Restarted with the same (leaked) environment key: it does not come back.
      edge = await startEdge({ origin, persist });
      assert.equal(await status(edge, APP_KEY), 401);
      assert.equal(await status(edge, ROTATED), 200);
      await edge.dispose();

      // `wrangler secret put APPLICATION_KEY` with a new value: it takes over.
      edge = await startEdge({ origin, persist, bindings: { APPLICATION_KEY: PUT_LATER } });
      assert.equal(await status(edge, PUT_LATER), 200);
      assert.equal(await status(edge, ROTATED), 401, "the API's key is replaced");
      assert.equal(await status(edge, APP_KEY), 401);
      // The isolate's own check (a wrong key refused before Control) agrees.
      const wrong = await edge.request("/__portcullis/admin/settings", { headers: { Authorization: `Bearer ${ROTATED}` } });
      assert.equal(wrong.status, 401);
      await wrong.arrayBuffer();
      await edge.dispose();

      // The takeover is stored: a rollback to the leaked key, or a deleted
      // secret, keeps the key that took over.
      for (const APPLICATION_KEY of [APP_KEY, "", ROTATED]) {
        edge = await startEdge({ origin, persist, bindings: { APPLICATION_KEY } });
        assert.equal(await status(edge, PUT_LATER), 200, `APPLICATION_KEY=${APPLICATION_KEY.slice(0, 8)}`);
        assert.equal(await status(edge, APP_KEY), 401);
        await edge.dispose();
      }
      // Rotating again through the API retires the key in force too.
      edge = await startEdge({ origin, persist, bindings: { APPLICATION_KEY: PUT_LATER } });
      assert.equal((await adminJson(edge, "/secrets/applicationKey", { method: "POST", key: PUT_LATER, body: JSON.stringify({ value: ROTATED + "-2" }) })).status, 200);
      await edge.dispose();
      for (const APPLICATION_KEY of [APP_KEY, PUT_LATER]) {
        edge = await startEdge({ origin, persist, bindings: { APPLICATION_KEY } });
        assert.equal(await status(edge, ROTATED + "-2"), 200, "retired keys never take over");
        assert.equal(await status(edge, APPLICATION_KEY), 401);
        await edge.dispose();
      }
      edge = await startEdge({ origin, persist });
    } finally {
      await edge.dispose();
    }
  });
});

describe("actors", () => {
  test("each admin action records a short actor id from the key, never the key", async () => {
    const edge = await startEdge({ origin });
    try {
      assert.equal((await adminJson(edge, "/settings", { method: "PATCH", body: JSON.stringify({ passwords: { minLength: 10 } }) })).status, 200);
      assert.equal((await adminJson(edge, "/bans", { method: "POST", body: JSON.stringify({ target: "203.0.113.50", seconds: 60 }) })).status, 201);
      assert.equal((await adminJson(edge, "/secrets/applicationKey", { method: "POST", body: JSON.stringify({ value: ROTATED }) })).status, 200);
      assert.equal((await adminJson(edge, "/settings", { method: "PATCH", key: ROTATED, body: JSON.stringify({ passwords: { minLength: 11 } }) })).status, 200);
      const { body } = await adminJson(edge, "/audit?limit=100", { key: ROTATED });
      const admin = body.entries.filter((e) => ["settingsChanged", "banAdded", "secretRotated"].includes(e.kind));
      assert.equal(admin.length, 4, JSON.stringify(body.entries.map((e) => e.kind)));
      for (const e of admin) assert.match(e.detail.actor, /^key-[0-9a-f]{12}$/, JSON.stringify(e));
      const actors = new Set(admin.map((e) => e.detail.actor));
      assert.equal(actors.size, 2, "two keys, two actors");
      const text = JSON.stringify(body);
      assert.ok(!text.includes(APP_KEY) && !text.includes(ROTATED), "never the key");
    } finally {
      await edge.dispose();
    }
  });
});

describe("policy as code", () => {
  test("the deployment's policy is authoritative, lands audited when it changes, and the API does not write it", async () => {
    const code = () => ({ PORTCULLIS_POLICY_SOURCE: "code" });
    let edge = await startEdge({ origin, policy: { passwords: { minLength: 13 } }, bindings: code() });
    const persist = edge.persist;
    try {
      let r = await adminJson(edge, "/settings");
      assert.equal(r.body.policy.passwords.minLength, 13);
      assert.equal(r.body.policySource, "code");
      const refused = await adminJson(edge, "/settings", { method: "PATCH", body: JSON.stringify({ passwords: { minLength: 20 } }) });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.error, "policy_as_code");
      assert.equal((await adminJson(edge, "/settings")).body.policy.passwords.minLength, 13, "nothing written");
      // Lists and secrets stay writable.
      assert.equal((await adminJson(edge, "/bans", { method: "POST", body: JSON.stringify({ target: "203.0.113.51", seconds: 60 }) })).status, 201);
      await edge.dispose();

      // A changed wrangler.toml replaces the stored policy at the next start.
      edge = await startEdge({ origin, persist, policy: { passwords: { minLength: 15 } }, bindings: code() });
      r = await adminJson(edge, "/settings");
      assert.equal(r.body.policy.passwords.minLength, 15);
      const audit = await adminJson(edge, "/audit?kind=settingsChanged");
      const landed = audit.body.entries.filter((e) => e.detail.by === "policyAsCode");
      assert.equal(landed.length, 1, "the change, once (the first start seeds it)");
      assert.match(landed[0].detail.digest, /^[0-9a-f]{64}$/);
      await edge.dispose();

      // Without the mode (SPEC's default), the stored policy stays and the
      // deployment's only seeds a first start.
      edge = await startEdge({ origin, persist, policy: { passwords: { minLength: 9 } } });
      r = await adminJson(edge, "/settings");
      assert.equal(r.body.policy.passwords.minLength, 15);
      assert.equal(r.body.policySource, "seed");
      assert.equal((await adminJson(edge, "/settings", { method: "PATCH", body: JSON.stringify({ passwords: { minLength: 16 } }) })).status, 200);
    } finally {
      await edge.dispose();
    }
  });

  test("npm run validate prints each error with its field; its exit status says whether the policy is valid", () => {
    const dir = mkdtempSync(join(tmpdir(), "portcullis-validate-"));
    const bad = join(dir, "bad.json");
    const good = join(dir, "good.json");
    writeFileSync(bad, JSON.stringify({ version: 1, login: { maxFailedAttempts: 0 }, bans: { banSeconds: -1 }, nope: 1 }));
    writeFileSync(good, JSON.stringify({ version: 1, passwords: { minLength: 12 } }));
    const run = (file) => {
      try {
        return { code: 0, out: execFileSync("cargo", ["run", "--quiet", "--locked", "-p", "portcullis-core", "--bin", "portcullis-validate", "--", file], { encoding: "utf8" }) };
      } catch (e) {
        return { code: e.status, out: e.stdout };
      }
    };
    const failed = run(bad);
    assert.equal(failed.code, 1);
    for (const field of ["login.maxFailedAttempts", "bans.banSeconds", "nope"]) assert.match(failed.out, new RegExp(`\`${field.replace(".", "\\.")}\``));
    assert.equal(run(good).code, 0);
  });
});
