// Signup page logic for the Portcullis demo. No inline scripts, styles or
// handlers (statuses and the meter width are data attributes that style.css
// selects on), so the page runs under the edge's CSP, `script-src 'self'
// 'wasm-unsafe-eval'; style-src 'self'`.
//
// The policy, first match wins:
//   ?policy=URL   the policy document at URL (PasswordChecker.fromUrl)
//   ?preset=NAME  a built-in preset
//   the site's policy from the edge (/__portcullis/policy), when it answers:
//                 the page is served through the Portcullis edge (`npm run demo`)
//   the preset picker's default (the page served by www/server.js alone)
//
// Hooks for tests:
//   body[data-ready]         "" → "rules" (first checker built) → "estimator" (zxcvbn loaded)
//   body[data-policy-source] "preset" | "url" (?policy=URL or the edge's policy)
//   body[data-preset]        preset name ("" for url)
//   body[data-locale]        "en" | "cs"
//   #meter[data-score]       "0".."4", "" when unknown; #meter[data-state] idle|loading|ready|error
//   #requirements > li[data-rule][data-status]   #confirm-status[data-match] "true"|"false"|""
// The package's browser entry, by path. An application would write
// `from "portcullis"` and let its bundler (or an import map) resolve it.
import { PasswordChecker } from "/pkg/src/browser.js";

const DEFAULT_PRESET = "owasp-asvs-l2";
/** The edge's public policy (crates/edge); the standalone server answers 404. */
const SITE_POLICY_URL = "/__portcullis/policy";
const LOCALES = ["en", "cs"];
const MARKS = { pass: "✓", fail: "✗", pending: "…", skipped: "–" };

const TEXT = {
  en: {
    title: "Create your account · Portcullis demo",
    tagline: "Live password policy checks: demo",
    settingsTitle: "Demo settings",
    localeLabel: "Language",
    presetLabel: "Password policy",
    presetFromUrl: "(from URL)",
    presetSite: "Site policy (edge)",
    heading: "Create your account",
    lead: "The password is checked in your browser as you type; nothing is sent until you submit.",
    usernameLabel: "Username",
    emailLabel: "Email",
    passwordLabel: "Password",
    show: "Show",
    hide: "Hide",
    showAria: "Show password",
    hideAria: "Hide password",
    generate: "Generate a strong password",
    generatedLabel: "Generated password (save it in your password manager):",
    strength: "Strength",
    scores: ["Very weak", "Weak", "Fair", "Strong", "Very strong"],
    meterIdle: "Estimated once you focus the password field",
    meterLoading: "Loading the strength estimator…",
    meterEmpty: "Type a password",
    meterError: "The strength estimator failed to load",
    crackTime: (d) => `Estimated time to crack (offline attack): ${d}`,
    requirementsTitle: "Password requirements",
    status: {
      pass: "met",
      fail: "not met",
      pending: "waiting for the strength estimate",
      skipped: "skipped",
    },
    confirmLabel: "Confirm password",
    match: "Passwords match",
    mismatch: "Passwords do not match",
    submit: "Create account",
    fineprint: "Demo only: the server does not store anything.",
    sourcePreset: (n) => `Built-in preset “${n}”.`,
    sourceUrl: (u) => `Policy loaded from ${u}.`,
    sourceSite: (u) => `This site's policy, from the Portcullis edge (${u}).`,
    policyError: (u, m) => `Could not load the policy from ${u} (${m}); using a built-in preset instead.`,
    checkError: (m) => `The password could not be checked: ${m}`,
  },
  cs: {
    title: "Vytvořte si účet · ukázka Portcullis",
    tagline: "Kontrola hesel podle pravidel webu: ukázka",
    settingsTitle: "Nastavení ukázky",
    localeLabel: "Jazyk",
    presetLabel: "Pravidla pro hesla",
    presetFromUrl: "(z adresy URL)",
    presetSite: "Zásady webu (edge)",
    heading: "Vytvořte si účet",
    lead: "Heslo se kontroluje přímo ve vašem prohlížeči už při psaní; nic se neodešle, dokud formulář neodešlete.",
    usernameLabel: "Uživatelské jméno",
    emailLabel: "E-mail",
    passwordLabel: "Heslo",
    show: "Zobrazit",
    hide: "Skrýt",
    showAria: "Zobrazit heslo",
    hideAria: "Skrýt heslo",
    generate: "Vygenerovat silné heslo",
    generatedLabel: "Vygenerované heslo (uložte si ho do správce hesel):",
    strength: "Síla hesla",
    scores: ["Velmi slabé", "Slabé", "Průměrné", "Silné", "Velmi silné"],
    meterIdle: "Odhad se spustí po kliknutí do pole pro heslo",
    meterLoading: "Načítá se odhad síly hesla…",
    meterEmpty: "Zadejte heslo",
    meterError: "Odhad síly hesla se nepodařilo načíst",
    crackTime: (d) => `Odhadovaná doba prolomení (offline útok): ${d}`,
    requirementsTitle: "Požadavky na heslo",
    status: {
      pass: "splněno",
      fail: "nesplněno",
      pending: "čeká na odhad síly hesla",
      skipped: "přeskočeno",
    },
    confirmLabel: "Heslo znovu",
    match: "Hesla se shodují",
    mismatch: "Hesla se neshodují",
    submit: "Vytvořit účet",
    fineprint: "Pouze ukázka: server nic neukládá.",
    sourcePreset: (n) => `Vestavěná sada pravidel „${n}“.`,
    sourceUrl: (u) => `Pravidla načtena z ${u}.`,
    sourceSite: (u) => `Zásady tohoto webu z brány Portcullis (${u}).`,
    policyError: (u, m) => `Pravidla z ${u} se nepodařilo načíst (${m}); použije se vestavěná sada.`,
    checkError: (m) => `Heslo se nepodařilo zkontrolovat: ${m}`,
  },
};

