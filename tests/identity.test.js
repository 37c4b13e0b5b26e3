// The identity the edge signs for the origin, checked by the README's own
// verifiers in real servers on loopback (Express, and Flask from the pinned
// venv): requests through the edge pass, with or without a user; a missing,
// stale, wrongly keyed or replayed-elsewhere signature is refused; during a
// rotation the origin takes either secret.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import express from "express";
import { after, before, describe, test } from "node:test";
import { portcullisIdentity } from "../examples/identity/express.js";
import { PASSWORD, signIn, startEdge } from "./support/edge.js";
import { startIdentityFlask } from "./support/origins.js";

const NEW = "origin-secret-new-0123456789-abcdef-0123";
const OLD = "origin-secret-old-0123456789-abcdef-0123";

function startExpressOrigin() {
  const app = express();
  app.use(portcullisIdentity({ secrets: [NEW, OLD] }));
  app.post("/login", express.urlencoded({ extended: false }), (req, res) => {
    if (req.body.password === PASSWORD) res.set("Portcullis-Login-User", `u-${req.body.username}`);
    res.status(req.body.password === PASSWORD ? 200 : 401).json({});
  });
  app.all("*", (req, res) => res.json({ user: req.get("portcullis-user") ?? null }));
  const server = app.listen(0, "127.0.0.1");
  return new Promise((resolve) =>
    server.once("listening", () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }),
      })));
}

/** A signature made here, as the edge would (for the refusal cases). */
function sign(secret, t, method, host, path) {
  const v1 = createHmac("sha256", secret).update([t, method, host, path, "", "", ""].join("\n")).digest("hex");
  return `t=${t},v1=${v1}`;
}

for (const [name, start] of [["Express", startExpressOrigin], ["Flask", () => startIdentityFlask([NEW, OLD], PASSWORD)]]) {
  describe(name, () => {
    let origin;
    let edge;
    before(async () => {
      origin = await start();
      edge = await startEdge({ origin, bindings: { ORIGIN_SECRET: NEW }, policy: { bans: { warningsBeforeBan: 1000 } } });
    });
    after(async () => {
      await edge?.dispose();
      await origin?.close();
    });

    test("requests through the edge pass, with or without a user", async () => {
      const r = await edge.request("/hello?x=1&y=%20", { ip: "198.18.95.1" });
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal((await r.json()).user, null);
      const session = await signIn(edge, "198.18.95.2", "ida");
      const me = await edge.request("/app/me", { ip: "198.18.95.2", headers: { Cookie: session.cookie } });
      assert.equal(me.status, 200);
      assert.equal((await me.json()).user, "u-ida");
    });

    test("a missing, stale, wrong or misplaced signature is refused", async () => {
      const host = new URL(origin.url).host;
      const now = Math.floor(Date.now() / 1000);
      const direct = (headers) => fetch(`${origin.url}/hello`, { headers });
      assert.equal((await direct({})).status, 401, "missing");
      assert.equal((await direct({ "Portcullis-Identity-Signature": sign(NEW, now, "GET", host, "/hello") })).status, 200, "a good one passes");
      assert.equal((await direct({ "Portcullis-Identity-Signature": sign(OLD, now, "GET", host, "/hello") })).status, 200, "the previous secret, mid-rotation");
      assert.equal((await direct({ "Portcullis-Identity-Signature": sign(NEW, now - 61, "GET", host, "/hello") })).status, 401, "stale");
      assert.equal((await direct({ "Portcullis-Identity-Signature": sign("another-secret", now, "GET", host, "/hello") })).status, 401, "wrong key");
      assert.equal((await direct({ "Portcullis-Identity-Signature": sign(NEW, now, "GET", host, "/other") })).status, 401, "another path");
      const forged = { "Portcullis-Identity-Signature": sign(NEW, now, "GET", host, "/hello"), "Portcullis-User": "u-admin" };
      assert.equal((await direct(forged)).status, 401, "a user the signature does not cover");
    });
  });
}

test("an edge still signing with the previous secret passes during a rotation", async () => {
  const origin = await startExpressOrigin();
  const edge = await startEdge({ origin, bindings: { ORIGIN_SECRET: OLD } });
  try {
    const r = await edge.request("/hello", { ip: "198.18.95.3" });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  } finally {
    await edge.dispose();
    await origin.close();
  }
});
