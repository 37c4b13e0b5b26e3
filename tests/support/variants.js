// The request variants of the differential suite: every spelling of a
// checked field (placement, duplicates, case, PHP's folding, encodings,
// charsets, media types, JSON and multipart details), every spelling of a
// checked route and of a protected path, and cross-site requests. Each
// variant says how to build its request for an origin's routes; the suite
// (tests/differential.test.js) decides what the edge and the origin read.
import { deflateSync, gzipSync } from "node:zlib";

/** The checked routes of each origin (PHP routes by file). */
export const ROUTES = {
  express: { login: "/login", signup: "/signup", change: "/account/password", reset: "/reset", vault: "/billing" },
  flask: { login: "/login", signup: "/signup", change: "/account/password", reset: "/reset", vault: "/billing" },
  php: { login: "/login.php", signup: "/signup.php", change: "/account/password.php", reset: "/reset.php", vault: "/billing.php" },
};

/** The CAPTCHA token's field (Turnstile). */
export const TOKEN_FIELD = "cf-turnstile-response";

/**
 * The field each target checks, its route, and the values a variant puts
 * in it: `real` where a plain form carries it, `decoy` in the other
 * spelling. Passwords: the real one is strong, the decoy long but weak, so
 * the edge's 422 (or not) tells which one it checked.
 */
export const TARGETS = {
  login: { route: "login", field: "username", real: (id) => `r${id}x`, decoy: (id) => `d${id}x` },
  signup: { route: "signup", field: "password", real: (id) => `Kestrel-violet-${id}-Harbor`, decoy: (id) => `${id}aaaaaaaaaaaaaaaa` },
  token: { route: "signup", field: TOKEN_FIELD, real: (id) => `t${id}-real`, decoy: (id) => `t${id}-decoy` },
  change: { route: "change", field: "new_password", real: (id) => `Kestrel-violet-${id}-Harbor`, decoy: (id) => `${id}aaaaaaaaaaaaaaaa` },
  reset: { route: "reset", field: "new_password", real: (id) => `Kestrel-violet-${id}-Harbor`, decoy: (id) => `${id}aaaaaaaaaaaaaaaa` },
  // The vault's sealed field: whatever the origin reads must be an envelope.
  vault: { route: "vault", field: "card_number", real: (id) => `4111${id}0000real`, decoy: (id) => `4111${id}0000decoy` },
};

/** The other fields each route's form carries, plainly. */
function baseFields(target, id, ctx) {
  const t = TARGETS[target];
  const fields = {
    login: [["username", t.real(id)], ["password", "wrong-password-1"]],
    signup: [["username", `u${id}`], ["email", `u${id}@example.com`], ["password", TARGETS.signup.real(id)], [TOKEN_FIELD, TARGETS.token.real(id)]],
    change: [["new_password", t.real(id)]],
    reset: [["token", ctx.resetToken ?? ""], ["new_password", t.real(id)]],
    vault: [["cardholder", `c${id}`]],
  }[t.route];
  return fields.filter(([name]) => name !== t.field);
}

const BOUNDARY = "PortcullisDiff7MA4YWxkTrZu0gW";

/** Form encoding of a name or value: `+` for spaces, `%XX` for the rest. */
function enc(text) {
  return Buffer.from(text, "utf8")
    .toString("latin1")
    .replace(/[^A-Za-z0-9._~*\-[\]]/g, (c) => (c === " " ? "+" : `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`));
}

function urlencoded(entries) {
  return entries.map((e) => (typeof e === "string" ? e : `${enc(e[0])}=${enc(e[1])}`)).join("&");
}

function json(entries) {
  const member = (e) => (typeof e === "string" ? e : `${JSON.stringify(e[0])}:${typeof e[1] === "string" ? JSON.stringify(e[1]) : e[1].json}`);
  return `{${entries.map(member).join(",")}}`;
}

