// The "Security settings" console, served by the edge at
// /__portcullis/console/ (console/index.html) in front of any origin: signs in with the
// application key (kept in this page's memory only, never stored), then
// shows the edge's settings in the seed products' sections with help text
// and defaults (www/admin-text.js), saves a section as a JSON merge patch
// (an invalid value is shown next to its field with the edge's message;
// nothing is saved), replaces write-only secrets after a confirmation that
// says who is signed out, and manages bans, locked accounts, a user's
// sessions, the audit log (filters, a chart, exports) and webhook
// deliveries. Everything goes through the admin API,
// /__portcullis/admin/…. No inline scripts or styles (the edge's CSP).
//
// Hooks for tests: body[data-state] "signed-out" | "signed-in";
// [data-path="<setting>"] rows with .field-error; #save-<section>,
// #status-<section>; #bans-table, #locked-table, #audit-table, #chart.
import { RATE_LIMITS, SECRETS, SECTIONS, UI, VAULT } from "./admin-text.js";

const API = "/__portcullis/admin";
const $ = (id) => document.getElementById(id);
const locale = new URLSearchParams(location.search).get("locale") === "cs" ? "cs" : "en";
const tx = UI[locale];

let key = "";
let settings = null; // { policy, defaults, secrets }
/** Section id → refreshes its lists when the section is shown. */
const refreshers = new Map();

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

async function api(path, { method = "GET", body } = {}) {
  const response = await fetch(API + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = response.headers.get("content-type") ?? "";
  const data = type.includes("json") ? await response.json() : await response.text();
  return { status: response.status, data };
}

const get = (object, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), object);

function setPath(object, path, value) {
  const keys = path.split(".");
  let node = object;
  for (const k of keys.slice(0, -1)) node = node[k] ??= {};
  node[keys.at(-1)] = value;
}

function human(seconds) {
  if (!seconds) return "0";
  const units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
  for (const [unit, size] of units) if (seconds % size === 0) return `${seconds / size} ${unit}`;
  return `${seconds} s`;
}

function shown(field, value) {
  if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) return tx.none;
  if (field.kind === "bool") return value ? tx.yes : tx.no;
  if (field.kind === "seconds") return human(value);
  if (field.kind === "json") return JSON.stringify(value);
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

// ---- settings sections ------------------------------------------------------------

function input(field, value) {
  const id = `s-${field.path}`;
  switch (field.kind) {
    case "bool":
      return el("input", { id, type: "checkbox", checked: Boolean(value) });
    case "select":
      return el("select", { id }, field.options.map((o) => el("option", { value: o, selected: o === value, text: o })));
    case "list":
      return el("textarea", { id, rows: 3, spellcheck: "false", text: (value ?? []).join("\n") });
    case "json":
      return el("textarea", { id, rows: 6, spellcheck: "false", text: JSON.stringify(value ?? null, null, 2) });
    case "number":
    case "seconds":
      return el("input", { id, type: "number", step: field.step ?? "1", value: value ?? 0 });
    default:
      return el("input", { id, type: "text", spellcheck: "false", value: value ?? "" });
  }
}

/** The value an input holds, in the policy's type; throws on bad JSON. */
function read(field) {
  const node = $(`s-${field.path}`);
  switch (field.kind) {
    case "bool": return node.checked;
    case "select": return node.value;
    case "list": return node.value.split("\n").map((s) => s.trim()).filter(Boolean);
    case "json": return JSON.parse(node.value);
    case "number":
    case "seconds": return node.value.trim() === "" ? null : Number(node.value);
    case "nullableText": return node.value.trim() === "" ? null : node.value.trim();
    default: return node.value;
  }
}

