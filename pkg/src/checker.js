// PasswordChecker for every entry point: the "rules" wasm answers at once,
// the "full" one (zxcvbn) loads on `ready`. Every rule lives in Rust.

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
      fullLoading = env.loadFull().then((mod) => {
        // zxcvbn builds its dictionaries on the first call: not on a keystroke.
        mod.Checker.fromPreset("nist-800-63b", "en").check("warm-up", "", "", "", false);
        fullModule = mod;
        return mod;
      });
      // A failed load may be retried by the next `ready`.
      fullLoading.catch(() => { fullLoading = null; });
    }
    return fullLoading;
  }

  class PasswordChecker {
    #rules;
    #full = null;
    #locale;
    #ready = null;

    constructor(rulesChecker, locale) {
      this.#rules = rulesChecker;
      this.#locale = locale;
      if (fullModule) this.#attach(fullModule);
    }

    #attach(mod) {
      if (!this.#full) this.#full = call(() => mod.Checker.fromPolicy(JSON.parse(this.#rules.policyJson()), this.#locale));
    }

    /** Names of the built-in presets. */
    static presets() {
      return env.rules.presets();
    }

    /** A checker for a named preset. */
    static fromPreset(name, opts) {
      requireString(name, "preset name");
      const { locale } = readOptions(opts, env.rules);
      return new PasswordChecker(call(() => env.rules.Checker.fromPreset(name, locale)), locale);
    }

    /** A checker for a policy: the edge's public policy or a full policy, as an object or JSON text. */
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
      return new PasswordChecker(call(() => env.rules.Checker.fromPolicy(doc, locale)), locale);
    }

    /** Fetches the policy JSON from `url` (such as the edge's /__portcullis/policy); `opts.signal` aborts it. */
    static async fromUrl(url, opts) {
      const { signal } = readOptions(opts, env.rules);
      const response = await fetch(url, { headers: { accept: "application/json" }, signal });
      if (!response.ok) throw new Error(`policy request to ${url} failed with HTTP ${response.status}`);
      return PasswordChecker.fromPolicy(await response.text(), opts);
    }

    /** Resolves with this checker once the zxcvbn estimator has loaded; starts loading it. */
    get ready() {
      if (!this.#ready) {
        this.#ready = loadFull().then((mod) => {
          this.#attach(mod);
          return this;
        });
        this.#ready.catch(() => { this.#ready = null; });
      }
      return this.#ready;
    }

    /** Whether the estimator is loaded (score and feedback available). */
    get estimatorLoaded() {
      return this.#full !== null;
    }

    /** The locale of the messages, after fallback (`de-AT` gives `en`, `cs-CZ` gives `cs`). */
    get locale() {
      return this.#locale;
    }

    /** Checks a password; before `ready`, estimator rules are "pending". */
    check(password, user) {
      requireString(password, "password");
      const [username, email, name, isAdmin] = readUser(user);
      const checker = this.#full ?? this.#rules;
      return JSON.parse(checker.check(password, username, email, name, isAdmin));
    }

    /** The active requirements, for a checklist before anything is typed. */
    requirements() {
      return JSON.parse(this.#rules.requirements());
    }

    /** A random password that satisfies the policy. */
    generate() {
      return call(() => (this.#full ?? this.#rules).generate());
    }

    /** The public policy document this checker enforces. */
    policy() {
      return JSON.parse(this.#rules.policyJson());
    }
  }

  return PasswordChecker;
}
