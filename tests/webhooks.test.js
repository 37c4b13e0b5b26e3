// Signed webhooks and audit retention at the edge, on workerd: security
// events POSTed to a loopback receiver, the signature checked here with
// node:crypto (an implementation independent of the edge's), a receiver
// that fails first retried with backoff from the Durable Object alarm until
// delivered, one that keeps failing given up after maxAttempts, the
// delivery log, the webhook secret write-only, and old audit entries pruned.
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { PASSWORD, postLogin, startEdge, startOrigin } from "./support/edge.js";

const WEBHOOK_SECRET = "test-webhook-secret-0123456789-abcdefghij";

/** A receiver that answers `statuses` in turn (then the last one forever). */
async function startReceiver(statuses) {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString(), at: Date.now() });
      res.writeHead(statuses[Math.min(received.length - 1, statuses.length - 1)]).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks`,
    received,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/** Verifies `t=…,v1=…` the way a receiver would, with node:crypto. */
function verify(header, body, secret) {
  const parts = Object.fromEntries(header.split(",").map((p) => p.split("=")));
  const expected = createHmac("sha256", secret).update(`${parts.t}.${body}`).digest();
  const given = Buffer.from(parts.v1 ?? "", "hex");
  return { ok: given.length === expected.length && timingSafeEqual(given, expected), t: Number(parts.t) };
}

async function until(check, what, seconds = 20) {
  for (let i = 0; i < seconds * 10; i++) {
    const value = await check();
    if (value) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

let origin;
before(async () => {
  origin = await startOrigin();
});
after(() => origin?.close());

describe("webhooks", () => {
  test("a failing receiver is retried with backoff, then the event is delivered, signed", async () => {
    const receiver = await startReceiver([500, 503, 200]);
    const edge = await startEdge({
      origin,
      policy: { webhooks: { url: receiver.url, retryBaseSeconds: 1, maxAttempts: 5, events: ["banAdded"] } },
      bindings: { WEBHOOK_SECRET },
    });
    try {
      const ban = await edge.admin("/bans", { method: "POST", body: JSON.stringify({ target: "203.0.113.50", seconds: 60 }) });
      assert.equal(ban.status, 201);
      await ban.arrayBuffer();
      await until(() => receiver.received.length >= 3, "three attempts");
      const [first, second, third] = receiver.received;
      assert.ok(second.at - first.at >= 900, `first retry after ~1 s (${second.at - first.at} ms)`);
      assert.ok(third.at - second.at >= 1900, `second retry after ~2 s (${third.at - second.at} ms)`);
      for (const r of receiver.received) {
        const check = verify(r.headers["portcullis-signature"], r.body, WEBHOOK_SECRET);
        assert.ok(check.ok, "the signature verifies with node:crypto");
        assert.ok(Math.abs(check.t - Date.now() / 1000) < 30, "a fresh timestamp");
        assert.equal(verify(r.headers["portcullis-signature"], r.body.replace("203.0.113.50", "203.0.113.51"), WEBHOOK_SECRET).ok, false);
      }
      const event = JSON.parse(third.body);
      assert.equal(event.kind, "banAdded");
      assert.equal(event.attempt, 3);
      assert.equal(event.event.detail.target, "203.0.113.50");
      assert.ok(!third.body.includes(WEBHOOK_SECRET));
      const log = await until(async () => {
        const r = await edge.admin("/webhooks");
        const body = await r.json();
        return body.deliveries[0]?.delivery.state === "delivered" ? body : null;
      }, "the delivery log");
      assert.equal(log.deliveries[0].delivery.attempts, 3);
      assert.equal(log.deliveries[0].delivery.lastError, "HTTP 503");
      // Only the wanted kinds are sent.
      const unban = await edge.admin("/bans/203.0.113.50", { method: "DELETE" });
      await unban.arrayBuffer();
      await sleep(1500);
      assert.equal(receiver.received.length, 3, "banRemoved is not among the events");
    } finally {
      await edge.dispose();
      await receiver.close();
    }
  });

  test("a receiver that keeps failing is given up after maxAttempts; the secret is write-only", async () => {
    const receiver = await startReceiver([500]);
    const edge = await startEdge({
      origin,
      policy: { webhooks: { url: receiver.url, retryBaseSeconds: 1, maxAttempts: 2 } },
    });
    try {
      let settings = await (await edge.admin("/settings")).json();
      assert.equal(settings.secrets.webhookSecret, "unset");
      const short = await edge.admin("/secrets/webhookSecret", { method: "POST", body: JSON.stringify({ value: "short" }) });
      assert.equal(short.status, 422);
      await short.arrayBuffer();
      const set = await edge.admin("/secrets/webhookSecret", { method: "POST", body: JSON.stringify({ value: WEBHOOK_SECRET }) });
      assert.equal(set.status, 200);
      assert.ok(!(await set.text()).includes(WEBHOOK_SECRET));
      settings = await (await edge.admin("/settings")).json();
      assert.equal(settings.secrets.webhookSecret, "set");
      assert.ok(!JSON.stringify(settings).includes(WEBHOOK_SECRET));
      const ban = await edge.admin("/bans", { method: "POST", body: JSON.stringify({ target: "203.0.113.60", permanent: true }) });
      await ban.arrayBuffer();
      const log = await until(async () => {
        const body = await (await edge.admin("/webhooks")).json();
        const banAdded = body.deliveries.find((d) => d.kind === "banAdded");
        return banAdded?.delivery.state === "failed" ? banAdded : null;
      }, "the delivery to fail");
      assert.equal(log.delivery.attempts, 2);
      assert.equal(log.delivery.lastError, "HTTP 500");
      assert.ok(verify(receiver.received.at(-1).headers["portcullis-signature"], receiver.received.at(-1).body, WEBHOOK_SECRET).ok);
      // The CAPTCHA secret and the application key are replaced the same way.
      const captcha = await edge.admin("/secrets/captchaSecret", { method: "POST", body: JSON.stringify({ value: "captcha-secret-0123456789-abcdefghijk" }) });
      assert.equal(captcha.status, 200);
      await captcha.arrayBuffer();
      const newKey = "replaced-application-key-0123456789-abcdef";
      const replaced = await edge.admin("/secrets/applicationKey", { method: "POST", body: JSON.stringify({ value: newKey }) });
      assert.equal(replaced.status, 200);
      await replaced.arrayBuffer();
      const old = await edge.admin("/settings");
      assert.equal(old.status, 401, "the old key no longer works");
      await old.arrayBuffer();
      settings = await (await edge.admin("/settings", { key: newKey })).json();
      assert.equal(settings.secrets.captchaSecret, "set");
      const audit = await (await edge.admin("/audit", { key: newKey })).json();
      assert.ok(audit.entries.some((e) => e.kind === "secretRotated" && e.detail.secret === "webhookSecret"));
      assert.ok(!JSON.stringify(audit).includes(WEBHOOK_SECRET), "never in the audit log");
    } finally {
      await edge.dispose();
      await receiver.close();
    }
  });
});

describe("audit", () => {
  test("entries older than the retention are pruned", async () => {
    const edge = await startEdge({ origin, policy: { audit: { retentionSeconds: 2 } } });
    try {
      const first = await edge.admin("/bans", { method: "POST", body: JSON.stringify({ target: "203.0.113.70", seconds: 60 }) });
      await first.arrayBuffer();
      let audit = await (await edge.admin("/audit")).json();
      assert.ok(audit.entries.some((e) => e.detail?.target === "203.0.113.70"));
      await sleep(3100);
      const second = await edge.admin("/bans", { method: "POST", body: JSON.stringify({ target: "203.0.113.71", seconds: 60 }) });
      await second.arrayBuffer();
      audit = await (await edge.admin("/audit")).json();
      assert.ok(audit.entries.some((e) => e.detail?.target === "203.0.113.71"));
      assert.ok(!audit.entries.some((e) => e.detail?.target === "203.0.113.70"), "the old entry is gone");
    } finally {
      await edge.dispose();
    }
  });

  test("lockouts and warnings are logged; filters, exports, chart counts and the locked list", async () => {
    const edge = await startEdge({ origin, policy: { login: { maxFailedAttempts: 2, lockoutSeconds: 600 }, bans: { warningsBeforeBan: 1000 } } });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await postLogin(edge, "198.18.11.1", "lockme", "wrong");
        await r.arrayBuffer();
      }
      const locked = await (await edge.admin("/accounts/locked")).json();
      assert.equal(locked.accounts.length, 1);
      assert.equal(locked.accounts[0].account, "lockme");
      assert.ok(locked.accounts[0].until > Date.now() / 1000 + 500);

      const warnings = await (await edge.admin("/audit?kind=warning&ip=198.18.11.1")).json();
      assert.equal(warnings.entries.length, 2);
      assert.ok(warnings.entries.every((e) => e.detail.warning === "failedLogin"));
      const both = await (await edge.admin("/audit?kind=warning,accountLocked")).json();
      // Warnings are recorded off the response path and reach the log in
      // batches: the same second's entries come in no fixed order.
      assert.deepEqual(both.entries.map((e) => e.kind).sort(), ["accountLocked", "warning", "warning"]);
      assert.equal((await (await edge.admin("/audit?kind=warning&since=" + (Math.floor(Date.now() / 1000) + 60))).json()).entries.length, 0);

      const csv = await edge.admin("/audit?kind=accountLocked&format=csv");
      assert.match(csv.headers.get("content-type"), /text\/csv/);
      const lines = (await csv.text()).trim().split("\n");
      assert.equal(lines[0], "id,at,kind,ip,detail");
      assert.match(lines[1], /^\d+,\d+,"accountLocked","198\.18\.11\.1","\{""account"":""lockme""/);
      const jsonl = await edge.admin("/audit?format=jsonl&limit=2");
      const records = (await jsonl.text()).trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(records.length, 2);
      assert.equal((await edge.admin("/audit?format=xml")).status, 422);

      const stats = await (await edge.admin("/audit/stats?bucket=3600")).json();
      assert.ok(stats.counts.every((c) => c.at % 3600 === 0), "counted per whole hour");
      const count = (kind) => stats.counts.filter((c) => c.kind === kind).reduce((a, c) => a + c.count, 0);
      assert.equal(count("warning"), 2);
      assert.equal(count("accountLocked"), 1);

      const unlock = await edge.admin("/accounts/lockme/unlock", { method: "POST" });
      await unlock.arrayBuffer();
      assert.deepEqual((await (await edge.admin("/accounts/locked")).json()).accounts, []);
      const ok = await postLogin(edge, "198.18.11.2", "lockme", PASSWORD);
      assert.equal(ok.status, 200);
      await ok.arrayBuffer();
    } finally {
      await edge.dispose();
    }
  });
});
