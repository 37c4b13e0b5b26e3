// Account page logic for the Portcullis demo (GET /account, rendered by
// www/server.js in the page's language): the change-password form's live
// checklist (checker-ui.js, the same component as the signup page) and the
// XSRF token the edge asks for on unsafe requests, copied from its cookie
// into the forms' `_xsrf` fields. No inline scripts, styles or handlers, so
// the page runs under the edge's CSP. The form is sent with fetch, so the
// edge's refusals (422: a password used recently, or failing the rules) are
// shown in #password-error (data-code: the edge's error code).
//
// The policy: the site's policy from the edge when it publishes one, the
// default preset otherwise (the page served by www/server.js alone).
// Hooks for tests: those of checker-ui.js.
import { PasswordChecker } from "/pkg/src/browser.js";
import { DEFAULT_PRESET, checkerElements, createCheckerUI, fetchSitePolicy } from "/checker-ui.js";
import { explainRefusals } from "/edge-form.js";
import { CHECKER_TEXT, TEXT, normalizeLocale } from "/i18n.js";

/** The edge's XSRF cookie (readable by the page; SPEC.md "Names"). */
const XSRF_COOKIE = "__Host-portcullis-xsrf";

const $ = (id) => document.getElementById(id);

function xsrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === XSRF_COOKIE) return decodeURIComponent(value.join("="));
  }
  return "";
}

async function start() {
  const token = xsrfToken();
  for (const input of document.querySelectorAll('input[name="_xsrf"]')) input.value = token;

  const form = $("change-password");
  if (!form) return;
  const locale = normalizeLocale(document.body.dataset.locale);
  const tx = { ...TEXT[locale], ...CHECKER_TEXT[locale] };
  const errorLine = $("password-error");
  const ui = createCheckerUI(
    checkerElements("new-password"),
    {
      text: () => tx,
      user: () => ({ username: form.dataset.username, isAdmin: form.dataset.admin === "true" }),
      onError: (message) => {
        errorLine.textContent = message();
        errorLine.hidden = false;
      },
    },
  );
  ui.renderToggle();
  explainRefusals(form, tx, errorLine);
  const checker = (await fetchSitePolicy(locale)) ?? PasswordChecker.fromPreset(DEFAULT_PRESET, { locale });
  ui.setChecker(checker);
}

start().catch((error) => {
  console.error("Portcullis account page failed to start:", error);
  const line = $("password-error");
  if (line) {
    line.textContent = String(error?.message ?? error);
    line.hidden = false;
  }
});
