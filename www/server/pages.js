// The demo origin's pages: the shared header and shell, result pages, the
// account page with its change-password form, and the failed-login page.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { CHANGE_REASONS, CHECKER_TEXT, TEXT, withLocale } from "../i18n.js";
import { WWW_ROOT, escapeHtml } from "./http.js";

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
        ${link("/__portcullis/console/", "admin", "navAdmin")}${switcher}
      </nav>
    </header>`;
}

export function pageShell({ locale, title, page, current, switchHref = null, script = null, body }) {
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
export function resultPage({ locale, page, ok, title, message, links }) {
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
export function accountPage({ locale, caller, notice = null, error = null, reason = null }) {
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
export async function failedLoginPage(app, { locale, username }) {
  app.loginTemplate ??= await readFile(path.join(WWW_ROOT, "login.html"), "utf8");
  let html = app.loginTemplate;
  html = replaceOnce(html, '<html lang="en">', `<html lang="${locale}">`);
  html = replaceOnce(html, ' data-locale="en"', ` data-locale="${locale}"`);
  html = replaceOnce(html, /(<p id="login-error"[^>]*?) hidden>[^<]*<\/p>/, (_, open) => `${open}>${TEXT[locale].loginFailed}</p>`);
  html = replaceOnce(html, '<input id="username" name="username"', `<input id="username" name="username" value="${escapeHtml(username)}"`);
  html = replaceOnce(html, 'id="form-locale" value="en"', `id="form-locale" value="${locale}"`);
  return html;
}