function part(name, value, headers = "") {
  return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${headers}\r\n\r\n${value}\r\n`;
}

function multipart(entries) {
  return `${entries.map((e) => (typeof e === "string" ? e : part(e[0], e[1]))).join("")}--${BOUNDARY}--\r\n`;
}

const FORMATS = {
  form: { type: "application/x-www-form-urlencoded", body: urlencoded },
  json: { type: "application/json", body: json },
  multipart: { type: `multipart/form-data; boundary=${BOUNDARY}`, body: multipart },
};

/** Spellings PHP (and qs) may read as `field`. */
function folds(field) {
  const spellings = [` ${field}`, `${field}[]`, `${field}[0]`, `${field}\0x`, `${field}[`, `${field}[a]`];
  for (const sep of ["_", "-"]) {
    if (field.includes(sep)) spellings.push(field.replace(sep, "."), field.replace(sep, " "), field.replace(sep, "["));
  }
  return spellings;
}

const upper = (s) => s.toUpperCase();
const capital = (s) => s[0].toUpperCase() + s.slice(1);

/**
 * The field kinds: `make(F, R, D)` gives the target field's entries in the
 * body (`body`, the format's entries or raw strings), in the query
 * (`query`) and any change to the request (`type`, `encoding`, `raw`
 * bodies). `plain` kinds must be agreed, never refused.
 */
function fieldKinds() {
  const kinds = [];
  const add = (name, formats, make, plain = false, reads = null) => {
    for (const format of formats) kinds.push({ kind: formats.length > 1 ? `${name} (${format})` : name, format, make, plain, reads });
  };
  const all = ["form", "json", "multipart"];
  add("plain", all, (F, R) => ({ body: [[F, R]] }), true);
  add("query copy differs", all, (F, R, D) => ({ query: [[F, D]], body: [[F, R]] }));
  add("query copy only", ["form"], (F, R) => ({ query: [[F, R]], body: [] }));
  add("query copy the same", ["form", "json"], (F, R) => ({ query: [[F, R]], body: [[F, R]] }));
  add("query copy under a fold", ["form"], (F, R, D) => ({ query: [[`${F}[]`, D]], body: [[F, R]] }));
  add("duplicate, decoy last", all, (F, R, D) => ({ body: [[F, R], [F, D]] }));
  add("duplicate, decoy first", ["form", "multipart"], (F, R, D) => ({ body: [[F, D], [F, R]] }));
  add("case copy", all, (F, R, D) => ({ body: [[F, R], [upper(F), D]] }));
  add("case spelling only", ["form", "json"], (F, R) => ({ body: [[capital(F), R]] }));
  folds("F").forEach((spelling, i) => {
    add(`fold copy ${JSON.stringify(spelling)}`, ["form", "multipart"], (F, R, D) => ({ body: [[F, R], [folds(F)[i], D]] }));
  });
  add("fold copies of a separator (. space [)", ["form"], (F, R, D) => {
    const dotted = folds(F).slice(6);
    return { body: [[F, R], ...dotted.map((s) => [s, D])] };
  });
  add("semicolon after the value", ["form"], (F, R) => ({ body: [`${enc(F)}=${enc(R)};x=1`] }));
  add("semicolon before a copy", ["form"], (F, R, D) => ({ body: [`x=1;${enc(F)}=${enc(D)}`, [F, R]] }));
  add("semicolon in the query", ["form"], (F, R, D) => ({ query: [`x=1;${enc(F)}=${enc(D)}`], body: [[F, R]] }));
  add("percent-encoded name", ["form"], (F, R) => ({ body: [`%${F.charCodeAt(0).toString(16)}${enc(F.slice(1))}=${enc(R)}`] }), true);
  add("percent-encoded name copy", ["form"], (F, R, D) => ({ body: [[F, R], `%${F.charCodeAt(0).toString(16)}${enc(F.slice(1))}=${enc(D)}`] }));
  add("double-encoded name copy", ["form"], (F, R, D) => ({ body: [[F, R], `%25${F.charCodeAt(0).toString(16)}${enc(F.slice(1))}=${enc(D)}`] }));
  // The real value is then `R z` (`reads`).
  add("plus as space in the value", ["form"], (F, R) => ({ body: [`${enc(F)}=${enc(R)}+z`] }), true, (R) => `${R} z`);
  add("bad escape in the value", ["form"], (F, R) => ({ body: [`${enc(F)}=${enc(R)}%zz`] }));
  add("bad UTF-8 in the value", ["form"], (F, R) => ({ body: [`${enc(F)}=${enc(R)}%FF`] }));
  add("gzip body", ["form", "json"], (F, R) => ({ body: [[F, R]], encoding: "gzip" }));
  add("deflate body", ["form"], (F, R) => ({ body: [[F, R]], encoding: "deflate" }));
  add("Content-Encoding identity", ["form"], (F, R) => ({ body: [[F, R]], encoding: "identity" }), true);
  add("charset latin1", ["form", "json"], (F, R) => ({ body: [[F, R]], charset: "iso-8859-1" }));
  add("charset utf-16", ["form", "json"], (F, R) => ({ body: [[F, R]], charset: "utf-16" }));
  add("charset UTF-8", ["form", "json", "multipart"], (F, R) => ({ body: [[F, R]], charset: "UTF-8" }), true);
  add("uppercase media type", ["form", "json"], (F, R) => ({ body: [[F, R]], upperType: true }), true);
  add("text/plain", ["form", "json"], (F, R) => ({ body: [[F, R]], type: "text/plain" }));
  add("no Content-Type", ["form", "json"], (F, R) => ({ body: [[F, R]], type: null }));
  add("+json media type", ["json"], (F, R) => ({ body: [[F, R]], type: "application/vnd.api+json" }));
  add("two media types", ["form"], (F, R) => ({ body: [[F, R]], type: "application/x-www-form-urlencoded, application/json" }));
  add("JSON under the form type", ["json"], (F, R) => ({ body: [[F, R]], type: "application/x-www-form-urlencoded" }));
  add("JSON array value", ["json"], (F, R) => ({ body: [[F, { json: JSON.stringify([R]) }]] }));
  add("JSON number value", ["json"], (F) => ({ body: [[F, { json: "1234567" }]] }));
  add("JSON object value", ["json"], (F, R) => ({ body: [[F, { json: JSON.stringify({ $ne: R }) }]] }));
  add("JSON escaped key", ["json"], (F, R) => ({ body: [`"\\u00${F.charCodeAt(0).toString(16)}${F.slice(1)}":${JSON.stringify(R)}`] }), true);
  add("JSON escaped key copy", ["json"], (F, R, D) => ({ body: [[F, R], `"\\u00${F.charCodeAt(0).toString(16)}${F.slice(1)}":${JSON.stringify(D)}`] }));
  add("JSON NaN member", ["json"], (F, R) => ({ body: [[F, R], `"n":NaN`] }));
  add("JSON byte-order mark", ["json"], (F, R) => ({ body: [[F, R]], bom: true }));
  add("JSON trailing comma", ["json"], (F, R) => ({ body: [[F, R], ""] }));
  add("JSON top-level array", ["json"], (F, R) => ({ body: [[F, R]], wrapArray: true }));
  const mp = ["multipart"];
  add("multipart delimiter after a bare LF", mp, (F, R, D) => ({
    body: [part("note", `x\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="${F}"\r\n\r\n${D}`), [F, R]],
  }));
  add("multipart delimiter in the preamble", mp, (F, R, D) => ({ preamble: `x--${BOUNDARY}\r\nContent-Disposition: form-data; name="${F}"\r\n\r\n${D}\r\n`, body: [[F, R]] }));
  add("multipart file under the name", mp, (F, R) => ({ body: [part(F, R, '; filename="f.txt"')] }));
  add("multipart starred name", mp, (F, R, D) => ({ body: [[F, R], `--${BOUNDARY}\r\nContent-Disposition: form-data; name*=UTF-8''${F}\r\n\r\n${D}\r\n`] }));
  add("multipart escaped name", mp, (F, R, D) => ({ body: [[F, R], part(`${F.slice(0, 2)}\\${F.slice(2)}`, D)] }));
  add("multipart percent-encoded name", mp, (F, R, D) => ({ body: [[F, R], part(`%${F.charCodeAt(0).toString(16)}${F.slice(1)}`, D)] }));
  add("multipart folded header", mp, (F, R, D) => ({ body: [[F, R], `--${BOUNDARY}\r\nContent-Disposition: form-data;\r\n name="${F}"\r\n\r\n${D}\r\n`] }));
  add("multipart two dispositions", mp, (F, R, D) => ({
    body: [[F, R], `--${BOUNDARY}\r\nContent-Disposition: form-data; name="other"\r\nContent-Disposition: form-data; name="${F}"\r\n\r\n${D}\r\n`],
  }));
  add("multipart name twice in one part", mp, (F, R, D) => ({ body: [[F, R], `--${BOUNDARY}\r\nContent-Disposition: form-data; name="other"; name="${F}"\r\n\r\n${D}\r\n`] }));
  add("multipart unquoted name", mp, (F, R) => ({ body: [`--${BOUNDARY}\r\nContent-Disposition: form-data; name=${F}\r\n\r\n${R}\r\n`] }), true);
  add("multipart lowercase headers", mp, (F, R) => ({ body: [`--${BOUNDARY}\r\ncontent-disposition: form-data; name="${F}"\r\n\r\n${R}\r\n`] }), true);
  add("multipart part charset latin1", mp, (F, R) => ({ body: [part(F, R, "\r\nContent-Type: text/plain; charset=iso-8859-1")] }));
  add("multipart transfer encoding", mp, (F) => ({ body: [part(F, Buffer.from("x").toString("base64"), "\r\nContent-Transfer-Encoding: base64")] }));
  add("multipart LF line endings", mp, (F, R) => ({ body: [[F, R]], lineEndings: "\n" }));
  add("multipart second boundary parameter", mp, (F, R) => ({ body: [[F, R]], type: `multipart/form-data; boundary=${BOUNDARY}; boundary=other` }));
  // Found by review: quoting and boundary tricks that busboy, Werkzeug and
  // PHP read another way than a naive parameter splitter.
  const disposition = (params, value) => `--${BOUNDARY}\r\nContent-Disposition: form-data; ${params}\r\n\r\n${value}\r\n`;
  add("multipart escaped quotes hide a name", mp, (F, R, D) => ({
    body: [disposition(`x="a\\"; name=${F}; b=\\""; y="\\""; name="other"; z=""`, R), disposition(`x="\\""; name="${F}"; z=""`, D)],
  }));
  for (const [label, params] of [
    ["text after the quotes", (F) => `name="${F}"x`],
    ["unquoted with a space", (F) => `name=${F} x`],
    ["single quotes", (F) => `name='${F}'`],
    ["single-quoted quotes", (F) => `name="x"; c='"'; name=${F}; d='"'`],
    ["RFC 2231 continuation", (F) => `name*0="${F.slice(0, 2)}"; name*1="${F.slice(2)}"`],
  ]) {
    add(`multipart name ${label}, decoy first`, mp, (F, R, D) => ({ body: [disposition(params(F), D), [F, R]] }));
    add(`multipart name ${label}, decoy last`, mp, (F, R, D) => ({ body: [[F, R], disposition(params(F), D)] }));
  }
  add("multipart part charset*", mp, (F, R) => ({ body: [part(F, R, "\r\nContent-Type: text/plain; charset*=''iso-8859-1")] }));
  const other = "OtherB0undary";
  const otherForm = (F, D) => `--${other}\r\nContent-Disposition: form-data; name="${F}"\r\n\r\n${D}\r\n--${other}--\r\n`;
  add("multipart boundary inside a quoted parameter", mp, (F, R, D) => ({
    body: [[F, R]],
    suffix: (F2) => otherForm(F2, D),
    type: `multipart/form-data; x="; boundary=${other}"; boundary=${BOUNDARY}`,
  }));
  add("multipart xboundary parameter", mp, (F, R, D) => ({ body: [[F, R]], suffix: () => otherForm(F, D), type: `multipart/form-data; xboundary=${other}; boundary=${BOUNDARY}` }));
  add("multipart boundary with a comma", mp, (F, R, D) => ({
    body: [part("note", `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${F}"\r\n\r\n${D}\r\n--${BOUNDARY}--`), [F, R]],
    boundarySuffix: ",C",
  }));
  add("qs leading bracket, encoded", ["form"], (F, R, D) => ({ query: [[F, D]], body: [`%5B${enc(F)}%5D=${enc(R)}`] }));
  add("qs leading bracket copy", ["form"], (F, R, D) => ({ body: [[F, R], `[${enc(F)}]x=${enc(D)}`] }));
  add("NUL and a bad escape in a copy's name", ["form"], (F, R, D) => ({ body: [[F, R], `${enc(F)}%00%zz=${enc(D)}`] }));
  add("JSON that serde refuses, under the form type", ["json"], (F, R, D) => ({
    body: [[F, D], ["x", `&${F}=${R}&`], '"n":1e400'],
    type: "application/x-www-form-urlencoded",
  }));
  add("two charsets, UTF-7 last", ["json"], (F, R) => ({ body: [[F, R]], charset: "utf-8; charset=utf-7" }));
  add("GET with the form in the query", ["form"], (F, R) => ({ body: [[F, R]], method: "GET", inQuery: true }));
  add("OPTIONS with a JSON body", ["json"], (F, R) => ({ body: [[F, R]], method: "OPTIONS" }));
  return kinds;
}

