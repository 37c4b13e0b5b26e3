// Stored records on workerd: an unreadable Durable Object record fails the
// requests that need it closed (503 state_unavailable, audited with the
// record's name) and leaves every other request alone; the admin API clears
// it; a record in the bare JSON the code wrote before versioned records
// still loads. The records are edited in the SQLite files Miniflare
// persists, between two runs of the Worker, with Python's sqlite3.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { PASSWORD, postLogin, startEdge, startOrigin } from "./support/edge.js";

/**
 * Rewrites the `lock` row of every AccountGuard whose record has exactly
 * `failures` failures to `value` (a Python one-off over the persisted
 * SQLite files); how many it rewrote.
 */
function rewriteLock(persist, failures, value) {
  const script = `
import json, os, sqlite3, sys
root, failures, value = sys.argv[1], int(sys.argv[2]), sys.argv[3]
done = 0
for folder, _, files in os.walk(root):
    for name in files:
        if not name.endswith(".sqlite"):
            continue
        db = sqlite3.connect(os.path.join(folder, name))
        try:
            rows = db.execute("SELECT value FROM lock WHERE id = 1").fetchall()
        except sqlite3.OperationalError:
            rows = []
        for (text,) in rows:
            try:
                record = json.loads(text)
            except ValueError:
                continue
            record = record.get("record", record)
            if record.get("failures") == failures:
                db.execute("UPDATE lock SET value = ? WHERE id = 1", (value,))
                db.commit()
                done += 1
        db.close()
print(done)
`;
  return Number(execFileSync("python3", ["-c", script, persist, String(failures), value]).toString().trim());
}

let origin;
let persist;
let n = 1;
const ip = () => `198.18.12.${n++}`;

async function status(edge, username, password) {
  const r = await postLogin(edge, ip(), username, password);
  const body = await r.json().catch(() => null);
  return { status: r.status, body };
}

before(async () => {
  origin = await startOrigin();
});
after(() => origin.close());

describe("stored records", () => {
  let edge;
  before(async () => {
    edge = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 1000 } } });
    persist = edge.persist;
    // alice: 2 failures; bob: 3; carol: 1 (each its own AccountGuard).
    for (const [name, count] of [["alice", 2], ["bob", 3], ["carol", 1]]) {
      for (let i = 0; i < count; i++) assert.equal((await status(edge, name, "wrong")).status, 401);
    }
    await edge.dispose();
    assert.equal(rewriteLock(persist, 2, "{not json"), 1, "alice's record damaged");
    // bob's record in the bare JSON of the code before versioned records,
    // one failure short of the default limit of 5.
    assert.equal(
      rewriteLock(persist, 3, JSON.stringify({ failures: 4, lockedUntil: null, lockouts: 0, permanent: false })),
      1,
    );
    edge = await startEdge({ origin, persist, policy: { bans: { warningsBeforeBan: 1000 } } });
  });
  after(() => edge?.dispose());

  test("an unreadable lockout record fails that account's logins closed", async () => {
    const seen = origin.seen.length;
    const r = await status(edge, "alice", PASSWORD);
    assert.equal(r.status, 503);
    assert.equal(r.body.error, "state_unavailable");
    assert.equal(origin.seen.length, seen, "the origin never saw the login");
  });

  test("other accounts are unaffected, and a version-1 record still counts", async () => {
    assert.equal((await status(edge, "carol", PASSWORD)).status, 200);
    const r = await status(edge, "bob", "wrong");
    assert.equal(r.status, 423, "bob's fifth failure (four stored as version 1) locks the account");
  });

  test("the audit log names the unreadable record", async () => {
    const audit = await (await edge.admin("/audit?kind=stateUnreadable")).json();
    const entry = audit.entries.find((e) => e.detail.record === "account:alice");
    assert.ok(entry, JSON.stringify(audit.entries));
    assert.ok(!JSON.stringify(entry).includes("not json"), "the damaged content is not logged");
  });

  test("the admin API clears the record and the account logs in again", async () => {
    const r = await edge.admin("/records/account/alice", { method: "DELETE" });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { cleared: "account:alice" });
    assert.equal((await status(edge, "alice", PASSWORD)).status, 200);
    const bad = await edge.admin("/records/nothing/here", { method: "DELETE" });
    assert.equal(bad.status, 422);
    await bad.arrayBuffer();
  });
});
