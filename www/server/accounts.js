// The demo origin's accounts: in memory (one store per server), passwords
// hashed with scrypt, the seeded demo account, and the caller the edge names.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

// scrypt with N = 2^14, r = 8, p = 1 (16 MiB; Node's defaults), below
// OWASP's N = 2^17 so the demo and its tests stay quick. Each hash records
// its parameters, so raising them later keeps old hashes verifiable.
const SCRYPT = { N: 2 ** 14, r: 8, p: 1, keylen: 32 };

function scryptKey(password, salt, { N, r, p, keylen }) {
  return new Promise((resolve, reject) => {
    // NFKC first (as NIST SP 800-63B suggests): the same password typed with
    // composed or decomposed accents hashes the same.
    scrypt(password.normalize("NFKC"), salt, keylen, { N, r, p, maxmem: 256 * N * r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** "scrypt$N$r$p$salt$key" (base64url), with a fresh random salt. */
export async function hashPassword(password) {
  const salt = randomBytes(16);
  const key = await scryptKey(password, salt, SCRYPT);
  return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** Whether `password` matches `stored`, compared in constant time. */
export async function verifyPassword(password, stored) {
  const [scheme, N, r, p, salt, key] = String(stored).split("$");
  if (scheme !== "scrypt" || !key) return false;
  const expected = Buffer.from(key, "base64url");
  const actual = await scryptKey(password, Buffer.from(salt, "base64url"), {
    N: Number(N),
    r: Number(r),
    p: Number(p),
    keylen: expected.length,
  });
  return timingSafeEqual(actual, expected);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

// The seeded account, there from the start for trying the admin role:
//   username "demo", password "correct horse battery staple orbit", roles "admin".
// Created 30 days before the server started, so it is past any probation
// period (the presets use 7 days).
const DEMO_USER = {
  username: "demo",
  email: "demo@example.com",
  password: "correct horse battery staple orbit",
  roles: ["admin"],
  ageSeconds: 30 * 24 * 60 * 60,
};

/** In-memory accounts: username → { id: "u-<n>", username, email, passwordHash, created, roles }. */
class UserStore {
  #byName = new Map();
  #byId = new Map();
  #next = 1;

  /** Usernames compare after NFKC and case folding: "Alice" is "alice". */
  static key(username) {
    return username.normalize("NFKC").toLowerCase();
  }

  has(username) {
    return this.#byName.has(UserStore.key(username));
  }

  byName(username) {
    return this.#byName.get(UserStore.key(username));
  }

  byId(id) {
    return this.#byId.get(id);
  }

  /** Adds an account; null if the username is taken. */
  add({ username, email, passwordHash, created = nowSeconds(), roles = [] }) {
    const key = UserStore.key(username);
    if (this.#byName.has(key)) return null;
    const user = { id: `u-${this.#next++}`, username, email, passwordHash, created, roles };
    this.#byName.set(key, user);
    this.#byId.set(user.id, user);
    return user;
  }
}

/** One server's state: its accounts (the demo account seeded) and the failed-login page. */
export async function createApp({ edgeUrl = null, applicationKey = null } = {}) {
  const users = new UserStore();
  const [demoHash, dummyHash] = await Promise.all([
    hashPassword(DEMO_USER.password),
    // Unknown usernames are checked against this hash of a random password,
    // so a failed login takes as long whether or not the account exists.
    hashPassword(randomBytes(18).toString("base64url")),
  ]);
  users.add({
    username: DEMO_USER.username,
    email: DEMO_USER.email,
    passwordHash: demoHash,
    created: nowSeconds() - DEMO_USER.ageSeconds,
    roles: DEMO_USER.roles,
  });
  // Where to ask the edge's admin API for reset links (self-service reset).
  return { users, dummyHash, loginTemplate: null, edgeUrl, applicationKey };
}

/** The verified caller the edge names in request headers, or null. */
export function callerOf(req, app) {
  const id = req.headers["portcullis-user"];
  if (!id) return null;
  const roles = String(req.headers["portcullis-roles"] ?? "")
    .split(",")
    .map((role) => role.trim())
    .filter(Boolean);
  return { id, roles, session: req.headers["portcullis-session"] ?? "", user: app.users.byId(id) ?? null };
}