function settingRow(field) {
  const value = get(settings.policy, field.path);
  const control = input(field, value);
  const row = el("div", { class: `setting kind-${field.kind}`, "data-path": field.path },
    el("label", { for: control.id, text: field.help[locale] }),
    control,
    el("p", { class: "hint" },
      el("code", { text: field.path }),
      ` · ${tx.defaultIs} ${shown(field, get(settings.defaults, field.path))}`,
      field.kind === "seconds" ? el("span", { class: "human", text: value === get(settings.defaults, field.path) ? "" : ` · = ${human(value)}` }) : null),
    el("p", { class: "field-error", role: "alert", hidden: true }));
  if (field.kind === "seconds") {
    control.addEventListener("input", () => {
      row.querySelector(".human").textContent = ` · = ${human(Number(control.value))}`;
    });
  }
  return row;
}

function clearErrors(section) {
  for (const line of section.querySelectorAll(".field-error")) line.hidden = true;
}

/** The row a server error names (`probation.actions[0].path` → `probation.actions`). */
function rowFor(section, path) {
  for (let p = path; p; p = p.replace(/(\[\d+\])?(\.[^.[]*)?$/, "")) {
    const row = section.querySelector(`[data-path="${CSS.escape(p)}"]`);
    if (row) return row;
    if (!/[.[]/.test(p)) break;
  }
  return null;
}

async function saveSection(spec, section) {
  clearErrors(section);
  const status = $(`status-${spec.id}`);
  const patch = {};
  for (const field of spec.fields) {
    let value;
    try {
      value = read(field);
    } catch (error) {
      const line = rowFor(section, field.path).querySelector(".field-error");
      line.textContent = String(error.message);
      line.hidden = false;
      status.textContent = tx.notSaved;
      status.dataset.outcome = "error";
      return;
    }
    if (JSON.stringify(value) !== JSON.stringify(get(settings.policy, field.path))) setPath(patch, field.path, value);
  }
  const { status: code, data } = await api("/settings", { method: "PATCH", body: patch });
  if (code === 200) {
    settings.policy = data.policy;
    status.textContent = tx.saved;
    status.dataset.outcome = "saved";
    return;
  }
  const row = data.field ? rowFor(section, data.field) : null;
  const message = data.message ?? data.error ?? `HTTP ${code}`;
  if (row) {
    const line = row.querySelector(".field-error");
    line.textContent = message;
    line.hidden = false;
  }
  status.textContent = `${tx.notSaved} ${message}`;
  status.dataset.outcome = "error";
}

// ---- secrets ------------------------------------------------------------------------

function confirmRotation(name) {
  return confirmDialog(`${tx.confirmRotate} ${SECRETS[name].label[locale]}`, SECRETS[name].effect[locale], tx.confirm);
}

/** Asks in the page's dialog; resolves true when confirmed. */
function confirmDialog(title, effect, ok) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-effect").textContent = effect;
  $("confirm-cancel").textContent = tx.cancel;
  $("confirm-ok").textContent = ok;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.showModal();
  });
}

function secretRow(name) {
  const spec = SECRETS[name];
  const state = settings.secrets[name] === "set" ? tx.set : tx.unset;
  const value = el("input", { id: `secret-${name}`, type: "password", autocomplete: "new-password", spellcheck: "false", placeholder: tx.newValue });
  const status = el("p", { class: "hint", id: `secret-status-${name}`, role: "status" });
  const button = el("button", { type: "button", class: "ghost", id: `rotate-${name}`, text: spec.random ? tx.rotate : tx.replace });
  button.addEventListener("click", async () => {
    if (!(await confirmRotation(name))) return;
    const given = value.value;
    const { status: code, data } = await api(`/secrets/${name}`, { method: "POST", body: given ? { value: given } : undefined });
    value.value = "";
    if (code === 200) {
      if (name === "applicationKey") key = given;
      settings.secrets[name] = "set";
      row.querySelector(".secret-state").textContent = tx.set;
      status.textContent = tx.rotated;
    } else {
      status.textContent = data.message ?? `HTTP ${code}`;
    }
  });
  const row = el("div", { class: "setting secret", "data-secret": name },
    el("label", { for: value.id, text: spec.label[locale] }),
    el("div", { class: "input-row" }, value, button),
    el("p", { class: "hint" }, el("span", { class: "secret-state", text: state }), ` · ${spec.effect[locale]}${spec.random ? ` ${tx.randomValue}` : ""}`),
    status);
  return row;
}

