// The live password checklist of the Portcullis demo: requirements list,
// strength meter, zxcvbn feedback, show/hide toggle, generator and confirm
// field, gating the form's submit button. Used by the signup page
// (signup.js) and the change-password form (account.js); each page owns its
// markup (same ids and classes, styled by style.css through data attributes,
// no inline styles) and chooses the policy. The component's text is
// CHECKER_TEXT in i18n.js.
//
// Hooks for tests (see signup.js):
//   body[data-ready]   "" → "rules" (first checker set) → "estimator" (zxcvbn loaded)
//   #meter[data-score] "0".."4", "" when unknown; #meter[data-state] idle|loading|ready|error
//   #requirements > li[data-rule][data-status]   #confirm-status[data-match] "true"|"false"|""
import { PasswordChecker } from "/pkg/src/browser.js";

/** The preset a page uses when the edge publishes no policy. */
export const DEFAULT_PRESET = "owasp-asvs-l2";
/** The edge's public policy (crates/edge); the standalone server answers 404. */
export const SITE_POLICY_URL = "/__portcullis/policy";

const MARKS = { pass: "✓", fail: "✗", pending: "…", skipped: "–", deferred: "…" };

/**
 * A checker for the site's policy from the edge, or null when there is none
 * (the page is served by www/server.js alone).
 */
export async function fetchSitePolicy(locale) {
  try {
    return await PasswordChecker.fromUrl(new URL(SITE_POLICY_URL, location.href), { locale });
  } catch (error) {
    console.info(`Portcullis: no site policy at ${SITE_POLICY_URL} (${error?.message ?? error}); using a built-in preset.`);
    return null;
  }
}

/**
 * The checker widget's elements, which every page names alike; only the
 * password field's id differs (`password` on signup, `new-password` on the
 * account page).
 */
export function checkerElements(passwordId) {
  const $ = (id) => document.getElementById(id);
  return {
    password: $(passwordId),
    toggle: $("toggle-password"),
    generate: $("generate"),
    generated: $("generated"),
    generatedValue: $("generated-value"),
    meter: $("meter"),
    meterLabel: $("meter-label"),
    meterTrack: $("meter-track"),
    crackTime: $("crack-time"),
    requirements: $("requirements"),
    feedback: $("feedback"),
    feedbackWarning: $("feedback-warning"),
    feedbackSuggestions: $("feedback-suggestions"),
    confirm: $("confirm"),
    confirmStatus: $("confirm-status"),
    submit: $("submit"),
  };
}

/**
 * Wires the component to its elements and returns its controls.
 *
 * @param {object} el  password, confirm, confirmStatus, meter, meterLabel,
 *   meterTrack, crackTime, requirements, feedback, feedbackWarning,
 *   feedbackSuggestions, submit; optional: toggle, generate, generated,
 *   generatedValue
 * @param {object} options
 *   text()     the page's dictionary (CHECKER_TEXT plus show/hide/showAria/hideAria)
 *   user()     the UserInfo passed to `check` (username, email, isAdmin)
 *   onError(f) a checker call failed; `f()` gives the message in the current locale
 */
