// Static server for the Portcullis demo pages (no dependencies; Node 20+).
//
//   node www/server.js            → http://127.0.0.1:8788/ (PORT overrides)
//   import { startServer } from "./www/server.js";
//   const { url, close } = await startServer({ port: 0 });
//
// Serves www/ at "/" and the npm package folder pkg/ at "/pkg/", answers
// POST /signup with a demo page, and sends a strict Content-Security-Policy
// on HTML: the pages have no inline script or style. In `npm run demo` this
// is the origin behind the Portcullis edge, which replaces these security
// headers with its own.
import { createServer } from "node:http";
import { realpathSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const WWW_ROOT = path.dirname(fileURLToPath(import.meta.url));
const PKG_ROOT = path.resolve(WWW_ROOT, "..", "pkg");
const DEFAULT_PORT = 8788;
const MAX_BODY = 64 * 1024;

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
};

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

function baseHeaders(contentType) {
  return {
    "content-type": contentType,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
}

function sendJson(res, status, body, extra = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...baseHeaders(CONTENT_TYPES[".json"]), "content-length": Buffer.byteLength(text), ...extra });
  res.end(res.req.method === "HEAD" ? undefined : text);
}

const notFound = (res, pathname) => sendJson(res, 404, { error: "not found", path: pathname });

/**
 * Maps a URL path to a file under one of the roots, or null if it would leave
 * the root (after resolving "..", encoded separators and symlinks).
 */
async function resolveFile(pathname) {
  let root = WWW_ROOT;
  let rel = pathname;
  if (pathname === "/pkg" || pathname.startsWith("/pkg/")) {
    root = PKG_ROOT;
    rel = pathname.slice("/pkg".length);
  }
  if (rel.includes("\0") || rel.includes("\\")) return null;
  const candidate = path.resolve(root, "." + path.posix.normalize("/" + rel));
  const inside = (p, base) => p === base || p.startsWith(base + path.sep);
  if (!inside(candidate, root)) return null;
  let file = candidate;
  try {
    let info = await stat(file);
    if (info.isDirectory()) {
      file = path.join(file, "index.html");
      info = await stat(file);
    }
    if (!info.isFile()) return null;
    const [realFile, realRoot] = await Promise.all([realpath(file), realpath(root)]);
    if (!inside(realFile, realRoot)) return null;
  } catch {
    return null;
  }
  return { file };
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error("request body too large"), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const SIGNUP_TEXT = {
  en: {
    title: "Account created (demo)",
    body: (user) => `The account <strong>${user}</strong> was created. This is a demo: nothing was stored.`,
    back: "Back to the signup form",
  },
  cs: {
    title: "Účet vytvořen (ukázka)",
    body: (user) => `Účet <strong>${user}</strong> byl vytvořen. Jde jen o ukázku: nic se neuložilo.`,
    back: "Zpět na registraci",
  },
};

function signupPage(form) {
  const locale = form.get("locale") === "cs" ? "cs" : "en";
  const tx = SIGNUP_TEXT[locale];
  const user = escapeHtml(form.get("username") || "—");
  const back = `/?locale=${locale}`;
  return `<!doctype html>
<html lang="${locale}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>${tx.title} · Portcullis</title>
  <link rel="icon" href="/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/style.css">
</head>
<body data-page="signup-result">
  <main class="page">
    <section class="card result" id="result">
      <div class="check" aria-hidden="true">✓</div>
      <h1>${tx.title}</h1>
      <p class="lead">${tx.body(user)}</p>
      <p><a href="${back}">${tx.back}</a></p>
    </section>
  </main>
</body>
</html>
`;
}

async function handleSignup(req, res) {
  let body;
  try {
    body = await readBody(req);
  } catch (error) {
    sendJson(res, error.status ?? 400, { error: error.message });
    return;
  }
  const html = signupPage(new URLSearchParams(body));
  res.writeHead(200, {
    ...baseHeaders(CONTENT_TYPES[".html"]),
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "content-length": Buffer.byteLength(html),
  });
  res.end(html);
}

/** Starts the demo server; resolves with its base URL and a close function. */
export function startServer({ port = 0, host = "127.0.0.1" } = {}) {
  async function handle(req, res) {
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
    } catch {
      sendJson(res, 400, { error: "bad request path" });
      return;
    }

    if (pathname === "/signup") {
      if (req.method === "POST") return handleSignup(req, res);
      if (req.method !== "GET" && req.method !== "HEAD") {
        sendJson(res, 405, { error: "method not allowed" }, { allow: "GET, HEAD, POST" });
        return;
      }
      res.writeHead(303, { location: "/", "cache-control": "no-store" });
      res.end();
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
    const ext = path.extname(found.file).toLowerCase();
    const headers = baseHeaders(CONTENT_TYPES[ext] ?? "application/octet-stream");
    const data = await readFile(found.file);
    if (ext === ".html") {
      headers["content-security-policy"] = CONTENT_SECURITY_POLICY;
      headers["x-frame-options"] = "DENY";
    }
    headers["content-length"] = data.length;
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : data);
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
  const { url, close } = await startServer({ port: Number.isFinite(port) ? port : DEFAULT_PORT, host: "127.0.0.1" });
  console.log(`Portcullis demo: ${url}`);
  const stop = () => close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
