// Runs the real Worker (crates/edge/build) on workerd through Miniflare's
// API, with SQLite-backed Durable Objects persisted to a folder, in front of
// a real loopback origin that records what reached it.
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { root } from "./package.js";

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
 * PASSWORD (any password for users named any-…; `boss` is an admin, staff-…
 * staff; new-… and staff-… accounts were created now, old-… a year ago); a
 * change or reset to ORIGIN_REFUSES answers 400.
 */
export async function startOrigin() {
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
      if (req.url === "/login" && req.method === "POST") {
        // The test login: PASSWORD succeeds for any username.
        const form = new URLSearchParams(body.toString());
        // Users named any-… log in with any password (a password set before
        // the policy tightened, or changed elsewhere).
        if (form.get("password") === PASSWORD || form.get("username")?.startsWith("any-")) {
          const username = form.get("username");
          headers["Portcullis-Login-User"] = `u-${username}`;
          headers["Portcullis-Login-Roles"] = username === "boss" ? "admin" : username.startsWith("staff-") ? "staff" : "";
          // Account age for probation: new-… accounts were created now, old-… a year ago.
          const now = Math.floor(Date.now() / 1000);
          if (username.startsWith("new-") || username.startsWith("staff-")) headers["Portcullis-Login-Created"] = String(now);
          if (username.startsWith("old-")) headers["Portcullis-Login-Created"] = String(now - 365 * 86400);
        } else {
          status = 401;
        }
      }
      if (req.method === "POST" && (req.url.startsWith("/account/password") || req.url.startsWith("/reset"))) {
        // The origin's own refusal of a new password.
        const form = new URLSearchParams(body.toString());
        if (form.get("new_password") === ORIGIN_REFUSES) status = 400;
      }
      res.writeHead(status, headers);
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

/** Starts the Worker. `policy` seeds the configuration (PORTCULLIS_POLICY). */
export async function startEdge({ origin, policy = {}, persist = mkdtempSync(join(tmpdir(), "portcullis-do-")), cacheSeconds = 5, bindings = {} }) {
  // Whatever the Worker and workerd print, for tests that check what is logged.
  const logs = [];
  const mf = new Miniflare({
    handleRuntimeStdio(stdout, stderr) {
      stdout.on("data", (chunk) => logs.push(String(chunk)));
      stderr.on("data", (chunk) => logs.push(String(chunk)));
    },
    scriptPath: join(root, "crates", "edge", "build", "index.js"),
    modules: true,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-08-01",
    bindings: {
      ORIGIN_URL: origin.url,
      APPLICATION_KEY: APP_KEY,
      JWT_SECRET,
      XSRF_SALT,
      PORTCULLIS_POLICY: JSON.stringify(policy),
      PORTCULLIS_CACHE_SECONDS: String(cacheSeconds),
      ...bindings,
    },
    durableObjects: {
      CONTROL: { className: "Control", useSQLite: true },
      IP_GUARD: { className: "IpGuard", useSQLite: true },
      ACCOUNT: { className: "AccountGuard", useSQLite: true },
      USER: { className: "UserState", useSQLite: true },
    },
    durableObjectsPersist: persist,
  });
  const url = await mf.ready;
  /** fetch through the edge as client `ip`. */
  const request = (path, { ip = "203.0.113.1", headers = {}, ...init } = {}) =>
    fetch(new URL(path, url), { redirect: "manual", ...init, headers: { "CF-Connecting-IP": ip, ...headers } });
  const admin = (path, { key = APP_KEY, ip = "100.64.0.1", headers = {}, ...init } = {}) =>
    request(`/__portcullis/admin${path}`, { ip, ...init, headers: { Authorization: `Bearer ${key}`, "content-type": "application/json", ...headers } });
  /** Like `request`, through Miniflare's dispatchFetch, which can set `request.cf`. */
  const dispatch = (path, { ip = "203.0.113.1", headers = {}, ...init } = {}) =>
    mf.dispatchFetch(path.startsWith("https://") ? path : new URL(path, url), { redirect: "manual", ...init, headers: { "CF-Connecting-IP": ip, ...headers } });
  return { url: url.href, persist, request, dispatch, admin, logs, dispose: () => mf.dispose() };
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

/** The session a login response issued: the token, the XSRF token and a Cookie header. */
export function sessionOf(response) {
  const jar = setCookies(response);
  const token = jar["__Host-portcullis-session"]?.value;
  const xsrf = jar["__Host-portcullis-xsrf"]?.value;
  return { token, xsrf, cookie: `__Host-portcullis-session=${token}; __Host-portcullis-xsrf=${xsrf}` };
}