// ---- lists --------------------------------------------------------------------------

function table(id, headings, rows, empty) {
  if (rows.length === 0) return el("p", { id, class: "muted", text: empty });
  return el("table", { id, class: "list" },
    el("thead", {}, el("tr", {}, headings.map((h) => el("th", { text: h })))),
    el("tbody", {}, rows));
}

const when = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString(locale) : tx.forever);

function bansPanel() {
  const box = el("div", { class: "card panel", id: "bans-panel" }, el("h2", { class: "card-heading", text: tx.bansHeading }));
  const list = el("div");
  const render = async () => {
    const { data } = await api("/bans");
    const rows = data.bans.map((b) => {
      const unban = el("button", { type: "button", class: "ghost", "data-unban": b.target, text: tx.unban });
      unban.addEventListener("click", async () => {
        await api(`/bans/${encodeURIComponent(b.target)}`, { method: "DELETE" });
        await render();
      });
      return el("tr", { "data-target": b.target }, el("td", {}, el("code", { text: b.target })), el("td", { text: when(b.until) }), el("td", { text: b.scope }), el("td", { text: b.reason }), el("td", {}, unban));
    });
    list.replaceChildren(table("bans-table", [tx.banTarget, tx.until, tx.banScope, tx.reason, ""], rows, tx.noBans));
  };
  refreshers.set("bans", render);
  const target = el("input", { id: "ban-target", type: "text", placeholder: "203.0.113.7", spellcheck: "false" });
  const seconds = el("input", { id: "ban-seconds", type: "number", value: 3600 });
  const permanent = el("input", { id: "ban-permanent", type: "checkbox" });
  const scope = el("select", { id: "ban-scope" }, el("option", { value: "all", text: tx.scopeAll }), el("option", { value: "writes", text: tx.scopeWrites }));
  const error = el("p", { class: "field-error", role: "alert", hidden: true });
  const add = el("button", { type: "button", class: "primary", id: "ban-add", text: tx.addBan });
  add.addEventListener("click", async () => {
    const body = { target: target.value.trim(), scope: scope.value, ...(permanent.checked ? { permanent: true } : { seconds: Number(seconds.value) }) };
    const { status, data } = await api("/bans", { method: "POST", body });
    error.hidden = status === 201;
    error.textContent = status === 201 ? "" : data.message ?? `HTTP ${status}`;
    if (status === 201) target.value = "";
    await render();
  });
  box.append(
    el("div", { class: "inline-fields" },
      el("label", {}, tx.banTarget, target), el("label", {}, tx.banSeconds, seconds),
      el("label", {}, permanent, tx.banPermanent), el("label", {}, tx.banScope, scope), add),
    error, list);
  return box;
}

function lockedPanel() {
  const box = el("div", { class: "card panel", id: "locked-panel" }, el("h2", { class: "card-heading", text: tx.lockedHeading }));
  const list = el("div");
  const render = async () => {
    const { data } = await api("/accounts/locked");
    const rows = data.accounts.map((a) => {
      const unlock = el("button", { type: "button", class: "ghost", "data-unlock": a.account, text: tx.unlock });
      unlock.addEventListener("click", async () => {
        await api(`/accounts/${encodeURIComponent(a.account)}/unlock`, { method: "POST" });
        await render();
      });
      return el("tr", { "data-account": a.account }, el("td", {}, el("code", { text: a.account })), el("td", { text: when(a.until) }), el("td", {}, unlock));
    });
    list.replaceChildren(table("locked-table", [tx.userId, tx.until, ""], rows, tx.noLocked));
  };
  refreshers.set("login", render);
  box.append(list);
  return box;
}

