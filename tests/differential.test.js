// The differential suite: the edge on workerd in front of three real
// frameworks on loopback (Express 4.22.3 with its body parsers and multer
// 2.5.0, Flask 3.1.3, PHP 8.2's built-in server routing by files). For each
// request variant (tests/support/variants.js) and origin, either the edge
// refused it with one of this suite's codes, or every value the origin read
// for the checked field, through every accessor, is the value the edge
// checked; and no request the origin routed under a protected prefix
// reached it without a session. What the edge checked is learned from
// outside only: the lockout count through the admin API, the CAPTCHA token
// the loopback verifier received, the 422 of the password check.
import assert from "node:assert/strict";
import { createServer, request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import { readFileSync } from "node:fs";
import { adminJson, sessionOf, startEdge } from "./support/edge.js";
import { startExpress, startFlask, startPhp } from "./support/origins.js";
import { ROUTES, TARGETS, variants } from "./support/variants.js";

const SPEC = JSON.parse(readFileSync(new URL("./origins/fields.json", import.meta.url), "utf8"));
const CAPTCHA_SECRET = "captcha-secret-for-the-differential-suite";
/** The refusals this suite accepts as "refused". */
const REFUSALS = new Set(["ambiguous_path", "ambiguous_field", "duplicate_field", "cross_site", "unsupported_body"]);
const ALL = variants();

/** Sends `req` to `base` exactly as built (raw path, raw bytes) as client `ip`. */
function send(base, req, ip) {
  const { hostname, port } = new URL(base);
  const headers = { ...req.headers, "cf-connecting-ip": ip };
  if (req.body) headers["content-length"] = String(req.body.length);
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: hostname, port, path: req.path, method: req.method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode, headers: res.headers, json, text });
      });
    });
    r.setTimeout(10_000, () => r.destroy(new Error(`${req.method} ${req.path}: no answer in 10 s`)));
    r.on("error", reject);
    r.end(req.body ?? undefined);
  });
}

