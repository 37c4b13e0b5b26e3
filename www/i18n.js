// Page text of the Portcullis demo in English and Czech, shared by the
// browser (login.js, account.js, signup.js, checker-ui.js: elements with
// data-i18n="key" get TEXT[locale][key]) and by www/server.js, which renders
// the pages it answers itself (account, POST results) from the same
// dictionaries. Nothing here touches the DOM at import time, so Node can
// import it.
//
// Helpers for pages: pageLocale(), applyText(), localizeNav().

export const LOCALES = ["en", "cs"];

/** `?reason=` values the login page explains (the edge redirects with them). */
export const LOGIN_REASONS = {
  session_expired: "reasonSessionExpired",
  session_ended: "reasonSessionEnded",
  login_required: "reasonLoginRequired",
  password_reset: "reasonPasswordReset",
};

/** `?reason=` values the change-password page explains (the edge's change gate). */
export const CHANGE_REASONS = {
  first_login: "changeFirstLogin",
  password_expired: "changeExpired",
  policy_tightened: "changeTightened",
  admin_required: "changeAdminRequired",
};

/** Edge error codes (`{"error"}` of its JSON answers) the forms explain. */
export const EDGE_ERRORS = {
  account_locked: "errorLocked",
  account_inactive: "errorInactive",
  session_active: "errorSessionActive",
  banned: "errorBanned",
  captcha_failed: "errorCaptcha",
  password_rejected: "errorPasswordRejected",
};