function sessionsPanel() {
  const box = el("div", { class: "card panel", id: "sessions-panel" }, el("h2", { class: "card-heading", text: tx.sessionsHeading }));
  const user = el("input", { id: "session-user", type: "text", placeholder: "u-1", spellcheck: "false" });
  const out = el("pre", { id: "session-record", class: "record", hidden: true });
  const status = el("p", { class: "hint", id: "session-status", role: "status" });
  const look = el("button", { type: "button", class: "ghost", id: "session-lookup", text: tx.lookUp });
  const end = el("button", { type: "button", class: "ghost", id: "session-end", text: tx.endSessions });
  const all = el("button", { type: "button", class: "ghost", id: "session-end-all", text: tx.endAll });
  look.addEventListener("click", async () => {
    const { status: code, data } = await api(`/users/${encodeURIComponent(user.value.trim())}`);
    out.hidden = false;
    out.textContent = code === 200 ? JSON.stringify(data.record, null, 2) : data.message ?? `HTTP ${code}`;
  });
  end.addEventListener("click", async () => {
    const { status: code, data } = await api(`/users/${encodeURIComponent(user.value.trim())}/sessions`, { method: "DELETE" });
    status.textContent = code === 200 ? tx.ended : data.message ?? `HTTP ${code}`;
  });
  all.addEventListener("click", async () => {
    const { status: code } = await api("/sessions", { method: "DELETE" });
    status.textContent = code === 200 ? tx.ended : `HTTP ${code}`;
  });
  box.append(el("div", { class: "inline-fields" }, el("label", {}, tx.userId, user), look, end, all), status, out);
  return box;
}

function deliveriesPanel() {
  const list = el("div");
  refreshers.set("integrations", async () => {
    const { data } = await api("/webhooks");
    const rows = data.deliveries.map((d) => el("tr", {},
      el("td", { text: String(d.id) }), el("td", { text: d.kind }), el("td", { text: d.delivery.state }),
      el("td", { text: String(d.delivery.attempts) }), el("td", { text: d.delivery.lastError ?? "" })));
    list.replaceChildren(table("deliveries-table", ["#", tx.kind, tx.state, tx.attempts, tx.lastError], rows, tx.noDeliveries));
  });
  return el("div", { class: "card panel", id: "deliveries-panel" },
    el("h2", { class: "card-heading", text: tx.deliveriesHeading }), list);
}

// ---- vault --------------------------------------------------------------------------