/** A loopback siteverify that passes every token and records it. */
async function startVerifier() {
  const tokens = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      tokens.push(new URLSearchParams(body).get("response"));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ success: true }));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/siteverify`, tokens, close: () => new Promise((r) => server.close(r)) };
}

/** What the origin read for `field` through every accessor, absent ones left out. */
function originReadings(json, field) {
  return Object.values(json?.fields?.[field] ?? {}).filter((value) => value !== null);
}

/** Failures the edge counted against `login`. */
async function failures(edge, login) {
  const { status, body } = await adminJson(edge, `/accounts/${encodeURIComponent(login)}`);
  assert.equal(status, 200, `peek ${login}`);
  return body.failures;
}

/** One origin with its edge in front, and the suite run against it. */
function suite(name, start) {
  const results = new Map();
  describe(`differential: ${name}`, () => {
    let origin;
    let edge;
    let verifier;
    const routes = ROUTES[name];
    before(async () => {
      verifier = await startVerifier();
      origin = await start();
      edge = await startEdge({
        origin,
        bindings: { CAPTCHA_SECRET },
        policy: {
          captcha: { enabled: true, provider: "turnstile", siteKey: "site-key", verifyUrl: verifier.url, pages: ["signup"], verifyTimeoutSeconds: 5 },
          routes: { login: routes.login, signup: routes.signup, changePassword: routes.change, reset: routes.reset },
          vault: { routes: [{ path: routes.vault, fields: [TARGETS.vault.field] }] },
        },
      });
      const made = await adminJson(edge, "/vault/passphrase", { method: "POST", body: JSON.stringify({ passphrase: "differential suite vault passphrase" }) });
      assert.equal(made.status, 201, "the vault's passphrase");
    });
    after(async () => {
      await edge?.dispose();
      await origin?.close();
      await verifier?.close();
    });

    /** The value the edge checked for a field variant, learned from outside. */
    async function edgeReading(v, res, fromOrigin) {
      const t = TARGETS[v.target] ?? TARGETS.login;
      const real = v.reads?.(v.id) ?? t.real(v.id);
      const decoy = t.decoy(v.id);
      if (t === TARGETS.login) {
        const counted = [];
        for (const login of [real, decoy]) if ((await failures(edge, login)) > 0) counted.push(login);
        return counted.length === 1 ? counted[0] : counted.length === 0 ? null : { both: counted };
      }
      if (t === TARGETS.token) {
        const mine = verifier.tokens.filter((token) => token?.startsWith(`t${v.id}-`));
        return mine.length === 1 ? mine[0] : mine.length === 0 ? null : { several: mine };
      }
      if (fromOrigin) return real;
      // Refused by the password check: the long weak decoy fails strength
      // rules only; nothing at all fails the length rule too.
      return res.json.rules.includes("minLength") ? null : decoy;
    }

    /** agreed / refused / DIFFERENT / UNEXPECTED, with what was seen. */
    async function classify(v, req, res, ip) {
      const fromOrigin = res.json?.origin === name;
      const code = fromOrigin ? null : res.json?.error;
      if (REFUSALS.has(code)) return { outcome: "refused", detail: code };
      if (v.target === "path") {
        if (fromOrigin) {
          const protectedRoute = ["app", "account"].includes(res.json.route);
          return { outcome: protectedRoute ? "DIFFERENT" : "agreed", detail: `origin routed ${res.json.route}` };
        }
        if (res.status === 401 && code) return { outcome: "agreed", detail: `edge ${code}` };
        if (!res.json) return { outcome: "agreed", detail: `origin ${res.status} without a route` };
        return { outcome: "UNEXPECTED", detail: `${res.status} ${res.text.slice(0, 120)}` };
      }
      if (v.target === "route") {
        if (!fromOrigin) return res.json ? { outcome: "UNEXPECTED", detail: `${res.status} ${res.text.slice(0, 120)}` } : { outcome: "agreed", detail: `origin ${res.status} without a route` };
        if (res.json.route !== "login") return { outcome: "agreed", detail: `origin routed ${res.json.route}` };
        const counted = await failures(edge, TARGETS.login.real(v.id));
        return { outcome: counted > 0 ? "agreed" : "DIFFERENT", detail: `origin's login; the edge counted ${counted}` };
      }
      // An answer that is not JSON is the origin's own, reading nothing
      // (Flask answers OPTIONS itself): the edge answers in JSON.
      if (!res.json) return { outcome: "agreed", detail: `origin ${res.status} without a reading` };
      if (v.target === "vault") {
        // Every reading of the field must be an envelope: the value, real
        // or decoy, never reaches the origin in the clear.
        if (!fromOrigin) return { outcome: "UNEXPECTED", detail: `${res.status} ${res.text.slice(0, 160)}` };
        const t = TARGETS.vault;
        const read = originReadings(res.json, t.field);
        const clear = JSON.stringify(res.json.fields).includes(`4111${v.id}0000`);
        const sealed = read.every((value) => typeof value === "string" && /^pcv1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(value));
        return { outcome: sealed && !clear ? "agreed" : "DIFFERENT", detail: `origin read ${JSON.stringify(read).slice(0, 160)}` };
      }
      const expected = { signup: "password_rejected", change: "password_rejected", reset: "password_rejected", token: "captcha_failed" }[v.target];
      if (!fromOrigin && code !== expected) return { outcome: "UNEXPECTED", detail: `${res.status} ${res.text.slice(0, 160)}` };
      const field = (TARGETS[v.target] ?? TARGETS.login).field;
      const edgeRead = await edgeReading(v, res, fromOrigin);
      // Not forwarded: what the origin would have read, asked directly.
      const seen = fromOrigin ? res.json : (await send(origin.url, req, ip)).json;
      const read = originReadings(seen, field);
      const same = read.every((value) => typeof value === "string" && value === edgeRead);
      return {
        outcome: same && typeof edgeRead !== "object" ? "agreed" : "DIFFERENT",
        detail: `edge ${JSON.stringify(edgeRead)}, origin ${JSON.stringify(read)}`,
      };
    }

    test(`${ALL.length} variants through the edge in front of ${name}`, { timeout: 900_000 }, async () => {
      const octet = { express: 18, flask: 19, php: 20 }[name];
      for (const v of ALL) {
        const ip = `198.${octet}.${v.id >> 8}.${v.id & 255}`;
        const ctx = { routes, ownOrigin: new URL(edge.url).origin };
        const extra = {};
        if (v.target === "change") {
          const login = await send(edge.url, {
            method: "POST",
            path: routes.login,
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: Buffer.from(new URLSearchParams({ username: `sess${v.id}`, password: SPEC.loginPassword }).toString()),
          }, ip);
          assert.equal(login.status, 200, `sign-in for ${v.name}`);
          const session = sessionOf({ headers: { getSetCookie: () => [login.headers["set-cookie"]].flat() } });
          extra.cookie = session.cookie;
          extra["x-xsrf-token"] = session.xsrf;
        }
        if (v.target === "reset") {
          const minted = await adminJson(edge, "/reset-tokens", { method: "POST", body: JSON.stringify({ user: `u-reset${v.id}`, purpose: "selfService" }) });
          assert.equal(minted.status, 201, `reset token for ${v.name}`);
          ctx.resetToken = minted.body.token;
        }
        const req = v.build(v, ctx);
        req.headers = { ...req.headers, ...extra };
        let res;
        try {
          res = await send(edge.url, req, ip);
        } catch (error) {
          results.set(v.id, { outcome: "UNEXPECTED", detail: `no answer: ${error.message}` });
          continue;
        }
        if (res.json?.error === "banned" || res.status === 423) {
          results.set(v.id, { outcome: "UNEXPECTED", detail: `a ban or lockout: ${res.text.slice(0, 120)}` });
          continue;
        }
        results.set(v.id, await classify(v, req, res, ip));
      }
      const failures = ALL.filter((v) => {
        const r = results.get(v.id);
        return ["DIFFERENT", "UNEXPECTED"].includes(r.outcome) || (v.plain && r.outcome !== "agreed") || (v.mustRefuse && r.outcome !== "refused");
      });
      assert.deepEqual(
        failures.map((v) => `${v.name}: ${results.get(v.id).outcome} (${results.get(v.id).detail})`),
        [],
      );
    });
  });
  return results;
}