/** Builds the request of a field variant. */
function fieldRequest(v, ctx) {
  const t = TARGETS[v.target];
  const { field: F } = t;
  const R = t.real(v.id);
  const D = t.decoy(v.id);
  const shape = v.make(F, R, D);
  const format = FORMATS[v.format];
  const base = baseFields(v.target, v.id, ctx);
  if (shape.inQuery) {
    const path = `${ctx.routes[t.route]}?${urlencoded([...base, ...shape.body])}`;
    return { method: shape.method, path, headers: {}, body: null };
  }
  let body = format.body([...base, ...shape.body]);
  if (shape.suffix) body += shape.suffix(F);
  if (shape.boundarySuffix) body = body.replaceAll(`--${BOUNDARY}`, `--${BOUNDARY}${shape.boundarySuffix}`).replaceAll(`--${BOUNDARY}${shape.boundarySuffix}\r\nContent-Disposition: form-data; name="${F}"\r\n\r\n${D}\r\n--${BOUNDARY}${shape.boundarySuffix}--`, `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${F}"\r\n\r\n${D}\r\n--${BOUNDARY}--`);
  if (shape.wrapArray) body = `[${body}]`;
  if (shape.preamble) body = shape.preamble + body;
  if (shape.lineEndings) body = body.replaceAll("\r\n", shape.lineEndings);
  let bytes = Buffer.from(body, "utf8");
  if (shape.bom) bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
  const headers = {};
  if (shape.encoding === "gzip") bytes = gzipSync(bytes);
  if (shape.encoding === "deflate") bytes = deflateSync(bytes);
  if (shape.encoding) headers["content-encoding"] = shape.encoding;
  let type = shape.type === undefined ? format.type : shape.type;
  if (type !== null && shape.charset) type = `${type}; charset=${shape.charset}`;
  if (type !== null && shape.boundarySuffix) type = type.replace(`boundary=${BOUNDARY}`, `boundary=${BOUNDARY}${shape.boundarySuffix}`);
  if (type !== null && shape.upperType) type = type.toUpperCase();
  if (type !== null) headers["content-type"] = type;
  const query = shape.query ? `?${urlencoded(shape.query)}` : "";
  return { method: shape.method ?? "POST", path: ctx.routes[t.route] + query, headers, body: bytes };
}