function vaultPanel() {
  const vx = VAULT[locale];
  const box = el("div", { class: "card panel", id: "vault-panel" }, el("h2", { class: "card-heading", text: vx.heading }), el("p", { class: "hint", text: vx.intro }));
  const state = el("p", { id: "vault-state", role: "status" });
  const status = el("p", { class: "hint", id: "vault-status", role: "status" });
  const input = (id, label, type = "password") => {
    const control = el("input", { id, type, autocomplete: "off", spellcheck: "false" });
    return [control, el("label", {}, label, control)];
  };
  const [pass, passLabel] = input("vault-passphrase", vx.passphrase);
  const [next, nextLabel] = input("vault-new-passphrase", vx.newPassphrase);
  const [field, fieldLabel] = input("vault-field", vx.field, "text");
  const items = el("textarea", { id: "vault-items", rows: 4, spellcheck: "false" });
  const output = el("textarea", { id: "vault-output", rows: 4, readonly: true, spellcheck: "false" });
  const button = (id, text) => el("button", { type: "button", class: "ghost", id, text });
  const create = button("vault-create", vx.create);
  const reset = button("vault-reset", vx.reset);
  const remove = button("vault-delete", vx.remove);
  const encrypt = button("vault-encrypt", vx.encrypt);
  const decrypt = button("vault-decrypt", vx.decrypt);
  const render = async () => {
    const { data } = await api("/vault");
    const active = data.state === "active";
    box.dataset.vault = data.state;
    state.textContent = active ? vx.active(data.keyId, when(data.createdAt), when(data.passphraseSetAt)) : vx.none;
    create.hidden = active;
    for (const b of [reset, remove, encrypt, decrypt]) b.hidden = !active;
    nextLabel.hidden = !active;
  };
  refreshers.set("vault", render);
  /** Calls the vault's API; shows the edge's message when refused. */
  const act = async (path, body, method = "POST") => {
    const { status: code, data } = await api(`/vault${path}`, { method, body });
    status.textContent = code < 300 ? vx.done : data.message ?? `HTTP ${code}`;
    status.dataset.outcome = code < 300 ? "done" : "error";
    return code < 300 ? data : null;
  };
  const lines = () => items.value.split("\n").map((l) => l.trim()).filter(Boolean);
  create.addEventListener("click", async () => {
    await act("/passphrase", { passphrase: pass.value });
    pass.value = "";
    await render();
  });
  reset.addEventListener("click", async () => {
    await act("/passphrase", { passphrase: pass.value, newPassphrase: next.value });
    pass.value = next.value = "";
    await render();
  });
  remove.addEventListener("click", async () => {
    if (!(await confirmDialog(vx.removeTitle, vx.removeEffect, vx.removeOk))) return;
    await act("/passphrase", { confirm: "delete" }, "DELETE");
    await render();
  });
  encrypt.addEventListener("click", async () => {
    const data = await act("/encrypt", { items: lines().map((value) => ({ field: field.value.trim(), value })) });
    output.value = data ? data.envelopes.join("\n") : "";
  });
  decrypt.addEventListener("click", async () => {
    const data = await act("/decrypt", { passphrase: pass.value, items: lines().map((envelope) => ({ field: field.value.trim(), envelope })) });
    output.value = data ? data.values.join("\n") : "";
  });
  box.append(state,
    el("div", { class: "inline-fields" }, passLabel, nextLabel, create, reset, remove),
    el("p", { class: "hint", text: `${vx.resetHelp} ${vx.removeEffect}` }),
    el("div", { class: "inline-fields" }, fieldLabel),
    el("label", { for: items.id, text: `${vx.values} / ${vx.envelopes}` }), items,
    el("div", { class: "tools-row" }, encrypt, decrypt),
    el("p", { class: "hint", text: `${vx.encryptHelp} ${vx.decryptHelp}` }),
    el("label", { for: output.id, text: vx.result }), output, status);
  return box;
}

// ---- audit --------------------------------------------------------------------------

const SERIES = [["warning", "#f08c00"], ["banned", "#d32f2f"], ["banAdded", "#8e24aa"], ["accountLocked", "#2557c7"]];

