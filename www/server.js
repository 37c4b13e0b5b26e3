// The demo application ("origin") behind the Portcullis edge (no
// dependencies; Node 20+).
//
//   node www/server.js            → http://127.0.0.1:8788/ (PORT overrides)
//   import { startServer } from "./www/server.js";
//   const { url, close } = await startServer({ port: 0 });
//
// Serves www/ at "/" and the npm package folder pkg/ at "/pkg/", and sends a
// strict Content-Security-Policy on HTML: the pages have no inline script or
// style. In `npm run demo` this is the origin behind the Portcullis edge,
// which replaces these security headers with its own.
//
// Accounts live in memory (one store per startServer), passwords hashed with
// scrypt. The routes, and this origin's side of SPEC.md's "The edge, as an
// application sees it":
//   POST /signup            username, email, password → result page; 409 if the name is taken
//   GET  /login             www/login.html (?reason=session_expired shows a notice)
//   POST /login             username, password → 303 /account with
//                           `Portcullis-Login-User: <id>`, `Portcullis-Login-Roles` (if any)
//                           and `Portcullis-Login-Created: <unix seconds>`, which tell
//                           the edge to issue a session; 401 + the login page otherwise
//   GET  /account           who the edge says the caller is (`Portcullis-User`,
//                           `Portcullis-Roles`, `Portcullis-Session`), change-password
//                           and sign-out forms
//   GET  /account/password  the account page with the change form first; ?reason= (the
//                           edge's change gate: first_login, password_expired, …) says why
//   POST /account/password  password, new_password, confirm → 303 /account?changed=1
//   GET  /reset             "forgot your password" (?reason= from the edge: a spent link), or,
//                           with `Portcullis-Reset-User` (the edge verified ?token=), the
//                           new-password form
//   POST /reset             username → asks the edge's admin API for a self-service link and
//                           shows it (a demo: a real site emails it); with `Portcullis-Reset-User`:
//                           token, new_password → sets it, 303 /login?reason=password_reset
//   POST /logout            303 /login (the edge ends the session)
//   GET  /billing           www/billing.html: a card number sealed in the browser
//                           (the package's encryptField) to the vault's key
//   POST /billing           cardholder, card_number (an envelope) → shows what it stored
// The edge drops every client-sent `Portcullis-*` header, so behind it those
// request headers are trustworthy; this server alone believes anyone who
// sends them (it is a demo: changing a password still needs the current one).
// Forms may be urlencoded or multipart; a `locale` field (or `?locale=` on
// GET) picks English or Czech, with the text in www/i18n.js.
// The parts: www/server/http.js (static files, forms, answers),
// www/server/accounts.js, www/server/pages.js, www/server/routes.js.
import { createServer } from "node:http";
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { createApp } from "./server/accounts.js";
import { DEFAULT_PORT, notFound, resolveFile, sendFile, sendJson } from "./server/http.js";
import { ROUTES } from "./server/routes.js";

/** Starts the demo server; resolves with its base URL and a close function. */
export async function startServer({ port = 0, host = "127.0.0.1", edgeUrl = null, applicationKey = null } = {}) {
  const app = await createApp({ edgeUrl, applicationKey });

  async function handle(req, res) {
    let url;
    let pathname;
    try {
      url = new URL(req.url, "http://localhost");
      pathname = decodeURIComponent(url.pathname);
    } catch {
      sendJson(res, 400, { error: "bad request path" });
      return;
    }

    const route = Object.hasOwn(ROUTES, pathname) ? ROUTES[pathname] : null;
    if (route) {
      const handler = route[req.method === "HEAD" ? "GET" : req.method];
      if (!handler) {
        const allow = Object.keys(route).flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m]));
        sendJson(res, 405, { error: "method not allowed" }, { allow: allow.join(", ") });
        return;
      }
      await handler(req, res, app, url);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJson(res, 405, { error: "method not allowed" }, { allow: "GET, HEAD" });
      return;
    }

    const found = await resolveFile(pathname);
    if (!found) {
      notFound(res, pathname);
      return;
    }
    await sendFile(req, res, found.file);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      console.error(error);
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const { port: actualPort } = server.address();
      const shownHost = host.includes(":") ? `[${host}]` : host;
      resolve({
        url: `http://${shownHost}:${actualPort}/`,
        server,
        /** Points self-service reset at an edge started after this server. */
        connectEdge: (edgeUrl, applicationKey) => Object.assign(app, { edgeUrl, applicationKey }),
        close: () =>
          new Promise((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  const port = Number.parseInt(process.env.PORT ?? "", 10);
  const { url, close } = await startServer({
    port: Number.isFinite(port) ? port : DEFAULT_PORT,
    host: "127.0.0.1",
    // Set by scripts/demo.sh: the edge in front, for self-service reset links.
    edgeUrl: process.env.PORTCULLIS_EDGE_URL || null,
    applicationKey: process.env.PORTCULLIS_APPLICATION_KEY || null,
  });
  console.log(`Portcullis demo: ${url}`);
  const stop = () => close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