const $ = (id) => document.getElementById(id);
const el = {
  locale: $("locale"),
  preset: $("preset"),
  policySource: $("policy-source"),
  policyError: $("policy-error"),
  form: $("signup"),
  formLocale: $("form-locale"),
  username: $("username"),
  email: $("email"),
  password: $("password"),
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

const state = {
  locale: "en",
  preset: DEFAULT_PRESET,
  source: "preset", // "preset" | "url"
  policyUrl: null,
  policyDoc: null, // the policy fetched from policyUrl, reused on locale and picker changes
  sitePolicy: false, // policyUrl is the edge's policy (the picker can switch back to it)
  checker: null,
  estimatorWanted: false,
  estimatorError: false,
  visible: false,
  generated: null,
  ok: false,
  policyErrorText: null, // () => string, re-run on locale change
};

const t = () => TEXT[state.locale];

// ---- page text ------------------------------------------------------------

function translatePage() {
  const tx = t();
  document.documentElement.lang = state.locale;
  document.title = tx.title;
  document.body.dataset.locale = state.locale;
  el.formLocale.value = state.locale;
  for (const node of document.querySelectorAll("[data-i18n]")) {
    const value = tx[node.dataset.i18n];
    if (typeof value === "string") node.textContent = value;
  }
  const fromUrl = el.preset.querySelector('option[value=""]');
  if (fromUrl) fromUrl.textContent = state.sitePolicy ? tx.presetSite : tx.presetFromUrl;
  renderToggle();
  renderSource();
}

function renderSource() {
  const tx = t();
  document.body.dataset.policySource = state.source;
  document.body.dataset.preset = state.source === "preset" ? state.preset : "";
  el.policySource.dataset.source = state.source;
  el.policySource.textContent =
    state.source === "preset"
      ? tx.sourcePreset(state.preset)
      : state.sitePolicy
        ? tx.sourceSite(state.policyUrl)
        : tx.sourceUrl(state.policyUrl);
  el.policyError.hidden = !state.policyErrorText;
  el.policyError.textContent = state.policyErrorText ? state.policyErrorText() : "";
}

function renderToggle() {
  const tx = t();
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

function buildChecker() {
  const options = { locale: state.locale };
  return state.source === "url"
    ? PasswordChecker.fromPolicy(state.policyDoc, options)
    : PasswordChecker.fromPreset(state.preset, options);
}

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
      if (state.checker !== checker) return; // a rebuilt checker waits on its own `ready`
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

function rebuild() {
  try {
    setChecker(buildChecker());
  } catch (error) {
    showPolicyError(() => String(error?.message ?? error));
  }
}

function showPolicyError(text) {
  state.policyErrorText = text;
  renderSource();
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
  const tx = t();
  const password = el.password.value;
  let result;
  try {
    result = checker.check(password, { username: el.username.value, email: el.email.value });
  } catch (error) {
    showPolicyError(() => t().checkError(String(error?.message ?? error)));
    state.ok = false;
    renderConfirm();
    return;
  }
  const empty = password === "";
  renderRules(result.rules, empty, tx);
  renderMeter(result, empty, tx);
  renderFeedback(empty ? null : result.feedback);
  el.generated.hidden = !(state.generated !== null && password === state.generated);
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
  const warning = feedback?.warning ?? "";
  const suggestions = feedback?.suggestions ?? [];
  el.feedbackWarning.textContent = warning;
  el.feedbackWarning.hidden = !warning;
  el.feedbackSuggestions.replaceChildren(
    ...suggestions.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }),
  );
  el.feedback.hidden = !warning && suggestions.length === 0;
}