async function chart() {
  const { data } = await api("/audit/stats?bucket=3600");
  const now = Math.floor(Date.now() / 1000);
  const start = Math.floor((now - 7 * 86400) / 3600) * 3600;
  const hours = 7 * 24 + 1;
  const totals = new Array(hours).fill(0);
  const stacks = new Map();
  for (const c of data.counts) {
    const i = Math.round((c.at - start) / 3600);
    if (i < 0 || i >= hours) continue;
    stacks.set(`${i}:${c.kind}`, c.count);
    totals[i] += c.count;
  }
  const max = Math.max(1, ...totals);
  const width = 700;
  const height = 160;
  const barWidth = width / hours;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height + 20}`);
  svg.setAttribute("id", "chart");
  svg.setAttribute("role", "img");
  const sums = Object.fromEntries(SERIES.map(([k]) => [k, 0]));
  for (let i = 0; i < hours; i++) {
    let y = height;
    for (const [kind, color] of SERIES) {
      const n = stacks.get(`${i}:${kind}`) ?? 0;
      if (!n) continue;
      sums[kind] += n;
      const h = (n / max) * (height - 10);
      y -= h;
      const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      for (const [a, v] of Object.entries({ x: i * barWidth, y, width: Math.max(barWidth - 0.5, 1), height: h, fill: color, "data-kind": kind })) rect.setAttribute(a, v);
      const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      title.textContent = `${new Date((start + i * 3600) * 1000).toLocaleString(locale)}: ${n} ${kind}`;
      rect.append(title);
      svg.append(rect);
    }
  }
  const axis = document.createElementNS("http://www.w3.org/2000/svg", "line");
  for (const [a, v] of Object.entries({ x1: 0, y1: height, x2: width, y2: height, stroke: "currentColor", "stroke-width": 1 })) axis.setAttribute(a, v);
  svg.append(axis);
  svg.setAttribute("aria-label", `${tx.chartTitle}: ${SERIES.map(([k]) => `${sums[k]} ${k}`).join(", ")}`);
  const legend = el("p", { class: "legend", id: "chart-legend" },
    SERIES.map(([kind, color]) => el("span", { class: `swatch swatch-${kind}`, "data-color": color, text: `${kind}: ${sums[kind]}` })));
  return el("figure", { class: "chart" }, el("figcaption", { text: totals.some(Boolean) ? tx.chartTitle : tx.chartEmpty }), svg, legend);
}

async function download(format) {
  const response = await fetch(`${API}/audit?format=${format}&limit=5000`, { headers: { Authorization: `Bearer ${key}` } });
  const blob = await response.blob();
  const link = el("a", { href: URL.createObjectURL(blob), download: `portcullis-audit.${format === "csv" ? "csv" : "jsonl"}` });
  document.body.append(link);
  link.click();
  link.remove();
}

async function auditSection() {
  const section = el("section", { class: "section", "data-section": "audit", hidden: true });
  const kinds = el("input", { id: "audit-kind", type: "text", placeholder: "warning,banned", spellcheck: "false" });
  const ip = el("input", { id: "audit-ip", type: "text", placeholder: "203.0.113.7", spellcheck: "false" });
  const list = el("div");
  const render = async () => {
    const query = new URLSearchParams({ limit: "200" });
    if (kinds.value.trim()) query.set("kind", kinds.value.trim());
    if (ip.value.trim()) query.set("ip", ip.value.trim());
    const { data } = await api(`/audit?${query}`);
    const rows = data.entries.map((e) => el("tr", { "data-kind": e.kind },
      el("td", { text: new Date(e.at * 1000).toLocaleString(locale) }), el("td", { text: e.kind }),
      el("td", {}, el("code", { text: e.ip })), el("td", {}, el("code", { text: JSON.stringify(e.detail) }))));
    list.replaceChildren(table("audit-table", [tx.at, tx.kind, tx.ip, tx.detail], rows, tx.none));
    panel.querySelector(".chart").replaceWith(await chart());
  };
  refreshers.set("audit", render);
  const filter = el("button", { type: "button", class: "ghost", id: "audit-filter", text: tx.filter });
  filter.addEventListener("click", render);
  const csv = el("button", { type: "button", class: "ghost", id: "audit-csv", text: tx.exportCsv });
  csv.addEventListener("click", () => download("csv"));
  const jsonl = el("button", { type: "button", class: "ghost", id: "audit-jsonl", text: tx.exportJsonl });
  jsonl.addEventListener("click", () => download("jsonl"));
  const panel = el("div", { class: "card panel" }, el("h2", { class: "card-heading", text: tx.auditHeading }), el("figure", { class: "chart" }),
    el("div", { class: "inline-fields" }, el("label", {}, tx.auditKind, kinds), el("label", {}, tx.auditIp, ip), filter, csv, jsonl),
    list);
  section.append(panel);
  return section;
}

// ---- rate limits --------------------------------------------------------------------

const RULE_FIELDS = ["id", "path", "methods", "key", "algorithm", "limit", "windowSeconds", "action", "mode"];

function ruleInput(name) {
  const id = `rule-${name}`;
  if (name === "algorithm") return el("select", { id }, ["sliding-window", "token-bucket"].map((o) => el("option", { value: o, text: o })));
  if (name === "action") return el("select", { id }, ["deny", "captcha"].map((o) => el("option", { value: o, text: o })));
  if (name === "mode") return el("select", { id }, ["enforce", "monitor"].map((o) => el("option", { value: o, text: o })));
  if (name === "limit" || name === "windowSeconds") return el("input", { id, type: "number", step: "1", value: name === "limit" ? 100 : 60 });
  return el("input", { id, type: "text", spellcheck: "false", placeholder: { id: "api", path: "/api/*", methods: "GET, POST", key: "header:X-API-Key" }[name] });
}

/** The rule the form holds, in the policy's shape. */
function ruleFromForm() {
  const value = (name) => $(`rule-${name}`).value.trim();
  const methods = value("methods").split(",").map((m) => m.trim().toUpperCase()).filter(Boolean);
  return {
    id: value("id"),
    match: { path: value("path"), ...(methods.length ? { methods } : {}) },
    key: value("key"),
    algorithm: value("algorithm"),
    limit: Number(value("limit")),
    windowSeconds: Number(value("windowSeconds")),
    action: value("action"),
    mode: value("mode"),
  };
}

function fillForm(rule) {
  const values = { id: rule.id, path: rule.match.path, methods: (rule.match.methods ?? []).join(", "), key: rule.key, algorithm: rule.algorithm, limit: rule.limit, windowSeconds: rule.windowSeconds, action: rule.action ?? "deny", mode: rule.mode ?? "enforce" };
  for (const name of RULE_FIELDS) $(`rule-${name}`).value = values[name];
}

function rateLimitsSection() {
  const section = el("section", { class: "section", "data-section": "ratelimits", hidden: true });
  const list = el("div");
  const status = el("p", { class: "hint", id: "rule-status", role: "status" });
  const error = el("p", { class: "field-error", id: "rule-error", role: "alert", hidden: true });
  let editing = null; // the index of the rule being edited, or null for a new one
  const rules = () => settings.policy.rateLimits ?? [];

  /** Saves the whole array; shows the edge's message (naming the field) when refused. */
  const save = async (next) => {
    error.hidden = true;
    const { status: code, data } = await api("/settings", { method: "PATCH", body: { rateLimits: next } });
    if (code !== 200) {
      error.textContent = data.message ?? data.error ?? `HTTP ${code}`;
      error.hidden = false;
      status.textContent = tx.notSaved;
      status.dataset.outcome = "error";
      return false;
    }
    settings.policy = data.policy;
    status.textContent = tx.ruleSaved;
    status.dataset.outcome = "saved";
    render();
    return true;
  };
  const render = () => {
    const rows = rules().map((r, i) => {
      const edit = el("button", { type: "button", class: "ghost", "data-edit-rule": r.id, text: tx.editRule });
      edit.addEventListener("click", () => {
        editing = i;
        fillForm(r);
        $("rule-save").textContent = tx.saveRule;
      });
      const remove = el("button", { type: "button", class: "ghost", "data-delete-rule": r.id, text: tx.deleteRule });
      remove.addEventListener("click", () => save(rules().filter((_, j) => j !== i)));
      return el("tr", { "data-rule": r.id },
        el("td", {}, el("code", { text: r.id })), el("td", {}, el("code", { text: r.match.path })),
        el("td", { text: (r.match.methods ?? []).join(", ") || "*" }), el("td", {}, el("code", { text: r.key })),
        el("td", { text: r.algorithm }), el("td", { text: `${r.limit} / ${human(r.windowSeconds)}` }),
        el("td", { text: r.action ?? "deny" }), el("td", { "data-mode": r.mode ?? "enforce", text: r.mode ?? "enforce" }), el("td", {}, edit, remove));
    });
    list.replaceChildren(table("rules-table", [...tx.ruleColumns, ""], rows, tx.noRules));
  };
  refreshers.set("ratelimits", async () => render());
  const fields = RULE_FIELDS.map((name) => {
    const control = ruleInput(name);
    return el("div", { class: "setting", "data-rule-field": name },
      el("label", { for: control.id, text: RATE_LIMITS.fields[name][locale] }), control);
  });
  const submit = el("button", { type: "submit", class: "primary", id: "rule-save", text: tx.addRule });
  const cancel = el("button", { type: "button", class: "ghost", id: "rule-cancel", text: tx.cancel });
  const form = el("form", { class: "card settings-form", id: "form-ratelimits", novalidate: true },
    el("h2", { class: "card-heading", text: tx.rateLimits }),
    el("p", { class: "hint", text: RATE_LIMITS.intro[locale] }),
    fields, error,
    el("div", { class: "tools-row" }, submit, cancel, status));
  const reset = () => {
    editing = null;
    form.reset();
    submit.textContent = tx.addRule;
  };
  cancel.addEventListener("click", reset);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const rule = ruleFromForm();
    const next = editing === null ? [...rules(), rule] : rules().map((r, i) => (i === editing ? rule : r));
    if (await save(next)) reset();
  });
  section.append(el("div", { class: "card panel", id: "rules-panel" }, el("h2", { class: "card-heading", text: tx.rulesHeading }), list), form);
  return section;
}

// ---- the console --------------------------------------------------------------------

async function settingsSection(spec) {
  const section = el("section", { class: "section", "data-section": spec.id, hidden: true });
  const form = el("form", { class: "card settings-form", id: `form-${spec.id}`, novalidate: true },
    el("h2", { class: "card-heading", text: spec.title[locale] }),
    spec.fields.map(settingRow),
    el("div", { class: "tools-row" },
      el("button", { type: "submit", class: "primary", id: `save-${spec.id}`, text: tx.save }),
      el("p", { class: "hint", id: `status-${spec.id}`, role: "status" })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveSection(spec, section);
  });
  section.append(form);
  if (spec.secrets) section.append(el("div", { class: "card panel secrets" }, spec.secrets.map(secretRow)));
  if (spec.id === "login") section.append(lockedPanel());
  if (spec.id === "bans") section.append(bansPanel());
  if (spec.id === "sessions") section.append(sessionsPanel());
  if (spec.id === "integrations") section.append(deliveriesPanel());
  if (spec.id === "vault") section.append(vaultPanel());
  return section;
}

/** Shows one section, with its lists fresh. */
async function show(id) {
  for (const s of document.querySelectorAll("[data-section]")) s.hidden = s.dataset.section !== id;
  for (const t of document.querySelectorAll("#tabs button")) t.setAttribute("aria-current", String(t.dataset.tab === id));
  history.replaceState(null, "", `#${id}`);
  await refreshers.get(id)?.();
}