export function createCheckerUI(el, { text, user = () => ({}), onError = () => {} }) {
  const state = {
    checker: null,
    estimatorWanted: false,
    estimatorError: false,
    visible: false,
    generated: null,
    ok: false,
  };

  function renderToggle() {
    if (!el.toggle) return;
    const tx = text();
    el.toggle.textContent = state.visible ? tx.hide : tx.show;
    el.toggle.setAttribute("aria-label", state.visible ? tx.hideAria : tx.showAria);
    el.toggle.setAttribute("aria-pressed", String(state.visible));
  }

  function setVisible(visible) {
    state.visible = visible;
    const type = visible ? "text" : "password";
    el.password.type = type;
    el.confirm.type = type;
    renderToggle();
  }

  // ---- checker lifecycle ----------------------------------------------------

  function setChecker(checker) {
    state.checker = checker;
    if (checker.estimatorLoaded) {
      document.body.dataset.ready = "estimator";
    } else {
      document.body.dataset.ready = "rules";
      if (state.estimatorWanted) loadEstimator();
    }
    render();
  }

  /** Starts loading the zxcvbn estimator (first access of `checker.ready`). */
  function loadEstimator() {
    const checker = state.checker;
    if (!checker || checker.estimatorLoaded) return;
    const first = !state.estimatorWanted || state.estimatorError;
    state.estimatorWanted = true;
    state.estimatorError = false;
    checker.ready.then(
      () => {
        if (state.checker !== checker) return; // a replaced checker waits on its own `ready`
        document.body.dataset.ready = "estimator";
        render();
      },
      (error) => {
        if (state.checker !== checker) return;
        state.estimatorError = true; // the next focus retries
        console.warn("Portcullis: the estimator did not load:", error);
        render();
      },
    );
    if (first) render();
  }

  // ---- rendering ------------------------------------------------------------

  function meterState() {
    if (state.checker?.estimatorLoaded) return "ready";
    if (state.estimatorError) return "error";
    return state.estimatorWanted ? "loading" : "idle";
  }

  function render() {
    const checker = state.checker;
    if (!checker) return;
    const tx = text();
    const password = el.password.value;
    let result;
    try {
      result = checker.check(password, user());
    } catch (error) {
      onError(() => text().checkError(String(error?.message ?? error)));
      state.ok = false;
      renderConfirm();
      return;
    }
    const empty = password === "";
    renderRules(result.rules, empty, tx);
    renderMeter(result, empty, tx);
    renderFeedback(empty ? null : result.feedback);
    if (el.generated) el.generated.hidden = !(state.generated !== null && password === state.generated);
    state.ok = result.ok && !empty;
    renderConfirm();
  }

  function renderRules(rules, empty, tx) {
    const list = el.requirements;
    list.dataset.empty = String(empty);
    const ids = rules.map((r) => r.id).join(" ");
    if ([...list.children].map((li) => li.dataset.rule).join(" ") !== ids) {
      list.replaceChildren(
        ...rules.map((rule) => {
          const li = document.createElement("li");
          li.dataset.rule = rule.id;
          const mark = document.createElement("span");
          mark.className = "mark";
          mark.setAttribute("aria-hidden", "true");
          const message = document.createElement("span");
          message.className = "message";
          const status = document.createElement("span");
          status.className = "visually-hidden";
          li.append(mark, message, status);
          return li;
        }),
      );
    }
    rules.forEach((rule, i) => {
      const li = list.children[i];
      const [mark, message, status] = li.children;
      if (li.dataset.status !== rule.status) li.dataset.status = rule.status;
      const markText = MARKS[rule.status] ?? "?";
      if (mark.textContent !== markText) mark.textContent = markText;
      if (message.textContent !== rule.message) message.textContent = rule.message;
      const statusText = ` (${tx.status[rule.status] ?? rule.status})`;
      if (status.textContent !== statusText) status.textContent = statusText;
    });
  }

  function renderMeter(result, empty, tx) {
    const mstate = meterState();
    const score = empty || result.score === null || result.score === undefined ? null : result.score;
    el.meter.dataset.state = mstate;
    el.meter.dataset.score = score === null ? "" : String(score);
    let label;
    if (score !== null) label = tx.scores[score];
    else if (mstate === "error") label = tx.meterError;
    else if (mstate === "loading") label = tx.meterLoading;
    else if (mstate === "idle") label = tx.meterIdle;
    else label = tx.meterEmpty;
    el.meterLabel.textContent = label;
    if (score === null) el.meterTrack.removeAttribute("aria-valuenow");
    else el.meterTrack.setAttribute("aria-valuenow", String(score));
    el.meterTrack.setAttribute("aria-valuetext", label);
    if (!empty && result.crackTime) {
      el.crackTime.textContent = tx.crackTime(result.crackTime.display);
      el.crackTime.hidden = false;
    } else {
      el.crackTime.textContent = "";
      el.crackTime.hidden = true;
    }
  }

  function renderFeedback(feedback) {
    const warning = feedback?.warning?.message ?? "";
    const suggestions = (feedback?.suggestions ?? []).map((s) => s.message);
    el.feedbackWarning.textContent = warning;
    el.feedbackWarning.hidden = !warning;
    el.feedbackSuggestions.replaceChildren(
      ...suggestions.map((line) => {
        const li = document.createElement("li");
        li.textContent = line;
        return li;
      }),
    );
    el.feedback.hidden = !warning && suggestions.length === 0;
  }

  function renderConfirm() {
    const tx = text();
    const confirm = el.confirm.value;
    const match = confirm !== "" && confirm === el.password.value;
    if (confirm === "") {
      el.confirmStatus.dataset.match = "";
      el.confirmStatus.textContent = "";
    } else {
      el.confirmStatus.dataset.match = String(match);
      el.confirmStatus.textContent = match ? tx.match : tx.mismatch;
    }
    el.confirm.setCustomValidity(confirm === "" || match ? "" : tx.mismatch);
    el.submit.disabled = !(state.ok && match);
  }

  // ---- events ---------------------------------------------------------------

  el.password.addEventListener("focus", loadEstimator);
  el.password.addEventListener("input", () => {
    loadEstimator(); // also covers autofill, which fills without focusing
    render();
  });
  el.confirm.addEventListener("input", renderConfirm);
  el.toggle?.addEventListener("click", () => setVisible(!state.visible));

  el.generate?.addEventListener("click", () => {
    if (!state.checker) return;
    let password;
    try {
      password = state.checker.generate();
    } catch (error) {
      onError(() => String(error?.message ?? error));
      return;
    }
    el.password.value = password;
    el.confirm.value = password;
    state.generated = password;
    el.generatedValue.textContent = password;
    setVisible(true);
    loadEstimator();
    render();
  });

  el.password.form?.addEventListener("submit", (event) => {
    render();
    if (el.submit.disabled) event.preventDefault();
  });

  // Back/forward cache and form restoration can bring back typed values.
  window.addEventListener("pageshow", render);

  return {
    /** Uses `checker` from now on (a new policy or locale) and renders. */
    setChecker,
    /** Re-checks the typed password (after the user info or the locale changed). */
    render,
    /** Re-labels the show/hide button (after a locale change). */
    renderToggle,
    get checker() {
      return state.checker;
    },
  };
}
