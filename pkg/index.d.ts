// Public types of the `portcullis` package. Everything core hands to
// JavaScript (a check's result, the requirements, the policy documents,
// the preset and locale names) is typed in types.d.ts, which is generated
// from core's Rust types (scripts/build-types.mjs), so it cannot drift
// from what the checker returns. This file types the JavaScript API.
import type {
  CheckResult,
  PasswordPolicy,
  Policy,
  PresetName,
  Locale,
  PublicPolicy,
  Requirement,
  RuleId,
} from "./types.js";

export type * from "./types.js";

/**
 * A policy document: the edge's public policy (`GET /__portcullis/policy`)
 * or a whole policy, where every field is optional (defaults fill in).
 * Unknown fields are errors, in TypeScript and at run time alike.
 */
export type PolicyDocument = Policy | PublicPolicy;

export interface CheckerOptions {
  /**
   * Message language, any BCP 47 tag (`navigator.language` works): it falls
   * back as lookup does (`cs-CZ` → `cs`, `de-AT` → `de`, `it` → `en`) and
   * never throws. Defaults to "en". Messages other than English load on
   * demand: until `ready` resolves (or after `PasswordChecker.loadLocale`),
   * a checker speaks English.
   */
  locale?: string;
  /** `fromUrl` only: aborts the policy request. */
  signal?: AbortSignal;
}

/** The person choosing the password (for the "does not contain your name" rule). */
export interface UserInfo {
  username?: string;
  email?: string;
  name?: string;
  /** The site marks this user as an administrator (policy may let admins skip strength rules). */
  isAdmin?: boolean;
}

export declare class PasswordChecker {
  private constructor();
  /** Names of the built-in presets. */
  static presets(): PresetName[];
  /**
   * Loads the messages of a locale (any BCP 47 tag), so that checkers made
   * afterwards speak it at once; resolves with the locale it fell back to.
   */
  static loadLocale(locale: string): Promise<Locale>;
  /** A checker for a built-in preset. Throws on an unknown name. */
  static fromPreset(name: PresetName, options?: CheckerOptions): PasswordChecker;
  /** A checker for a policy (object or JSON text). Throws an Error naming the invalid field. */
  static fromPolicy(policy: PolicyDocument | string, options?: CheckerOptions): PasswordChecker;
  /** Fetches the policy JSON from a URL, such as the edge's `/__portcullis/policy`, and the locale's messages. */
  static fromUrl(url: string | URL, options?: CheckerOptions): Promise<PasswordChecker>;
  /** Starts loading the zxcvbn estimator and the locale's messages; resolves with this checker once both are loaded. */
  readonly ready: Promise<PasswordChecker>;
  /** Whether the estimator is loaded. */
  readonly estimatorLoaded: boolean;
  /** The message language, after fallback. */
  readonly locale: Locale;
  /** The language the messages are in now: `locale` once its catalog has loaded, `en` before. */
  readonly messagesLocale: Locale;
  /** Checks a password against every rule. Before `ready`, estimator rules are "pending". */
  check(password: string, user?: UserInfo): CheckResult;
  /** The active requirements, for a checklist before anything is typed. */
  requirements(): Requirement[];
  /** A random password that satisfies the policy. */
  generate(): string;
  /** The same as the package's `checkBreached`. */
  static checkBreached(policy: PolicyDocument | string, password: string, options?: { signal?: AbortSignal }): Promise<BreachCheck>;
  /** The same as the package's `encryptField`. */
  static encryptField(policy: PublicPolicy | string, fieldName: string, value: string): Promise<string>;
  /** The policy document this checker enforces: its version and password rules. */
  policy(): { version: number; passwords: PasswordPolicy };
}

/**
 * Seals `value` for the form field `fieldName` to the vault's public key,
 * taken from the edge's public policy (`GET /__portcullis/policy`, which
 * carries `vault` once an administrator has created the passphrase): the
 * envelope `pcv1.<keyId>.<base64url>` to send instead of the value. The
 * edge passes it as it is and the origin stores it; only the vault's
 * passphrase opens it, so neither sees the value. Loads the on-demand
 * module. Rejects when the policy has no vault key.
 */