/** Spellings of the login route; `{route}` is the origin's login path. */
const ROUTE_SPELLINGS = [
  (p) => p,
  (p) => `${p}/`,
  (p) => p.toUpperCase(),
  (p) => capital(p.slice(1)).replace(/^/, "/"),
  (p) => `${p}.`,
  (p) => `${p.replace(/\.php$/, "")}.json`,
  (p) => `${p}.json`,
  (p) => `${p.replace(/\.php$/, "")}.php/x`,
  (p) => `${p}/x`,
  (p) => `${p};x=1`,
  (p) => `/${p}`,
  (p) => `/.${p}`,
  (p) => `/x/..${p}`,
  (p) => `/%${p.charCodeAt(1).toString(16)}${p.slice(2)}`,
  (p) => `${p}%2F`,
  (p) => `/x%2F..${p}`,
  (p) => `${p}%00`,
  (p) => `${p}%20`,
  (p) => `/index.php${p.replace(/\.php$/, "")}`,
  (p) => `${p.replace(/\.php$/, "")}.php.`,
  // Found by review: a router's `/login.:format` takes any characters.
  ...["~", "abcdefghij", "a-b", "a_b", "%20", "json%20", "%C3%A9", "!", "%00", "a.b"].map((ext) => (p) => `${p.replace(/\.php$/, "")}.${ext}`),
  (p) => `${capital(p.slice(1)).replace(/^/, "/").replace(/\.php$/, "")}.$`,
];

