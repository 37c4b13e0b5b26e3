// Login page logic for the Portcullis demo (www/login.html): page language,
// the show/hide toggle and the `?reason=` notice. The form posts to /login;
// without scripts the server answers 303 (signed in) or 401 with this page
// and #login-error shown. With scripts it is sent with fetch, so the edge's
// own answers are explained too: attempts left, a locked or inactive
// account, a session active elsewhere. No inline scripts, styles or
// handlers, so the page runs under the edge's CSP.
//
// Hooks for tests: body[data-locale] "en" | "cs", body[data-reason] the
// shown reason ("" when none), #login-reason, #login-error and its
// data-code (the edge's error code, "failed" for wrong credentials).
import { submitForm } from "/edge-form.js";
import { LOGIN_REASONS, TEXT, applyText, pageLocale } from "/i18n.js";

const $ = (id) => document.getElementById(id);
const locale = pageLocale();
const tx = TEXT[locale];

const reason = new URLSearchParams(location.search).get("reason") ?? "";
const reasonKey = Object.hasOwn(LOGIN_REASONS, reason) ? LOGIN_REASONS[reason] : null;
if (reasonKey) {
  $("login-reason").dataset.i18n = reasonKey;
  $("login-reason").hidden = false;
  document.body.dataset.reason = reason;
}

$("form-locale").value = locale;
applyText(tx, locale);

const password = $("password");
const toggle = $("toggle-password");
function renderToggle() {
  const visible = password.type === "text";
  toggle.textContent = visible ? tx.hide : tx.show;
  toggle.setAttribute("aria-label", visible ? tx.hideAria : tx.showAria);
  toggle.setAttribute("aria-pressed", String(visible));
}
toggle.addEventListener("click", () => {
  password.type = password.type === "password" ? "text" : "password";
  renderToggle();
});
renderToggle();

// After a failed attempt the username is filled in again: continue with the password.
if ($("username").value && !$("login-error").hidden) password.focus();

function showError(code, text) {
  const line = $("login-error");
  line.removeAttribute("data-i18n");
  line.textContent = text;
  line.dataset.code = code;
  line.hidden = false;
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const submit = $("submit");
  submit.disabled = true;
  try {
    const answer = await submitForm(event.target, tx);
    if (answer.kind === "navigate") {
      location.href = answer.url;
      return;
    }
    const left = answer.response.headers.get("portcullis-attempts-left");
    if (answer.kind === "edge") {
      showError(answer.code, answer.text);
    } else {
      const extra = left !== null && Number(left) > 0 ? ` ${tx.attemptsLeft(Number(left))}` : "";
      showError("failed", `${tx.loginFailed}${extra}`);
    }
    password.value = "";
    password.focus();
  } catch (error) {
    showError("network", String(error?.message ?? error));
  } finally {
    submit.disabled = false;
  }
});
