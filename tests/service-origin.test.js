// An origin that is another Worker, on workerd: the edge reaches it through
// the ORIGIN service binding (no ORIGIN_URL), and everything holds as for
// an origin on the network: the security headers, the origin's internal
// headers dropped, the login issuing a session, the verified caller named
// to the origin, a banned address refused before it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { PASSWORD, adminJson, signIn, startEdge } from "./support/edge.js";

// A small application Worker (plain JS, the shape of a Hono app): it
// echoes what it was sent and takes PASSWORD at /login.
const APP = `
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const body = await request.text();
    const headers = { "content-type": "application/json", "portcullis-internal": "origin-only" };
    if (url.pathname === "/login" && request.method === "POST") {
      const form = new URLSearchParams(body);
      if (form.get("password") !== ${JSON.stringify(PASSWORD)}) return new Response("{}", { status: 401, headers });
      headers["Portcullis-Login-User"] = "u-" + form.get("username");
    }
    return new Response(JSON.stringify({
      worker: "origin-app",
      method: request.method,
      host: url.host,
      path: url.pathname + url.search,
      user: request.headers.get("portcullis-user"),
    }), { headers });
  },
};`;

let edge;
before(async () => {
  edge = await startEdge({ originWorker: APP, policy: { bans: { warningsBeforeBan: 1000 } } });
});
after(() => edge?.dispose());

test("requests reach the application Worker through the service binding, secured", async () => {
  const r = await edge.request("/hello?x=1", { ip: "198.18.80.1" });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.worker, "origin-app");
  assert.equal(body.path, "/hello?x=1");
  assert.equal(body.host, "origin.internal");
  assert.equal(body.user, null);
  assert.ok(r.headers.get("content-security-policy"), "the edge's security headers");
  assert.equal(r.headers.get("portcullis-internal"), null, "the origin's internal headers never reach the client");
});

test("a login through the binding issues a session, and the origin is told who calls", async () => {
  const session = await signIn(edge, "198.18.80.2", "hana");
  const r = await edge.request("/app/profile", { ip: "198.18.80.2", headers: { Cookie: session.cookie } });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).user, "u-hana");
  const forged = await edge.request("/app/profile", { ip: "198.18.80.3", headers: { "Portcullis-User": "u-admin" } });
  assert.equal(forged.status, 401, "a protected path without a session");
  await forged.arrayBuffer();
});

test("a banned address is refused before the application Worker", async () => {
  assert.equal((await adminJson(edge, "/bans", { method: "POST", body: JSON.stringify({ target: "198.18.80.4", seconds: 600 }) })).status, 201);
  const r = await edge.request("/hello", { ip: "198.18.80.4" });
  assert.equal(r.status, 403);
  assert.equal((await r.json()).error, "banned");
});
