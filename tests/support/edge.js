// Runs the real Worker (crates/edge/build) on workerd through Miniflare's
// API, with SQLite-backed Durable Objects persisted to a folder, in front of
// a real loopback origin that records what reached it.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { root } from "./package.js";

/**
 * The Worker's bindings, Durable Objects and static assets as wrangler.toml
 * declares them (read by wrangler itself, so the tests run what a deploy
 * runs); the script and the test's own bindings are added by `startEdge`.
 */
const deployed = unstable_getMiniflareWorkerOptions(join(root, "wrangler.toml")).workerOptions;

export const APP_KEY = "test-application-key-0123456789-abcdefghij";
export const JWT_SECRET = "test-jwt-secret-0123456789-abcdefghijklmnop";
export const XSRF_SALT = "test-xsrf-salt-0123456789-abcdefghijklmnopq";
/** A new password the loopback origin refuses (400) on change and reset. */
export const ORIGIN_REFUSES = "origin-Refuses-this-one-77";
/** The password the loopback origin accepts for every user (strong enough for the default policy). */
export const PASSWORD = "orbit-Vivid-lantern-52";

/**
 * A loopback origin: echoes each request as JSON (and records it in `seen`,
 * with small bodies); `/app/forbidden` answers 403; POST /login accepts
 * PASSWORD for any username, and names the account's roles, age and
 * whether its email is verified as `users` says: `{ [username]: { roles:
 * ["staff"], createdAgo: <seconds>, verified: false, anyPassword: true } }`
 * (`anyPassword`: a password set before the policy
 * tightened, or changed elsewhere, so any password logs in); a change or
 * reset to ORIGIN_REFUSES answers 400. `isLogin(path)` says which paths the
 * origin routes to its login (by default only `/login`); `answer(req)` may
 * replace the status or add headers: `{ status, headers }`.
 */
export async function startOrigin({ users = {}, isLogin = (path) => path === "/login", answer = () => null } = {}) {
  const seen = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method, url: req.url, headers: req.headers, bodyLength: body.length, body: body.length <= 4096 ? body.toString() : null });
      const headers = {
        "content-type": "application/json",
        // The origin's own internal header must never reach the client.
        "portcullis-internal": "origin-only",
      };
      let status = req.url.startsWith("/app/forbidden") ? 403 : 200;
      if (isLogin(req.url.split("?")[0]) && req.method === "POST") {
        const form = new URLSearchParams(body.toString());
        const username = form.get("username") ?? "";
        const account = Object.hasOwn(users, username) ? users[username] : {};
        if (form.get("password") === PASSWORD || account.anyPassword) {
          headers["Portcullis-Login-User"] = `u-${username}`;
          headers["Portcullis-Login-Roles"] = (account.roles ?? []).join(",");
          if (account.createdAgo !== undefined) {
            headers["Portcullis-Login-Created"] = String(Math.floor(Date.now() / 1000) - account.createdAgo);
          }
          if (account.verified !== undefined) headers["Portcullis-Login-Verified"] = String(account.verified);
        } else {
          status = 401;
        }
      }
      if (req.method === "POST" && (req.url.startsWith("/account/password") || req.url.startsWith("/reset"))) {
        // The origin's own refusal of a new password.
        const form = new URLSearchParams(body.toString());
        if (form.get("new_password") === ORIGIN_REFUSES) status = 400;
      }
      const override = answer(req) ?? {};
      res.writeHead(override.status ?? status, { ...headers, ...override.headers });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyLength: body.length }));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/**
 * A stand-in for the Control binding, in a worker of its own: it passes
 * every request to the real Control object until the test switches it off
 * (`edge.control(false)`); then it answers 503, as an overloaded or
 * unreachable object would. Nothing in the Worker knows of it.
 */
const CONTROL_SWITCH = `
export class Control {
  constructor(state, env) { this.env = env; this.down = false; this.hang = false; this.refused = 0; this.held = []; }
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/__switch") {
      if (url.searchParams.has("down")) {
        this.hang = url.searchParams.get("down") === "hang";
        this.down = this.hang || url.searchParams.get("down") === "1";
        if (!this.hang) for (const release of this.held.splice(0)) release();
      }
      return Response.json({ down: this.down, hang: this.hang, refused: this.refused });
    }
    if (this.down) {
      this.refused++;
      // Hanging: no answer until switched back, or 20 s at most.
      if (this.hang) await new Promise((release) => { this.held.push(release); setTimeout(release, 20000); });
      return new Response("Control is down (test stand-in)", { status: 503 });
    }
    return this.env.REAL.get(this.env.REAL.idFromName("control")).fetch(request);
  }
}
export default {
  fetch(request, env) { return env.CONTROL.get(env.CONTROL.idFromName("control")).fetch(request); },
};`;

/**
 * Starts the Worker. `policy` seeds the configuration (PORTCULLIS_POLICY).
 * `controlSwitch`: Control is reached through a stand-in the test can
 * switch off and on (`await edge.control(false)`). `originWorker`: a module
 * script run as a second Worker and bound as the origin (`ORIGIN`).
 */