export const TEXT = {
  en: {
    // header (every page)
    tagline: "Live password policy checks: demo",
    navLabel: "Demo pages",
    navSignup: "Sign up",
    navLogin: "Sign in",
    navAccount: "Account",
    navAdmin: "Admin",
    switchLocale: "Čeština",
    show: "Show",
    hide: "Hide",
    showAria: "Show password",
    hideAria: "Hide password",

    // login (www/login.html)
    loginTitle: "Sign in · Portcullis demo",
    loginHeading: "Sign in",
    loginLead: "Welcome back. Sign in with your demo account.",
    usernameLabel: "Username",
    passwordLabel: "Password",
    loginSubmit: "Sign in",
    loginFailed: "Wrong username or password.",
    reasonSessionExpired: "Your session expired, please sign in again.",
    reasonSessionEnded: "Your session was ended (signed in elsewhere, or by an administrator). Please sign in again.",
    reasonLoginRequired: "Sign in to see that page.",
    reasonPasswordReset: "Your password was changed. Sign in with the new one.",
    loginForgot: "Forgot your password?",
    resetHeading: "Reset your password",
    resetLead: "Give your username and we send you a link to choose a new password.",
    resetSubmit: "Send me a link",
    resetSetHeading: "Choose a new password",
    resetSetLead: "For the account",
    resetSetSubmit: "Set the password",
    resetSentTitle: "Check your email",
    resetSentBody: "If the account exists, a link to reset its password is on its way. It works once.",
    resetDemoLink: "(This demo sends no email; here is the link:)",
    resetLinkUsed: "That reset link was already used. Ask for a new one.",
    resetLinkExpired: "That reset link has expired. Ask for a new one.",
    resetLinkInvalid: "That reset link is not valid. Ask for a new one.",
    attemptsLeft: (n) => (n === 1 ? "1 attempt left before the account is locked." : `${n} attempts left before the account is locked.`),
    errorLocked: "Too many failed attempts: this account is locked for now.",
    errorInactive: "This account was not used for a long time; ask an administrator to reactivate it.",
    errorSessionActive: "This account is signed in elsewhere; sign out there first.",
    errorBanned: "Too many security warnings from your address; try again later.",
    errorCaptcha: "The CAPTCHA was not solved.",
    errorPasswordRejected: "The new password was refused:",
    loginNoAccount: "No account yet?",
    loginSignupLink: "Create one",

    // account (rendered by server.js, checker by account.js)
    accountTitle: "Your account · Portcullis demo",
    accountHeading: "Your account",
    signedInAs: "Signed in as",
    rolesLabel: "Roles",
    noRoles: "none",
    sessionLabel: "Session",
    notSignedIn: "Not signed in (the Portcullis edge issues sessions in front of this demo).",
    signInLink: "Sign in",
    signOut: "Sign out",
    changeHeading: "Change password",
    changeLead: "The new password is checked in your browser as you type.",
    currentPasswordLabel: "Current password",
    newPasswordLabel: "New password",
    confirmLabel: "Confirm new password",
    changeSubmit: "Change password",
    passwordChanged: "Your password was changed.",
    changeWrongCurrent: "The current password is not correct.",
    changeMismatch: "The new passwords do not match.",
    changeMissing: "Fill in the current password and the new password twice.",
    changeSignedOut: "Sign in first to change your password.",
    changeFirstLogin: "Welcome! Choose your own password before you continue.",
    changeExpired: "Your password has expired. Choose a new one to continue.",
    changeTightened: "The password rules were tightened and your password no longer meets them. Choose a new one to continue.",
    changeAdminRequired: "An administrator asked you to change your password before you continue.",

    // POST /signup results (server.js)
    signupCreatedTitle: "Account created (demo)",
    signupCreatedBody: (user) => `The account <strong>${user}</strong> was created. This demo keeps accounts in memory only, until the server restarts.`,
    signupTakenTitle: "Username taken",
    signupTakenBody: (user) => `The username <strong>${user}</strong> is already taken. Choose another one, or sign in.`,
    signupMissingTitle: "Something is missing",
    signupMissingBody: () => "Fill in the username, the email and the password.",
    backToSignup: "Back to the signup form",
    toAccount: "Go to your account",
  },
  cs: {
    tagline: "Kontrola hesel podle pravidel webu: ukázka",
    navLabel: "Stránky ukázky",
    navSignup: "Registrace",
    navLogin: "Přihlášení",
    navAccount: "Účet",
    navAdmin: "Správa",
    switchLocale: "English",
    show: "Zobrazit",
    hide: "Skrýt",
    showAria: "Zobrazit heslo",
    hideAria: "Skrýt heslo",

    loginTitle: "Přihlášení · ukázka Portcullis",
    loginHeading: "Přihlášení",
    loginLead: "Vítejte zpět. Přihlaste se svým účtem v ukázce.",
    usernameLabel: "Uživatelské jméno",
    passwordLabel: "Heslo",
    loginSubmit: "Přihlásit se",
    loginFailed: "Nesprávné uživatelské jméno nebo heslo.",
    reasonSessionExpired: "Vaše relace vypršela, přihlaste se prosím znovu.",
    reasonSessionEnded: "Vaše relace byla ukončena (přihlášení jinde nebo správcem). Přihlaste se prosím znovu.",
    reasonLoginRequired: "Pro zobrazení stránky se přihlaste.",
    reasonPasswordReset: "Vaše heslo bylo změněno. Přihlaste se novým heslem.",
    loginForgot: "Zapomněli jste heslo?",
    resetHeading: "Obnova hesla",
    resetLead: "Zadejte uživatelské jméno a pošleme vám odkaz pro nastavení nového hesla.",
    resetSubmit: "Poslat odkaz",
    resetSetHeading: "Zvolte nové heslo",
    resetSetLead: "Pro účet",
    resetSetSubmit: "Nastavit heslo",
    resetSentTitle: "Zkontrolujte e-mail",
    resetSentBody: "Pokud účet existuje, odkaz pro obnovu hesla je na cestě. Platí jednou.",
    resetDemoLink: "(Tato ukázka e-maily neposílá; tady je odkaz:)",
    resetLinkUsed: "Tento odkaz pro obnovu už byl použit. Požádejte o nový.",
    resetLinkExpired: "Platnost odkazu pro obnovu vypršela. Požádejte o nový.",
    resetLinkInvalid: "Tento odkaz pro obnovu není platný. Požádejte o nový.",
    attemptsLeft: (n) => `Zbývající pokusy před zamčením účtu: ${n}.`,
    errorLocked: "Příliš mnoho neúspěšných pokusů: účet je nyní zamčený.",
    errorInactive: "Účet nebyl dlouho používán; požádejte správce o jeho obnovení.",
    errorSessionActive: "Účet je přihlášen jinde; nejdříve se tam odhlaste.",
    errorBanned: "Z vaší adresy přišlo příliš mnoho bezpečnostních varování; zkuste to později.",
    errorCaptcha: "CAPTCHA nebyla vyřešena.",
    errorPasswordRejected: "Nové heslo bylo odmítnuto:",
    loginNoAccount: "Ještě nemáte účet?",
    loginSignupLink: "Zaregistrujte se",

    accountTitle: "Váš účet · ukázka Portcullis",
    accountHeading: "Váš účet",
    signedInAs: "Přihlášen(a) jako",
    rolesLabel: "Role",
    noRoles: "žádné",
    sessionLabel: "Relace",
    notSignedIn: "Nejste přihlášen(a) (relace vydává brána Portcullis před touto ukázkou).",
    signInLink: "Přihlásit se",
    signOut: "Odhlásit se",
    changeHeading: "Změna hesla",
    changeLead: "Nové heslo se kontroluje přímo ve vašem prohlížeči už při psaní.",
    currentPasswordLabel: "Současné heslo",
    newPasswordLabel: "Nové heslo",
    confirmLabel: "Nové heslo znovu",
    changeSubmit: "Změnit heslo",
    passwordChanged: "Vaše heslo bylo změněno.",
    changeWrongCurrent: "Současné heslo není správné.",
    changeMismatch: "Nová hesla se neshodují.",
    changeMissing: "Vyplňte současné heslo a dvakrát nové heslo.",
    changeSignedOut: "Pro změnu hesla se nejdříve přihlaste.",
    changeFirstLogin: "Vítejte! Než budete pokračovat, zvolte si vlastní heslo.",
    changeExpired: "Platnost vašeho hesla vypršela. Pro pokračování zvolte nové.",
    changeTightened: "Pravidla pro hesla byla zpřísněna a vaše heslo je už nesplňuje. Pro pokračování zvolte nové.",
    changeAdminRequired: "Správce vás požádal o změnu hesla, než budete pokračovat.",

    signupCreatedTitle: "Účet vytvořen (ukázka)",
    signupCreatedBody: (user) => `Účet <strong>${user}</strong> byl vytvořen. Ukázka uchovává účty jen v paměti, do restartu serveru.`,
    signupTakenTitle: "Jméno je obsazené",
    signupTakenBody: (user) => `Uživatelské jméno <strong>${user}</strong> už někdo používá. Zvolte jiné, nebo se přihlaste.`,
    signupMissingTitle: "Něco chybí",
    signupMissingBody: () => "Vyplňte uživatelské jméno, e-mail a heslo.",
    backToSignup: "Zpět na registraci",
    toAccount: "Přejít na váš účet",
  },
};