function renderConfirm() {
  const tx = t();
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

function updateUrl() {
  const url = new URL(location.href);
  url.searchParams.set("locale", state.locale);
  if (state.source === "preset") url.searchParams.set("preset", state.preset);
  else if (state.sitePolicy) url.searchParams.delete("preset");
  history.replaceState(history.state, "", url);
}

function wireEvents() {
  el.password.addEventListener("focus", loadEstimator);
  el.password.addEventListener("input", () => {
    loadEstimator(); // also covers autofill, which fills without focusing
    render();
  });
  for (const input of [el.username, el.email]) input.addEventListener("input", render);
  el.confirm.addEventListener("input", renderConfirm);

  el.toggle.addEventListener("click", () => setVisible(!state.visible));

  el.generate.addEventListener("click", () => {
    if (!state.checker) return;
    let password;
    try {
      password = state.checker.generate();
    } catch (error) {
      showPolicyError(() => String(error?.message ?? error));
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

  el.locale.addEventListener("change", () => {
    state.locale = LOCALES.includes(el.locale.value) ? el.locale.value : "en";
    translatePage();
    if (state.checker) rebuild();
    updateUrl();
  });

  el.preset.addEventListener("change", () => {
    if (el.preset.value) {
      state.source = "preset";
      state.preset = el.preset.value;
    } else if (state.policyDoc) {
      state.source = "url"; // back to the policy loaded at start (the edge's)
    } else {
      return;
    }
    state.policyErrorText = null;
    renderSource();
    rebuild();
    updateUrl();
  });

  el.form.addEventListener("submit", (event) => {
    render();
    if (el.submit.disabled) event.preventDefault();
  });

  // Back/forward cache and form restoration can bring back typed values.
  window.addEventListener("pageshow", render);
}

// ---- start ----------------------------------------------------------------

async function start() {
  const query = new URLSearchParams(location.search);
  const presets = PasswordChecker.presets();

  const locale = (query.get("locale") ?? "").toLowerCase();
  state.locale = LOCALES.includes(locale) ? locale : "en";
  const preset = query.get("preset");
  const explicitPreset = Boolean(preset && presets.includes(preset));
  state.preset = explicitPreset ? preset : DEFAULT_PRESET;
  state.policyUrl = query.get("policy") || null;

  el.preset.replaceChildren(
    ...presets.map((name) => {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      return option;
    }),
  );
  el.locale.value = state.locale;
  el.preset.value = state.preset;
  wireEvents();

  let checker = null;
  if (state.policyUrl) {
    state.source = "url";
    const option = document.createElement("option");
    option.value = "";
    el.preset.prepend(option);
    el.preset.value = "";
    el.preset.disabled = true;
    translatePage();
    try {
      const url = new URL(state.policyUrl, location.href);
      checker = await PasswordChecker.fromUrl(url, { locale: state.locale });
      state.policyDoc = checker.policy();
    } catch (error) {
      const policyUrl = state.policyUrl;
      const message = String(error?.message ?? error);
      console.warn("Portcullis: policy URL failed:", error);
      state.policyErrorText = () => t().policyError(policyUrl, message);
      state.source = "preset";
      option.remove();
      el.preset.disabled = false;
      el.preset.value = state.preset;
    }
  } else if (!explicitPreset) {
    checker = await loadSitePolicy();
  }
  translatePage();
  if (!checker) checker = PasswordChecker.fromPreset(state.preset, { locale: state.locale });
  setChecker(checker);
}

/**
 * The edge's policy when the page is served through the Portcullis edge, with
 * "Site policy (edge)" selected in the picker; null otherwise (the standalone
 * server answers 404), leaving the picker's default.
 */
async function loadSitePolicy() {
  let checker;
  try {
    checker = await PasswordChecker.fromUrl(new URL(SITE_POLICY_URL, location.href), { locale: state.locale });
  } catch (error) {
    console.info(`Portcullis: no site policy at ${SITE_POLICY_URL} (${error?.message ?? error}); using a built-in preset.`);
    return null;
  }
  state.source = "url";
  state.sitePolicy = true;
  state.policyUrl = SITE_POLICY_URL;
  state.policyDoc = checker.policy();
  const option = document.createElement("option");
  option.value = "";
  el.preset.prepend(option);
  el.preset.value = "";
  return checker;
}

start().catch((error) => {
  console.error("Portcullis demo failed to start:", error);
  el.policyError.hidden = false;
  el.policyError.textContent = String(error?.message ?? error);
});
