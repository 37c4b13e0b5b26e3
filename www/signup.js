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
//   #captcha-status[data-state] "" | working | solved | failed (the built-in CAPTCHA)
// The package's browser entry, by path. An application would write
// `from "portcullis"` and let its bundler (or an import map) resolve it.
// The checklist itself is www/checker-ui.js (shared with the account page).
import { PasswordChecker, fillCaptcha } from "/pkg/src/browser.js";
import { DEFAULT_PRESET, SITE_POLICY_URL, checkerElements, createCheckerUI, fetchSitePolicy } from "/checker-ui.js";
import { CHECKER_TEXT, LOCALES, TEXT as PAGE_TEXT, localizeNav } from "/i18n.js";

const SIGNUP_TEXT = {
  en: {
    title: "Create your account · Portcullis demo",
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
    confirmLabel: "Confirm password",
    submit: "Create account",
    captchaWorking: (p) => `Checking this is a person, not a script… ${p}%`,
    captchaDone: "Checked.",
    captchaFailed: (m) => `The check could not be done (${m}); try again.`,
    fineprint: "Demo only: the server keeps accounts in memory until it restarts.",
    sourcePreset: (n) => `Built-in preset “${n}”.`,
    sourceUrl: (u) => `Policy loaded from ${u}.`,
    sourceSite: (u) => `This site's policy, from the Portcullis edge (${u}).`,
    policyError: (u, m) => `Could not load the policy from ${u} (${m}); using a built-in preset instead.`,
  },
  cs: {
    title: "Vytvořte si účet · ukázka Portcullis",
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
    confirmLabel: "Heslo znovu",
    submit: "Vytvořit účet",
    captchaWorking: (p) => `Ověřujeme, že jde o člověka, ne o skript… ${p} %`,
    captchaDone: "Ověřeno.",
    captchaFailed: (m) => `Ověření se nepodařilo (${m}); zkuste to znovu.`,
    fineprint: "Pouze ukázka: server uchovává účty v paměti do svého restartu.",
    sourcePreset: (n) => `Vestavěná sada pravidel „${n}“.`,
    sourceUrl: (u) => `Pravidla načtena z ${u}.`,
    sourceSite: (u) => `Zásady tohoto webu z brány Portcullis (${u}).`,
    policyError: (u, m) => `Pravidla z ${u} se nepodařilo načíst (${m}); použije se vestavěná sada.`,
  },
};

/** Header and shared text (i18n.js), the checklist's, then this page's. */
const TEXT = Object.fromEntries(
  LOCALES.map((l) => [l, { ...PAGE_TEXT[l], ...CHECKER_TEXT[l], ...SIGNUP_TEXT[l] }]),
);

const $ = (id) => document.getElementById(id);
const el = {
  locale: $("locale"),
  preset: $("preset"),
  policySource: $("policy-source"),
  policyError: $("policy-error"),
  form: $("signup"),
  captchaStatus: $("captcha-status"),
  formLocale: $("form-locale"),
  username: $("username"),
  email: $("email"),
};

const state = {
  locale: "en",
  preset: DEFAULT_PRESET,
  source: "preset", // "preset" | "url"
  policyUrl: null,
  policyDoc: null, // the policy fetched from policyUrl, reused on locale and picker changes
  sitePolicy: false, // policyUrl is the edge's policy (the picker can switch back to it)
  policyErrorText: null, // () => string, re-run on locale change
  captchaChecked: false, // the edge's built-in CAPTCHA was looked for
};

const t = () => TEXT[state.locale];

const ui = createCheckerUI(
  checkerElements("password"),
  {
    text: t,
    user: () => ({ username: el.username.value, email: el.email.value }),
    onError: showPolicyError,
  },
);

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
  localizeNav(state.locale);
  const fromUrl = el.preset.querySelector('option[value=""]');
  if (fromUrl) fromUrl.textContent = state.sitePolicy ? tx.presetSite : tx.presetFromUrl;
  ui.renderToggle();
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

// ---- checker lifecycle ----------------------------------------------------

function buildChecker() {
  const options = { locale: state.locale };
  return state.source === "url"
    ? PasswordChecker.fromPolicy(state.policyDoc, options)
    : PasswordChecker.fromPreset(state.preset, options);
}

function rebuild() {
  try {
    ui.setChecker(buildChecker());
  } catch (error) {
    showPolicyError(() => String(error?.message ?? error));
  }
}

function showPolicyError(text) {
  state.policyErrorText = text;
  renderSource();
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
  // The password and confirm fields are the checklist's (checker-ui.js).
  for (const input of [el.username, el.email]) input.addEventListener("input", ui.render);

  el.locale.addEventListener("change", () => {
    state.locale = LOCALES.includes(el.locale.value) ? el.locale.value : "en";
    translatePage();
    if (ui.checker) rebuild();
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
  ui.setChecker(checker);
}

/**
 * The edge's policy when the page is served through the Portcullis edge, with
 * "Site policy (edge)" selected in the picker; null otherwise (the standalone
 * server answers 404), leaving the picker's default.
 */
async function loadSitePolicy() {
  const checker = await fetchSitePolicy(state.locale);
  if (!checker) return null;
  // Served through the edge: its CAPTCHA, once (the standalone server has none).
  if (!state.captchaChecked) {
    state.captchaChecked = true;
    builtinCaptcha().catch((error) => console.warn("Portcullis: CAPTCHA setup failed:", error));
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

/**
 * The built-in CAPTCHA (provider `builtin`), when the edge's public policy
 * asks for it on signup: on submit, the proof of work is found in a Web
 * Worker with progress shown, put in `portcullis-captcha`, and the form
 * is sent as usual.
 */
async function builtinCaptcha() {
  const response = await fetch(SITE_POLICY_URL).catch(() => null);
  const captcha = response?.ok ? (await response.json()).captcha : null;
  if (!captcha?.enabled || captcha.provider !== "builtin" || !captcha.pages?.includes("signup")) return;
  const status = el.captchaStatus;
  el.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.hidden = false;
    status.dataset.state = "working";
    try {
      await fillCaptcha(el.form, {
        onProgress: ({ tried, expected, done }) => {
          const percent = done ? 100 : Math.min(99, Math.round((100 * tried) / expected));
          status.textContent = t().captchaWorking(percent);
        },
      });
      status.dataset.state = "solved";
      status.textContent = t().captchaDone;
      // The form has a control with the id `submit`, which shadows the method.
      HTMLFormElement.prototype.submit.call(el.form);
    } catch (error) {
      status.dataset.state = "failed";
      status.textContent = t().captchaFailed(String(error?.message ?? error));
    }
  });
}

start().catch((error) => {
  console.error("Portcullis demo failed to start:", error);
  el.policyError.hidden = false;
  el.policyError.textContent = String(error?.message ?? error);
});