/** The password checklist's text (checker-ui.js); pages merge it into their dictionary. */
export const CHECKER_TEXT = {
  en: {
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
      deferred: "checked when you submit",
    },
    generate: "Generate a strong password",
    generatedLabel: "Generated password (save it in your password manager):",
    match: "Passwords match",
    mismatch: "Passwords do not match",
    checkError: (m) => `The password could not be checked: ${m}`,
  },
  cs: {
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
      deferred: "ověří se při odeslání",
    },
    generate: "Vygenerovat silné heslo",
    generatedLabel: "Vygenerované heslo (uložte si ho do správce hesel):",
    match: "Hesla se shodují",
    mismatch: "Hesla se neshodují",
    checkError: (m) => `Heslo se nepodařilo zkontrolovat: ${m}`,
  },
};

/** "en" or "cs" from a string such as a `locale` query or form field ("en" otherwise). */
export function normalizeLocale(value) {
  const locale = String(value ?? "").toLowerCase();
  return LOCALES.includes(locale) ? locale : "en";
}

/** A path with `?locale=cs` added when the locale is not the default. */
export function withLocale(href, locale) {
  if (locale === "en") return href;
  return `${href}${href.includes("?") ? "&" : "?"}locale=${locale}`;
}

// ---- browser helpers --------------------------------------------------------

/** The page's locale: `?locale=`, else what the server rendered (body[data-locale]). */
export function pageLocale() {
  const query = new URLSearchParams(location.search).get("locale");
  return normalizeLocale(query ?? document.body.dataset.locale);
}

/**
 * Sets <html lang>, body[data-locale] and the text of every [data-i18n]
 * element (the <title> too) from `dict`, then the header's links.
 */
export function applyText(dict, locale) {
  document.documentElement.lang = locale;
  document.body.dataset.locale = locale;
  for (const node of document.querySelectorAll("[data-i18n]")) {
    const value = dict[node.dataset.i18n];
    if (typeof value === "string") node.textContent = value;
  }
  localizeNav(locale);
}

/**
 * Keeps the locale in the links between pages (a[data-page]) and points the
 * language link (a[data-switch-locale], on pages without a language picker)
 * at the other locale.
 */
export function localizeNav(locale) {
  for (const nav of document.querySelectorAll(".site-nav")) nav.setAttribute("aria-label", TEXT[locale].navLabel);
  for (const link of document.querySelectorAll("a[data-page]")) {
    link.href = withLocale(link.getAttribute("href").split("?")[0], locale);
  }
  const other = locale === "cs" ? "en" : "cs";
  for (const link of document.querySelectorAll("a[data-switch-locale]")) {
    const url = new URL(location.href);
    url.searchParams.set("locale", other);
    link.href = url.pathname + url.search;
    link.hreflang = other;
    link.lang = other;
  }
}