export declare function encryptField(policy: PublicPolicy | string, fieldName: string, value: string): Promise<string>;

/** What the live breached-password check found. */
export interface BreachCheck {
  /** false when the policy's `passwords.breached` is off (nothing was sent). */
  checked: boolean;
  /** Seen at least `minCount` times: the edge will refuse it (rule `breached`). */
  breached: boolean;
  /** How often it was seen, when breached; 0 otherwise. */
  count: number;
}

/**
 * The breached-password check, live, as the edge will make it on submit:
 * only the first 5 hex digits of the password's SHA-1 are sent to the
 * policy's `passwords.breached.rangeUrl` (with `Add-Padding: true`); the
 * answer is judged by the same core code (the on-demand module). Advisory:
 * the edge's check is the one that counts. Rejects when the range API does
 * not answer a range in `timeoutSeconds`.
 */
export declare function checkBreached(policy: PolicyDocument | string, password: string, options?: { signal?: AbortSignal }): Promise<BreachCheck>;

/** A built-in CAPTCHA challenge, as `GET /__portcullis/challenge?route=…` answers. */
export interface Challenge {
  /** `pc1.<difficulty>.<expires>.<nonce>.<mac>`, signed by the edge for one route and client. */
  challenge: string;
  /** Always "SHA-256". */
  algorithm: "SHA-256";
  /** Leading zero bits the solution's SHA-256 needs: 2^difficulty hashes expected. */
  difficulty: number;
  /** Unix seconds after which the edge refuses it. */
  expires: number;
  /** The form field to send the solution in: "portcullis-captcha". */
  field: string;
}

/** Progress of a solve: hashes tried so far against those expected. */
export interface SolveProgress {
  tried: number;
  expected: number;
  done: boolean;
}

export interface SolveOptions {
  /** Called after every slice of 50,000 hashes, and when solved. */
  onProgress?: (progress: SolveProgress) => void;
  /** Stops the search (and the request for the challenge). */
  signal?: AbortSignal;
  /** The edge's origin; defaults to the page's. */
  base?: string | URL;
}

/** A challenge for the form that posts to `route` (such as "/signup"). */
export declare function fetchChallenge(route: string, options?: SolveOptions): Promise<Challenge>;
/**
 * The value to send in `portcullis-captcha` for `challenge`: found in a Web
 * Worker in browsers (the on-demand module), in slices elsewhere.
 */
export declare function solveChallenge(challenge: Challenge, options?: SolveOptions): Promise<string>;
/** `fetchChallenge` then `solveChallenge`. */
export declare function solveCaptcha(route: string, options?: SolveOptions): Promise<string>;
/**
 * Solves a challenge for the path `form` posts to and puts the solution in
 * its hidden `portcullis-captcha` input (added when missing).
 */
export declare function fillCaptcha(form: HTMLFormElement, options?: SolveOptions): Promise<string>;

/** Every error body the Portcullis edge answers with. */
export interface EdgeErrorBody {
  /** The stable code, such as `password_rejected` or `rate_limited`. */
  error: string;
  /** A human-readable message (English). */
  message: string;
}

/** 422 from signup, change password or reset: the rules the password failed (`history`: used recently). */
export interface PasswordRejectedError extends EdgeErrorBody {
  error: "password_rejected";
  rules: (RuleId | "history")[];
}

/** 423 on login: the account is locked (`retryAfter` null: until an admin unlocks it). */
export interface AccountLockedError extends EdgeErrorBody {
  error: "account_locked";
  retryAfter: number | null;
  attemptsLeft: 0;
}

/** 429: a rate limit rule refused the request. */
export interface RateLimitedError extends EdgeErrorBody {
  error: "rate_limited";
  rule: string;
  retryAfter: number;
}
