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
// The edge drops every client-sent `Portcullis-*` header, so behind it those
// request headers are trustworthy; this server alone believes anyone who
// sends them (it is a demo: changing a password still needs the current one).
// Forms may be urlencoded or multipart; a `locale` field (or `?locale=` on
// GET) picks English or Czech, with the text in www/i18n.js.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { realpathSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CHANGE_REASONS, CHECKER_TEXT, TEXT, normalizeLocale, withLocale } from "./i18n.js";

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
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * The request's form fields (text fields only; files in a multipart body are
 * ignored), or null after answering 400/413 itself.
 */
async function readForm(req, res) {
  try {
    const body = await readBody(req);
    const type = req.headers["content-type"] ?? "";
    if (/^multipart\/form-data\s*;/i.test(type)) {
      // Node's fetch implementation parses multipart bodies.
      const data = await new Response(body, { headers: { "content-type": type } }).formData();
      const form = new URLSearchParams();
      for (const [name, value] of data) if (typeof value === "string") form.append(name, value);
      return form;
    }
    // Only forms: a JSON body read as urlencoded could hide fields from the
    // edge, which reads JSON as JSON.
    const media = type.split(";")[0].trim().toLowerCase();
    if (media !== "" && media !== "application/x-www-form-urlencoded") {
      throw Object.assign(new Error("send the form urlencoded or multipart"), { status: 415 });
    }
    return new URLSearchParams(body.toString("utf8"));
  } catch (error) {
    sendJson(res, error.status ?? 400, { error: error.status ? error.message : "malformed form body" });
    return null;
  }
}

function sendHtml(res, status, html, extra = {}) {
  res.writeHead(status, {
    ...baseHeaders(CONTENT_TYPES[".html"]),
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "content-length": Buffer.byteLength(html),
    ...extra,
  });
  res.end(res.req.method === "HEAD" ? undefined : html);
}

function redirect(res, location, extra = {}) {
  res.writeHead(303, { location, "cache-control": "no-store", "content-length": 0, ...extra });
  res.end();
}

async function sendFile(req, res, file) {
  const ext = path.extname(file).toLowerCase();
  const headers = baseHeaders(CONTENT_TYPES[ext] ?? "application/octet-stream");
  const data = await readFile(file);
  if (ext === ".html") {
    headers["content-security-policy"] = CONTENT_SECURITY_POLICY;
    headers["x-frame-options"] = "DENY";
  }
  headers["content-length"] = data.length;
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : data);
}

// ---- accounts ---------------------------------------------------------------

// scrypt with N = 2^14, r = 8, p = 1 (16 MiB; Node's defaults), below
// OWASP's N = 2^17 so the demo and its tests stay quick. Each hash records
// its parameters, so raising them later keeps old hashes verifiable.
const SCRYPT = { N: 2 ** 14, r: 8, p: 1, keylen: 32 };

