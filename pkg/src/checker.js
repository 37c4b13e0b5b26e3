// PasswordChecker for every entry point: the "rules" wasm answers at once,
// the "full" one (zxcvbn) loads on `ready`. Every rule lives in Rust. Texts
// are data: the English requirements here, whole catalogs (with zxcvbn's
// advice) imported per language on `ready`. Each method is documented in
// index.d.ts, not here: comments cost this first module bytes.
import enRules from "../dist/locales/en.rules.js";

const CATALOGS = {
  en: () => import("../dist/locales/en.js"),
  cs: () => import("../dist/locales/cs.js"),
  de: () => import("../dist/locales/de.js"),
  es: () => import("../dist/locales/es.js"),
  fr: () => import("../dist/locales/fr.js"),
  pl: () => import("../dist/locales/pl.js"),
  sk: () => import("../dist/locales/sk.js"),
};
const catalogs = new Map();
const catalogLoads = new Map();

/** The whole catalog of a resolved locale; a failed import may be retried. */
function loadCatalog(tag) {
  if (!catalogLoads.has(tag)) {
    const load = CATALOGS[tag]().then((m) => (catalogs.set(tag, m.default), m.default));
    load.catch(() => catalogLoads.delete(tag));
    catalogLoads.set(tag, load);
  }
  return catalogLoads.get(tag);
}

function requireString(value, what) {
  if (typeof value !== "string") {
    throw new TypeError(`${what} must be a string, got ${value === null ? "null" : typeof value}`);
  }
  if (typeof value.isWellFormed === "function" ? !value.isWellFormed() : /[\uD800-\uDFFF]/u.test(value)) {
    throw new Error(`${what} contains an unpaired surrogate (not valid Unicode text)`);
  }
  return value;
}

// Core resolves the locale along BCP 47 (de-AT, de, en): never throws.
function readOptions(opts, rules) {
  if (opts === undefined || opts === null) return { locale: "en", signal: undefined };
  if (typeof opts !== "object") throw new TypeError("options must be an object such as { locale: \"cs\" }");
  const locale = opts.locale ?? "en";
  if (typeof locale !== "string") throw new TypeError(`locale must be a string such as "cs-CZ", got ${typeof locale}`);
  const signal = opts.signal ?? undefined;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError("signal must be an AbortSignal");
  return { locale: rules.resolveLocale(locale), signal };
}

function readUser(user) {
  if (user === undefined || user === null) return ["", "", "", false];
  if (typeof user !== "object") throw new TypeError("user must be an object such as { username, email, name }");
  const field = (key) => (user[key] === undefined || user[key] === null ? "" : requireString(user[key], `user.${key}`));
  if (user.isAdmin !== undefined && typeof user.isAdmin !== "boolean") {
    throw new TypeError("user.isAdmin must be a boolean");
  }
  return [field("username"), field("email"), field("name"), user.isAdmin === true];
}

/** Runs `fn`, turning a wasm JsError into a plain Error with the same message. */
function call(fn) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error) throw e;
    throw new Error(String(e));
  }
}

/**
 * Builds the PasswordChecker class for one environment.
 * @param {{ rules: any, loadFull: () => Promise<any> }} env
 */
export function makePasswordChecker(env) {
  let fullModule = null;
  let fullLoading = null;
  function loadFull() {
    if (!fullLoading) {
      // With English whole, so no checker made later lacks zxcvbn's advice.
      fullLoading = Promise.all([env.loadFull(), loadCatalog("en")]).then(([mod, en]) => {
        // zxcvbn builds its dictionaries on the first call: not on a keystroke.
        mod.Checker.fromPreset("nist-800-63b", en).check("warm-up", "", "", "", false);
        fullModule = mod;
        return mod;
      });
      // A failed load may be retried by the next `ready`.
      fullLoading.catch(() => { fullLoading = null; });
    }
    return fullLoading;
  }

  // Until its catalog arrives (on `ready`), a checker speaks English.
  class PasswordChecker {
    #rules;
    #full = null;
    #locale;
    #catalog;
    #ready = null;

    constructor(make, locale) {
      this.#locale = locale;
      this.#catalog = catalogs.get(locale) ?? catalogs.get("en") ?? enRules;
      this.#rules = call(() => make(this.#catalog));
      if (fullModule) this.#attach(fullModule);
    }

    #attach(mod) {
      if (!this.#full) this.#full = call(() => mod.Checker.fromPolicy(this.policy(), this.#catalog));
    }

    #speak(catalog) {
      if (catalog === this.#catalog) return;
      this.#catalog = catalog;
      this.#rules = call(() => env.rules.Checker.fromPolicy(this.policy(), catalog));
      this.#full = null;
    }

    static async loadLocale(tag) {
      const { locale } = readOptions({ locale: tag }, env.rules);
      await loadCatalog(locale);
      return locale;
    }

    static presets() {
      return env.rules.presets();
    }

    static fromPreset(name, opts) {
      requireString(name, "preset name");
      const { locale } = readOptions(opts, env.rules);
      return new PasswordChecker((c) => env.rules.Checker.fromPreset(name, c), locale);
    }

    static fromPolicy(policy, opts) {
      const { locale } = readOptions(opts, env.rules);
      let doc = policy;
      if (typeof policy === "string") {
        try {
          doc = JSON.parse(policy);
        } catch (e) {
          throw new Error(`invalid policy JSON: ${e.message}`);
        }
      } else if (policy === null || typeof policy !== "object" || Array.isArray(policy)) {
        throw new TypeError("policy must be a policy object or its JSON text");
      } else {
        // As a served document would be: no functions, undefined or prototypes.
        doc = JSON.parse(JSON.stringify(policy));
      }
      return new PasswordChecker((c) => env.rules.Checker.fromPolicy(doc, c), locale);
    }

    static async fromUrl(url, opts) {
      const { signal, locale } = readOptions(opts, env.rules);
      const response = await fetch(url, { headers: { accept: "application/json" }, signal });
      if (!response.ok) throw new Error(`policy request to ${url} failed with HTTP ${response.status}`);
      const text = await response.text();
      await loadCatalog(locale);
      return PasswordChecker.fromPolicy(text, opts);
    }

    get ready() {
      if (!this.#ready) {
        this.#ready = Promise.all([loadCatalog(this.#locale), loadFull()]).then(([catalog, mod]) => {
          this.#speak(catalog);
          this.#attach(mod);
          return this;
        });
        this.#ready.catch(() => { this.#ready = null; });
      }
      return this.#ready;
    }

    get estimatorLoaded() {
      return this.#full !== null;
    }

    get locale() {
      return this.#locale;
    }

    check(password, user) {
      requireString(password, "password");
      const [username, email, name, isAdmin] = readUser(user);
      const checker = this.#full ?? this.#rules;
      return JSON.parse(checker.check(password, username, email, name, isAdmin));
    }

    requirements() {
      return JSON.parse(this.#rules.requirements());
    }

    generate() {
      return call(() => (this.#full ?? this.#rules).generate());
    }

    policy() {
      return JSON.parse(this.#rules.policyJson());
    }

    get messagesLocale() {
      return this.#catalog.locale;
    }

    static async checkBreached(policy, password, options) {
      const { checkBreached } = await import("./breach.js");
      return checkBreached({ loadFull, call, requireString }, policy, password, options);
    }

    static async encryptField(policy, field, value) {
      const { encryptField } = await import("./vault.js");
      return encryptField({ loadFull, call, requireString }, policy, field, value);
    }
  }

  return PasswordChecker;
}