async function openConsole() {
  const tabs = $("tabs");
  const sections = $("sections");
  tabs.replaceChildren();
  sections.replaceChildren();
  const all = [...SECTIONS.map((s) => ({ id: s.id, title: s.title[locale] })), { id: "ratelimits", title: tx.rateLimits }, { id: "audit", title: tx.audit }];
  for (const { id, title } of all) {
    const tab = el("button", { type: "button", "data-tab": id, id: `tab-${id}`, text: title });
    tab.addEventListener("click", () => show(id));
    tabs.append(tab);
  }
  for (const spec of SECTIONS) sections.append(await settingsSection(spec));
  sections.append(rateLimitsSection());
  sections.append(await auditSection());
  $("signin").hidden = true;
  $("console").hidden = false;
  document.body.dataset.state = "signed-in";
  const wanted = location.hash.slice(1);
  await show(all.some((s) => s.id === wanted) ? wanted : "passwords");
}

function localize() {
  document.documentElement.lang = locale;
  document.body.dataset.locale = locale;
  document.title = tx.title;
  $("signin-heading").textContent = tx.heading;
  $("tagline").textContent = tx.heading;
  $("key-label").textContent = tx.keyLabel;
  $("signin-submit").textContent = tx.signIn;
  $("signout").textContent = tx.signOut;
  const other = locale === "cs" ? "en" : "cs";
  const link = $("switch-locale");
  link.href = `./?locale=${other}`;
  link.textContent = other === "cs" ? "Čeština" : "English";
  link.hreflang = other;
  link.lang = other;
}

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  key = $("app-key").value;
  $("app-key").value = "";
  const { status, data } = await api("/settings");
  if (status !== 200) {
    key = "";
    $("signin-error").textContent = status === 401 ? tx.wrongKey : data.message ?? `HTTP ${status}`;
    $("signin-error").hidden = false;
    return;
  }
  $("signin-error").hidden = true;
  settings = data;
  await openConsole();
});

$("signout").addEventListener("click", () => {
  key = "";
  settings = null;
  location.reload();
});

localize();