function scryptKey(password, salt, { N, r, p, keylen }) {
  return new Promise((resolve, reject) => {
    // NFKC first (as NIST SP 800-63B suggests): the same password typed with
    // composed or decomposed accents hashes the same.
    scrypt(password.normalize("NFKC"), salt, keylen, { N, r, p, maxmem: 256 * N * r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** "scrypt$N$r$p$salt$key" (base64url), with a fresh random salt. */
async function hashPassword(password) {
  const salt = randomBytes(16);
  const key = await scryptKey(password, salt, SCRYPT);
  return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** Whether `password` matches `stored`, compared in constant time. */
async function verifyPassword(password, stored) {
  const [scheme, N, r, p, salt, key] = String(stored).split("$");
  if (scheme !== "scrypt" || !key) return false;
  const expected = Buffer.from(key, "base64url");
  const actual = await scryptKey(password, Buffer.from(salt, "base64url"), {
    N: Number(N),
    r: Number(r),
    p: Number(p),
    keylen: expected.length,
  });
  return timingSafeEqual(actual, expected);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

// The seeded account, there from the start for trying the admin role:
//   username "demo", password "correct horse battery staple orbit", roles "admin".
// Created 30 days before the server started, so it is past any probation
// period (the presets use 7 days).
const DEMO_USER = {
  username: "demo",
  email: "demo@example.com",
  password: "correct horse battery staple orbit",
  roles: ["admin"],
  ageSeconds: 30 * 24 * 60 * 60,
};

/** In-memory accounts: username → { id: "u-<n>", username, email, passwordHash, created, roles }. */
class UserStore {
  #byName = new Map();
  #byId = new Map();
  #next = 1;

  /** Usernames compare after NFKC and case folding: "Alice" is "alice". */
  static key(username) {
    return username.normalize("NFKC").toLowerCase();
  }

  has(username) {
    return this.#byName.has(UserStore.key(username));
  }

  byName(username) {
    return this.#byName.get(UserStore.key(username));
  }

  byId(id) {
    return this.#byId.get(id);
  }

  /** Adds an account; null if the username is taken. */
  add({ username, email, passwordHash, created = nowSeconds(), roles = [] }) {
    const key = UserStore.key(username);
    if (this.#byName.has(key)) return null;
    const user = { id: `u-${this.#next++}`, username, email, passwordHash, created, roles };
    this.#byName.set(key, user);
    this.#byId.set(user.id, user);
    return user;
  }
}

/** One server's state: its accounts (the demo account seeded) and the failed-login page. */
async function createApp({ edgeUrl = null, applicationKey = null } = {}) {
  const users = new UserStore();
  const [demoHash, dummyHash] = await Promise.all([
    hashPassword(DEMO_USER.password),
    // Unknown usernames are checked against this hash of a random password,
    // so a failed login takes as long whether or not the account exists.
    hashPassword(randomBytes(18).toString("base64url")),
  ]);
  users.add({
    username: DEMO_USER.username,
    email: DEMO_USER.email,
    passwordHash: demoHash,
    created: nowSeconds() - DEMO_USER.ageSeconds,
    roles: DEMO_USER.roles,
  });
  // Where to ask the edge's admin API for reset links (self-service reset).
  return { users, dummyHash, loginTemplate: null, edgeUrl, applicationKey };
}

/** The verified caller the edge names in request headers, or null. */
function callerOf(req, app) {
  const id = req.headers["portcullis-user"];
  if (!id) return null;
  const roles = String(req.headers["portcullis-roles"] ?? "")
    .split(",")
    .map((role) => role.trim())
    .filter(Boolean);
  return { id, roles, session: req.headers["portcullis-session"] ?? "", user: app.users.byId(id) ?? null };
}

// ---- pages --------------------------------------------------------------------

/** The header every page shares: logo, page links, and the language link when given. */
function pageHeader(locale, current, switchHref) {
  const tx = TEXT[locale];
  const link = (href, page, key) =>
    `<a href="${withLocale(href, locale)}" data-page="${page}"${page === current ? ' aria-current="page"' : ""}>${tx[key]}</a>`;
  const other = locale === "cs" ? "en" : "cs";
  const switcher = switchHref
    ? `\n        <a href="${escapeHtml(switchHref)}" class="switch-locale" hreflang="${other}" lang="${other}">${tx.switchLocale}</a>`
    : "";
  return `<header class="brand">
      <span class="logo" aria-hidden="true"></span>
      <div>
        <p class="brand-name">Portcullis</p>
        <p class="brand-tag">${tx.tagline}</p>
      </div>
      <nav class="site-nav" aria-label="${tx.navLabel}">
        ${link("/", "signup", "navSignup")}
        ${link("/login", "login", "navLogin")}
        ${link("/account", "account", "navAccount")}
        ${link("/admin.html", "admin", "navAdmin")}${switcher}
      </nav>
    </header>`;
}

function pageShell({ locale, title, page, current, switchHref = null, script = null, body }) {
  const scriptTag = script ? `\n  <script type="module" src="${script}"></script>` : "";
  return `<!doctype html>
<html lang="${locale}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>${title}</title>
  <link rel="icon" href="/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/style.css">${scriptTag}
</head>
<body data-page="${page}" data-locale="${locale}">
  <main class="page">
    ${pageHeader(locale, current, switchHref)}

${body}
  </main>
</body>
</html>
`;
}

/** A one-card answer to a form post (signup created, name taken, ...). */
function resultPage({ locale, page, ok, title, message, links }) {
  return pageShell({
    locale,
    title: `${title} · Portcullis`,
    page,
    current: null,
    body: `    <section class="card result" id="result" data-outcome="${ok ? "ok" : "error"}">
      <div class="check" aria-hidden="true">${ok ? "✓" : "✗"}</div>
      <h1>${title}</h1>
      <p class="lead">${message}</p>
${links.map(([href, text]) => `      <p><a href="${withLocale(href, locale)}">${text}</a></p>`).join("\n")}
    </section>`,
  });
}

/**
 * The change-password form; its checklist is www/checker-ui.js (through
 * account.js). `reason` is the edge's change gate `?reason=` (a change is
 * required first).
 */
function passwordForm(tx, locale, caller, error, reason) {
  const ct = CHECKER_TEXT[locale];
  const errorLine = error
    ? `\n      <p id="password-error" class="alert" role="alert">${tx[error]}</p>`
    : `\n      <p id="password-error" class="alert" role="alert" hidden></p>`;
  const reasonLine = reason
    ? `\n      <p id="change-reason" class="notice" role="status" data-reason="${reason}">${tx[CHANGE_REASONS[reason]]}</p>`
    : "";
  const username = caller.user ? caller.user.username : "";
  return `    <form class="card change-password" id="change-password" method="post" action="/account/password" data-username="${escapeHtml(username)}" data-admin="${caller.roles.includes("admin")}">
      <h2 class="card-heading">${tx.changeHeading}</h2>
      <p class="lead">${tx.changeLead}</p>${reasonLine}${errorLine}
      <input type="hidden" name="locale" value="${locale}">
      <input type="hidden" name="_xsrf" value="">
      <input type="text" name="username" value="${escapeHtml(username)}" autocomplete="username" hidden>

      <div class="field">
        <label for="current-password">${tx.currentPasswordLabel}</label>
        <input id="current-password" name="password" type="password" autocomplete="current-password" autocapitalize="none" spellcheck="false" required>
      </div>

      <div class="field">
        <label for="new-password">${tx.newPasswordLabel}</label>
        <div class="input-row">
          <input id="new-password" name="new_password" type="password" autocomplete="new-password" autocapitalize="none" spellcheck="false" required aria-describedby="meter-label requirements-title">
          <button type="button" id="toggle-password" class="ghost" aria-controls="new-password confirm" aria-pressed="false">${tx.show}</button>
        </div>
        <div class="tools-row">
          <button type="button" id="generate" class="secondary">${ct.generate}</button>
        </div>
        <p id="generated" class="generated" aria-live="polite" hidden>
          <span>${ct.generatedLabel}</span>
          <code id="generated-value"></code>
        </p>
      </div>

      <div id="meter" class="meter" data-score="" data-state="idle" aria-live="polite">
        <div class="meter-head">
          <span>${ct.strength}</span>
          <span id="meter-label" class="meter-label">${ct.meterIdle}</span>
        </div>
        <div class="track" id="meter-track" role="meter" aria-valuemin="0" aria-valuemax="4" aria-labelledby="meter-label">
          <div class="bar"></div>
        </div>
        <p id="crack-time" class="crack-time" hidden></p>
      </div>

      <div class="requirements-box">
        <h3 id="requirements-title" class="small-heading">${ct.requirementsTitle}</h3>
        <ul id="requirements" class="requirements" aria-live="polite" aria-labelledby="requirements-title" data-empty="true"></ul>
      </div>

      <div id="feedback" class="feedback" aria-live="polite" hidden>
        <p id="feedback-warning" class="feedback-warning" hidden></p>
        <ul id="feedback-suggestions" class="feedback-suggestions"></ul>
      </div>

      <div class="field">
        <label for="confirm">${tx.confirmLabel}</label>
        <input id="confirm" name="confirm" type="password" autocomplete="new-password" autocapitalize="none" spellcheck="false" required>
        <p id="confirm-status" class="confirm-status" data-match="" aria-live="polite"></p>
      </div>

      <button type="submit" id="submit" class="primary" disabled>${tx.changeSubmit}</button>
    </form>`;
}

/**
 * The account page. `caller` from callerOf (null: not signed in); `notice` and
 * `error` are TEXT keys (the password changed / a failed change).
 */
function accountPage({ locale, caller, notice = null, error = null, reason = null }) {
  const tx = TEXT[locale];
  const noticeLine = notice ? `\n      <p id="account-notice" class="notice success" role="status">${tx[notice]}</p>` : "";
  let status;
  if (caller) {
    const shown = caller.user
      ? `<strong id="account-user">${escapeHtml(caller.user.username)}</strong> <span class="muted">(${escapeHtml(caller.id)})</span>`
      : `<strong id="account-user">${escapeHtml(caller.id)}</strong>`;
    const roles = caller.roles.length ? caller.roles.map(escapeHtml).join(", ") : tx.noRoles;
    const session = caller.session
      ? `\n        <dt>${tx.sessionLabel}</dt><dd><code>${escapeHtml(caller.session)}</code></dd>`
      : "";
    status = `      <p class="lead" id="signed-in">${tx.signedInAs} ${shown}</p>
      <dl class="facts">
        <dt>${tx.rolesLabel}</dt><dd id="account-roles">${roles}</dd>${session}
      </dl>
      <form method="post" action="/logout" id="logout" class="inline-form">
        <input type="hidden" name="locale" value="${locale}">
        <input type="hidden" name="_xsrf" value="">
        <button type="submit" class="ghost">${tx.signOut}</button>
      </form>`;
  } else {
    const errorLine = error ? `\n      <p id="password-error" class="alert" role="alert">${tx[error]}</p>` : "";
    status = `      <p class="lead" id="not-signed-in">${tx.notSignedIn}</p>${errorLine}
      <p><a class="button-link" href="${withLocale("/login", locale)}" data-page="login">${tx.signInLink}</a></p>`;
  }
  const other = locale === "cs" ? "en" : "cs";
  return pageShell({
    locale,
    title: tx.accountTitle,
    page: "account",
    current: "account",
    switchHref: withLocale("/account", other),
    script: caller ? "/account.js" : null,
    body: `    <section class="card account" id="account" data-signed-in="${Boolean(caller)}">
      <h1>${tx.accountHeading}</h1>${noticeLine}
${status}
    </section>${caller ? `\n\n${passwordForm(tx, locale, caller, error, reason)}` : ""}`,
  });
}

/** Replaces `pattern` in `text`, failing loudly if the template changed under it. */
function replaceOnce(text, pattern, replacement) {
  const found = typeof pattern === "string" ? text.includes(pattern) : pattern.test(text);
  if (!found) throw new Error(`login.html: ${pattern} not found`);
  return text.replace(pattern, replacement);
}

/** www/login.html after a failed attempt: #login-error shown, the username kept. */
async function failedLoginPage(app, { locale, username }) {
  app.loginTemplate ??= await readFile(path.join(WWW_ROOT, "login.html"), "utf8");
  let html = app.loginTemplate;
  html = replaceOnce(html, '<html lang="en">', `<html lang="${locale}">`);
  html = replaceOnce(html, ' data-locale="en"', ` data-locale="${locale}"`);
  html = replaceOnce(html, /(<p id="login-error"[^>]*?) hidden>[^<]*<\/p>/, (_, open) => `${open}>${TEXT[locale].loginFailed}</p>`);
  html = replaceOnce(html, '<input id="username" name="username"', `<input id="username" name="username" value="${escapeHtml(username)}"`);
  html = replaceOnce(html, 'id="form-locale" value="en"', `id="form-locale" value="${locale}"`);
  return html;
}

// ---- handlers -------------------------------------------------------------------

async function handleSignup(req, res, app) {
  const form = await readForm(req, res);
  if (!form) return;
  const locale = normalizeLocale(form.get("locale"));
  const tx = TEXT[locale];
  const username = (form.get("username") ?? "").trim();
  const email = (form.get("email") ?? "").trim();
  const password = form.get("password") ?? "";
  const shown = escapeHtml(username || "—");
  const answer = (status, ok, title, message, links) =>
    sendHtml(res, status, resultPage({ locale, page: "signup-result", ok, title, message, links }));

  if (!username || !email || !password) {
    answer(400, false, tx.signupMissingTitle, tx.signupMissingBody(), [["/", tx.backToSignup]]);
    return;
  }
  const taken = () =>
    answer(409, false, tx.signupTakenTitle, tx.signupTakenBody(shown), [
      ["/", tx.backToSignup],
      ["/login", tx.signInLink],
    ]);
  if (app.users.has(username)) return taken();
  // (The edge has already checked the password against the site's policy.)
  const passwordHash = await hashPassword(password);
  if (!app.users.add({ username, email, passwordHash })) return taken(); // lost a race
  answer(200, true, tx.signupCreatedTitle, tx.signupCreatedBody(shown), [
    ["/login", tx.signInLink],
    ["/", tx.backToSignup],
  ]);
}

async function handleLogin(req, res, app) {
  const form = await readForm(req, res);
  if (!form) return;
  const locale = normalizeLocale(form.get("locale"));
  const username = (form.get("username") ?? "").trim();
  const password = form.get("password") ?? "";
  const user = username ? app.users.byName(username) : undefined;
  // Always one scrypt run, and the same answer for an unknown name.
  const matches = await verifyPassword(password, user?.passwordHash ?? app.dummyHash);
  if (!user || !matches || !password) {
    sendHtml(res, 401, await failedLoginPage(app, { locale, username }));
    return;
  }
  const headers = { "portcullis-login-user": user.id };
  if (user.roles.length) headers["portcullis-login-roles"] = user.roles.join(",");
  headers["portcullis-login-created"] = String(user.created);
  redirect(res, withLocale("/account", locale), headers);
}

async function handleAccount(req, res, app, url) {
  const locale = normalizeLocale(url.searchParams.get("locale"));
  const caller = callerOf(req, app);
  const notice = caller && url.searchParams.get("changed") === "1" ? "passwordChanged" : null;
  sendHtml(res, 200, accountPage({ locale, caller, notice }));
}

/** The change-password page: the account page, with the reason a change is required. */
async function handleChangePage(req, res, app, url) {
  const locale = normalizeLocale(url.searchParams.get("locale"));
  const caller = callerOf(req, app);
  const asked = url.searchParams.get("reason") ?? "";
  const reason = Object.hasOwn(CHANGE_REASONS, asked) ? asked : null;
  sendHtml(res, 200, accountPage({ locale, caller, reason }));
}

async function handlePasswordChange(req, res, app) {
  const form = await readForm(req, res);
  if (!form) return;
  const locale = normalizeLocale(form.get("locale"));
  const caller = callerOf(req, app);
  const fail = (status, error) => sendHtml(res, status, accountPage({ locale, caller, error }));
  if (!caller) return fail(401, "changeSignedOut");
  const current = form.get("password") ?? "";
  const next = form.get("new_password") ?? "";
  if (!current || !next) return fail(400, "changeMissing");
  if (form.has("confirm") && form.get("confirm") !== next) return fail(400, "changeMismatch");
  const user = caller.user;
  const matches = await verifyPassword(current, user?.passwordHash ?? app.dummyHash);
  if (!user || !matches) return fail(403, "changeWrongCurrent");
  // (The edge has already checked the new password against the site's policy.)
  user.passwordHash = await hashPassword(next);
  redirect(res, withLocale("/account?changed=1", locale));
}

/** `?reason=` values the reset page explains (the edge sends a used or expired link back). */
const RESET_REASONS = {
  reset_link_used: "resetLinkUsed",
  reset_link_expired: "resetLinkExpired",
  reset_link_invalid: "resetLinkInvalid",
};

/**
 * The reset page. With `Portcullis-Reset-User` (the edge verified the link):
 * the new-password form. Without: the "forgot your password" form, and the
 * edge's reason when it sent a spent link back.
 */
async function handleResetPage(req, res, app, url) {
  const locale = normalizeLocale(url.searchParams.get("locale"));
  const tx = TEXT[locale];
  const user = app.users.byId(String(req.headers["portcullis-reset-user"] ?? ""));
  const token = url.searchParams.get("token") ?? "";
  const reason = url.searchParams.get("reason") ?? "";
  const notice = Object.hasOwn(RESET_REASONS, reason)
    ? `\n      <p id="reset-reason" class="notice" role="status" data-reason="${reason}">${tx[RESET_REASONS[reason]]}</p>`
    : "";
  const body = user
    ? `    <form class="card" id="reset-password" method="post" action="/reset">
      <h1>${tx.resetSetHeading}</h1>
      <p class="lead">${tx.resetSetLead} <strong id="reset-user">${escapeHtml(user.username)}</strong></p>
      <p id="password-error" class="alert" role="alert" hidden></p>
      <input type="hidden" name="token" value="${escapeHtml(token)}">
      <input type="hidden" name="locale" value="${locale}">
      <div class="field">
        <label for="new-password">${tx.newPasswordLabel}</label>
        <input id="new-password" name="new_password" type="password" autocomplete="new-password" required>
      </div>
      <button type="submit" id="submit" class="primary">${tx.resetSetSubmit}</button>
    </form>`
    : `    <form class="card" id="reset-request" method="post" action="/reset">
      <h1>${tx.resetHeading}</h1>${notice}
      <p class="lead">${tx.resetLead}</p>
      <input type="hidden" name="locale" value="${locale}">
      <div class="field">
        <label for="username">${tx.usernameLabel}</label>
        <input id="username" name="username" type="text" autocomplete="username" required>
      </div>
      <button type="submit" id="submit" class="primary">${tx.resetSubmit}</button>
    </form>`;
  sendHtml(res, 200, pageShell({ locale, title: `${tx.resetHeading} · Portcullis`, page: "reset", current: null, script: user ? "/reset.js" : null, body }));
}

/**
 * POST /reset. With `Portcullis-Reset-User`: sets that user's password (the
 * edge has checked it and the link) and sends them to sign in. Without: asks
 * the edge's admin API for a self-service link for the named account and,
 * this being a demo, shows it instead of emailing it.
 */
async function handleReset(req, res, app) {
  const form = await readForm(req, res);
  if (!form) return;
  const locale = normalizeLocale(form.get("locale"));
  const tx = TEXT[locale];
  const resetUser = req.headers["portcullis-reset-user"];
  if (resetUser) {
    const user = app.users.byId(String(resetUser));
    const next = form.get("new_password") ?? "";
    if (!user || !next) {
      sendHtml(res, 400, resultPage({ locale, page: "reset-result", ok: false, title: tx.resetHeading, message: tx.changeMissing, links: [["/reset", tx.resetHeading]] }));
      return;
    }
    user.passwordHash = await hashPassword(next);
    redirect(res, withLocale("/login?reason=password_reset", locale));
    return;
  }
  const user = app.users.byName((form.get("username") ?? "").trim());
  let link = null;
  if (user && app.edgeUrl && app.applicationKey) {
    const answer = await fetch(new URL("/__portcullis/admin/reset-tokens", app.edgeUrl), {
      method: "POST",
      headers: { authorization: `Bearer ${app.applicationKey}`, "content-type": "application/json" },
      body: JSON.stringify({ user: user.id, purpose: "selfService" }),
    }).catch(() => null);
    if (answer?.status === 201) link = (await answer.json()).url;
  }
  // The same answer whether or not the account exists; the demo adds the link.
  const shown = link
    ? `${tx.resetSentBody} ${tx.resetDemoLink} <a id="reset-link" href="${escapeHtml(withLocale(link, locale))}">${escapeHtml(link.split("?")[0])}</a>`
    : tx.resetSentBody;
  sendHtml(res, 200, resultPage({ locale, page: "reset-sent", ok: true, title: tx.resetSentTitle, message: shown, links: [["/login", tx.signInLink]] }));
}

async function handleLogout(req, res) {
  const form = await readForm(req, res);
  if (!form) return;
  redirect(res, withLocale("/login", normalizeLocale(form.get("locale"))));
}

/** Path → method → handler(req, res, app, url); HEAD is answered by GET. */
const ROUTES = {
  "/signup": { GET: (req, res) => redirect(res, "/"), POST: handleSignup },
  "/login": { GET: (req, res) => sendFile(req, res, path.join(WWW_ROOT, "login.html")), POST: handleLogin },
  "/logout": { POST: handleLogout },
  "/account": { GET: handleAccount },
  "/account/password": { GET: handleChangePage, POST: handlePasswordChange },
  "/reset": { GET: handleResetPage, POST: handleReset },
};

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