/** Protected-path spellings: GETs without a session. */
const PATH_SPELLINGS = [
  "/app/secret",
  "/APP/secret",
  "/App/secret",
  "/app",
  "/app/",
  "//app/secret",
  "/./app/secret",
  "/x/../app/secret",
  "/%61pp/secret",
  "/%2561pp/secret",
  "/app/..%2Fhello",
  "/app/%2e%2e/hello",
  "/app/%2e%2e%2Fhello",
  "/app/..%5Chello",
  "/app/%252e%252e/hello",
  "/x/..%2Fapp/secret",
  "/x%2F..%2Fapp/secret",
  "/hello/..;/app/secret",
  "/app;x=1/secret",
  "/app/;x/../secret",
  "/app%2Fsecret",
  "/app%00/secret",
  "/app%20/secret",
  "/app/secret%23x",
  "/app/secret?x=1",
  "/app/index.php",
  "/app/index.php/x",
  "/account/settings",
  "/ACCOUNT/settings",
  "/account%2Fsettings",
  "/hello/../account/settings",
  "/hello",
];

/** Cross-site spellings of a login: headers, and whether they must be refused. */
const CROSS_SITE = [
  [{ "sec-fetch-site": "cross-site" }, true],
  [{ origin: "null" }, true],
  [{ origin: "https://attacker.example" }, true],
  [{ "sec-fetch-site": "cross-site", origin: "https://attacker.example" }, true],
  [{ "sec-fetch-site": "same-origin" }, false],
  [{ "sec-fetch-site": "same-site" }, false],
  [{ "sec-fetch-site": "none" }, false],
  [{ origin: "{own}" }, false],
  [{}, false],
];

