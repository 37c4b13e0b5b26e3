// The demo origin's routes: signup, login, the account and change-password
// pages, reset ("forgot your password"), logout. See www/server.js for what
// each answers and which `Portcullis-` headers it reads or sends.
import path from "node:path";
import { CHANGE_REASONS, TEXT, normalizeLocale, withLocale } from "../i18n.js";
import { callerOf, hashPassword, verifyPassword } from "./accounts.js";
import { WWW_ROOT, escapeHtml, readForm, redirect, sendFile, sendHtml } from "./http.js";
import { accountPage, failedLoginPage, pageShell, resultPage } from "./pages.js";

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
/**
 * The billing form's post: what this application stores is the envelope
 * the browser (or the edge) made; it cannot read the card number.
 */
async function handleBilling(req, res) {
  const form = await readForm(req, res);
  if (!form) return;
  const locale = normalizeLocale(form.get("locale"));
  const envelope = form.get("card_number") ?? "";
  const ok = envelope.startsWith("pcv1.");
  const message = ok
    ? `Stored for ${escapeHtml(form.get("cardholder") ?? "")}: <code id="stored-envelope">${escapeHtml(envelope)}</code>. Only the vault's passphrase opens it.`
    : "No encrypted card number arrived.";
  sendHtml(res, ok ? 200 : 400, resultPage({ locale, page: "billing-result", ok, title: "Billing", message, links: [["/billing", "Billing"]] }));
}

export const ROUTES = {
  "/billing": { GET: (req, res) => sendFile(req, res, path.join(WWW_ROOT, "billing.html")), POST: handleBilling },
  "/signup": { GET: (req, res) => redirect(res, "/"), POST: handleSignup },
  "/login": { GET: (req, res) => sendFile(req, res, path.join(WWW_ROOT, "login.html")), POST: handleLogin },
  "/logout": { POST: handleLogout },
  "/account": { GET: handleAccount },
  "/account/password": { GET: handleChangePage, POST: handlePasswordChange },
  "/reset": { GET: handleResetPage, POST: handleReset },
};