const tables = { express: suite("express", startExpress), flask: suite("flask", startFlask), php: suite("php", startPhp) };

after(() => {
  const names = Object.keys(tables);
  const width = Math.max(...ALL.map((v) => v.name.length));
  const lines = [`${"variant".padEnd(width)}  ${names.map((n) => n.padEnd(10)).join(" ")}`];
  for (const v of ALL) lines.push(`${v.name.padEnd(width)}  ${names.map((n) => (tables[n].get(v.id)?.outcome ?? "-").padEnd(10)).join(" ")}`);
  const totals = names.map((n) => {
    const count = { agreed: 0, refused: 0, DIFFERENT: 0, UNEXPECTED: 0 };
    const codes = {};
    for (const r of tables[n].values()) {
      count[r.outcome]++;
      if (r.outcome === "refused") codes[r.detail] = (codes[r.detail] ?? 0) + 1;
    }
    const refusals = Object.entries(codes).map(([code, k]) => `${k} ${code}`).join(", ");
    return `${n}: ${count.agreed} agreed, ${count.refused} refused (${refusals}), ${count.DIFFERENT} DIFFERENT, ${count.UNEXPECTED} unexpected`;
  });
  console.log(`\n${lines.join("\n")}\n\n${ALL.length} variants × ${names.length} origins\n${totals.join("\n")}`);
});