/**
 * Every variant: `{ id, name, target, plain, request(ctx) }`; `target` is a
 * field target (see TARGETS), `route` (a login under another spelling),
 * `path` (a protected path) or `crossSite` (then `mustRefuse`).
 */
export function variants() {
  const out = [];
  const push = (v) => out.push({ id: out.length + 1, ...v });
  for (const target of Object.keys(TARGETS)) {
    for (const kind of fieldKinds()) {
      if (kind.kind.startsWith("fold copies of a separator") && !/[_-]/.test(TARGETS[target].field)) continue;
      const t = TARGETS[target];
      const reads = kind.reads && ((id) => kind.reads(t.real(id)));
      push({ name: `${target}.${t.field}: ${kind.kind}`, target, plain: kind.plain, format: kind.format, make: kind.make, reads, build: fieldRequest });
    }
  }
  ROUTE_SPELLINGS.forEach((spell, i) => {
    push({
      name: `route ${spell("/login")} (PHP ${spell("/login.php")})`,
      target: "route",
      plain: i === 0,
      build: (v, ctx) => ({
        method: "POST",
        path: spell(ctx.routes.login),
        headers: { "content-type": FORMATS.form.type },
        body: Buffer.from(urlencoded([["username", TARGETS.login.real(v.id)], ["password", "wrong-password-1"]])),
      }),
    });
  });
  for (const path of PATH_SPELLINGS) {
    push({ name: `path ${path}`, target: "path", plain: false, build: () => ({ method: "GET", path, headers: { accept: "application/json" }, body: null }) });
  }
  CROSS_SITE.forEach(([headers, mustRefuse], i) => {
    push({
      name: `cross-site ${JSON.stringify(headers)}`,
      target: "crossSite",
      plain: !mustRefuse,
      mustRefuse,
      build: (v, ctx) => ({
        method: "POST",
        path: ctx.routes.login,
        headers: {
          "content-type": FORMATS.form.type,
          ...Object.fromEntries(Object.entries(headers).map(([k, val]) => [k, val.replace("{own}", ctx.ownOrigin)])),
        },
        body: Buffer.from(urlencoded([["username", TARGETS.login.real(v.id)], ["password", "wrong-password-1"]])),
      }),
    });
  });
  return out;
}