export async function startEdge({ origin, policy = {}, persist = mkdtempSync(join(tmpdir(), "portcullis-do-")), cacheSeconds = 5, bindings = {}, controlSwitch = false, originWorker }) {
  // Whatever the Worker and workerd print, for tests that check what is logged.
  const logs = [];
  const edgeWorker = {
    name: "edge",
    scriptPath: join(root, "crates", "edge", "build", "index.js"),
    modules: true,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: deployed.compatibilityDate,
    bindings: {
      ...deployed.bindings,
      ORIGIN_URL: origin?.url ?? "",
      APPLICATION_KEY: APP_KEY,
      JWT_SECRET,
      XSRF_SALT,
      PORTCULLIS_POLICY: JSON.stringify(policy),
      PORTCULLIS_CACHE_SECONDS: String(cacheSeconds),
      PORTCULLIS_AUDIT_FLUSH_SECONDS: "1",
      ...bindings,
    },
    durableObjects: controlSwitch
      ? { ...deployed.durableObjects, CONTROL: { className: "Control", scriptName: "control-switch" }, REAL_CONTROL: { className: "Control", useSQLite: true } }
      : deployed.durableObjects,
    assets: deployed.assets,
    // `originWorker`: the origin is another Worker (this module script),
    // reached through the ORIGIN service binding instead of ORIGIN_URL.
    ...(originWorker ? { serviceBindings: { ORIGIN: "origin-app" } } : {}),
  };
  const appWorker = originWorker && { name: "origin-app", modules: true, script: originWorker, compatibilityDate: deployed.compatibilityDate };
  const switchWorker = {
    name: "control-switch",
    modules: true,
    script: CONTROL_SWITCH,
    compatibilityDate: "2026-08-01",
    durableObjects: {
      CONTROL: { className: "Control" },
      REAL: { className: "Control", scriptName: "edge" },
    },
  };
  const mf = new Miniflare({
    handleRuntimeStdio(stdout, stderr) {
      stdout.on("data", (chunk) => logs.push(String(chunk)));
      stderr.on("data", (chunk) => logs.push(String(chunk)));
    },
    durableObjectsPersist: persist,
    workers: [edgeWorker, ...(controlSwitch ? [switchWorker] : []), ...(appWorker ? [appWorker] : [])],
  });
  const url = await mf.ready;
  /** fetch through the edge as client `ip`. */
  const request = async (path, { ip = "203.0.113.1", headers = {}, ...init } = {}) => {
    const go = () => fetch(new URL(path, url), { redirect: "manual", ...init, headers: { "CF-Connecting-IP": ip, ...headers } });
    const sent = Date.now();
    try {
      return await go();
    } catch (e) {
      // A keep-alive socket workerd closed as undici reused it: a read, or
      // a request with a replayable body that failed within 25 ms (before
      // workerd could have handled it), is sent once more, as a browser
      // would; anything else is the test's.
      const method = (init.method ?? "GET").toUpperCase();
      const replayable = init.body === undefined || typeof init.body === "string" || Buffer.isBuffer(init.body);
      const early = Date.now() - sent < 25 && replayable;
      if (!(e instanceof TypeError) || !(["GET", "HEAD"].includes(method) || early)) throw e;
      console.error(`tests/support/edge.js: ${method} ${path} failed (${e.cause?.code ?? e.message}); sent once more`);
      return go();
    }
  };
  const admin = (path, { key = APP_KEY, ip = "100.64.0.1", headers = {}, ...init } = {}) =>
    request(`/__portcullis/admin${path}`, { ip, ...init, headers: { Authorization: `Bearer ${key}`, "content-type": "application/json", ...headers } });
  /** Like `request`, through Miniflare's dispatchFetch, which can set `request.cf`. */
  const dispatch = (path, { ip = "203.0.113.1", headers = {}, ...init } = {}) =>
    mf.dispatchFetch(path.startsWith("https://") ? path : new URL(path, url), { redirect: "manual", ...init, headers: { "CF-Connecting-IP": ip, ...headers } });
  /**
   * Switches Control on (true), off (false: it refuses at once) or to
   * "hang" (it answers nothing until switched back, 20 s at most)
   * (`controlSwitch` only); gives `{ down, hang, refused }`.
   */
  const control = async (up) => {
    const worker = await mf.getWorker("control-switch");
    const query = up === undefined ? "" : `?down=${up === "hang" ? "hang" : up ? 0 : 1}`;
    return (await worker.fetch(`http://switch/__switch${query}`)).json();
  };
  /** This isolate's Durable Object requests per binding (the admin metrics). */
  const metrics = async () => (await (await admin("/metrics")).json()).durableObjectRequests;
  return { url: url.href, persist, request, dispatch, admin, control, metrics, logs, dispose: () => mf.dispose() };
}

/** The `Set-Cookie` values of a response by cookie name: `{ value, line }`. */
export function setCookies(response) {
  const jar = {};
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const [name, ...value] = pair.split("=");
    jar[name] = { value: value.join("="), line };
  }
  return jar;
}

/** POSTs the login form through `edge` as client `ip`. */
export function postLogin(edge, ip, username, password, headers = {}) {
  return edge.request("/login", {
    ip,
    method: "POST",
    body: new URLSearchParams({ username, password }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  });
}

/**
 * Signs `username` in through `edge` as client `ip` and gives the session:
 * `{ token, xsrf, cookie, expiresIn }` (asserting the login succeeded).
 */
export async function signIn(edge, ip, username, password = PASSWORD) {
  const r = await postLogin(edge, ip, username, password);
  assert.equal(r.status, 200, `login of ${username}`);
  const expiresIn = r.headers.get("portcullis-password-expires-in");
  await r.arrayBuffer();
  return { ...sessionOf(r), expiresIn };
}

/** An admin API call through `edge`: its status and JSON body. */
export async function adminJson(edge, path, init = {}) {
  const r = await edge.admin(path, init);
  return { status: r.status, body: await r.json() };
}

/** The session a login response issued: the token, the XSRF token and a Cookie header. */
export function sessionOf(response) {
  const jar = setCookies(response);
  const token = jar["__Host-portcullis-session"]?.value;
  const xsrf = jar["__Host-portcullis-xsrf"]?.value;
  return { token, xsrf, cookie: `__Host-portcullis-session=${token}; __Host-portcullis-xsrf=${xsrf}` };
}
