// The "Security settings" console in headless Chromium, served by the real
// edge on workerd at /__portcullis/console/ (console/, a static-assets
// binding; the Miniflare options are wrangler.toml's) in front of the demo
// origin, which has no console files: no console file is reachable at any
// other path, and a banned address is refused there too; sign in with
// the application key (a wrong one refused), raise the minimum length and
// see the signup page enforce it, an invalid value shown next to its field
// with nothing saved, ban an address and see it blocked, unban it, unlock an
// account, rotate a secret after the confirmation; no secret appears in any
// page, response or log line of the run.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startServer } from "../www/server.js";
import { launchBrowser, openPage } from "./support/browser.js";
import { APP_KEY, JWT_SECRET, XSRF_SALT, startEdge } from "./support/edge.js";

const WEBHOOK_SECRET = "console-webhook-secret-0123456789-abcdef";
const SECRETS = [APP_KEY, JWT_SECRET, XSRF_SALT, WEBHOOK_SECRET];

let browser;
let origin;
let edge;
const bodies = [];
before(async () => {
  origin = await startServer({ port: 0 });
  edge = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 1000 } }, bindings: { WEBHOOK_SECRET } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await edge?.dispose();
  await origin?.close();
});

/** Opens a page that keeps every response body for the secrets check. */
async function open(path) {
  const opened = await openPage(browser, new URL(path, edge.url).href);
  opened.page.on("response", async (r) => {
    try {
      bodies.push({ url: r.url(), text: await r.text() });
    } catch {
      // Redirects and aborted loads have no body.
    }
  });
  return opened;
}

async function signIn(page) {
  await page.fill("#app-key", APP_KEY);
  await page.click("#signin-submit");
  await page.waitForSelector("body[data-state=signed-in]");
}

const expectedProblems = (problems) => problems.filter((p) => !/HTTP (401|403|422): /.test(p));

test("the console speaks Czech too", async () => {
  const { page, problems } = await open("/__portcullis/console/?locale=cs");
  assert.equal(await page.textContent("#signin-submit"), "Přihlásit se");
  await signIn(page);
  assert.equal(await page.textContent("#tab-login"), "Ochrana přihlášení");
  assert.equal(await page.textContent("#tab-vault"), "Trezor");
  assert.match(await page.textContent('[data-path="passwords.minLength"] label'), /Nejkratší heslo/);
  // Each feature's mode is shown in its section.
  for (const path of ["passwords.mode", "login.mode", "bans.mode", "captcha.mode", "uploads.mode", "probation.mode"]) {
    assert.equal(await page.inputValue(`[data-path="${path}"] select`), "enforce", path);
  }
  assert.match(await page.textContent('[data-path="bans.mode"] label'), /Režim/);
  assert.deepEqual(expectedProblems(problems), []);
});

test("the console is the edge's, at /__portcullis/console/ only, behind the same checks", async () => {
  const marker = "RATE_LIMITS"; // in the console's own scripts only
  let r = await edge.request("/__portcullis/console/admin-text.js");
  assert.equal(r.status, 200);
  assert.match(await r.text(), new RegExp(marker));
  assert.ok(r.headers.get("content-security-policy"), "the edge's security headers");
  // The console's own CSP, never framed, whatever the site's allows.
  assert.match(r.headers.get("content-security-policy"), /frame-ancestors 'none'/);
  assert.equal(r.headers.get("x-frame-options"), "DENY");
  const tag = r.headers.get("etag");
  assert.ok(tag, "the assets' ETag");
  const again = await edge.request("/__portcullis/console/admin-text.js", { headers: { "If-None-Match": tag } });
  assert.equal(again.status, 304, "a revalidation is answered 304");
  assert.equal(await again.text(), "");
  // Not in report-only mode: no report endpoint.
  r = await edge.request("/__portcullis/csp-report", { method: "POST", body: "{}", headers: { "content-type": "application/csp-report" } });
  assert.equal(r.status, 404);
  await r.arrayBuffer();
  r = await edge.request("/__portcullis/console");
  assert.equal(r.status, 301);
  assert.equal(r.headers.get("location"), "/__portcullis/console/");
  await r.arrayBuffer();
  for (const path of ["/admin.js", "/admin-text.js", "/index.html", "/console/admin.js", "/__portcullis/admin.js",
    "/__portcullis/console/sub/admin.js", "/__portcullis/consoleadmin.js", "/__portcullis/console/%2e%2e/admin.js",
    "/__PORTCULLIS/console/admin.js", "/__portcullis/console/.admin.js", "/__portcullis/console/index.html"]) {
    r = await edge.request(path);
    const text = await r.text();
    assert.ok(!text.includes(marker), `${path} answered ${r.status} with a console file`);
  }
  r = await edge.request("/__portcullis/console/admin.js", { method: "POST", body: "x" });
  assert.equal(r.status, 405);
  await r.arrayBuffer();
  // A banned address is refused at the console too.
  r = await edge.admin("/bans", { method: "POST", body: JSON.stringify({ target: "203.0.113.77", seconds: 600 }) });
  assert.equal(r.status, 201);
  await r.arrayBuffer();
  r = await edge.request("/__portcullis/console/", { ip: "203.0.113.77" });
  assert.equal(r.status, 403);
  assert.equal((await r.json()).error, "banned");
});

test("a wrong application key is refused", async () => {
  const { page, problems } = await open("/__portcullis/console/");
  await page.fill("#app-key", "not-the-application-key-0123456789");
  await page.click("#signin-submit");
  await page.waitForSelector("#signin-error:not([hidden])");
  assert.equal(await page.textContent("#signin-error"), "That application key was refused.");
  assert.equal(await page.getAttribute("body", "data-state"), "signed-out");
  assert.deepEqual(expectedProblems(problems), []);
});

test("raising the minimum length is enforced on the signup page; an invalid value saves nothing", async () => {
  const { page, problems } = await open("/__portcullis/console/");
  await signIn(page);
  const row = '[data-path="passwords.minLength"]';
  await page.fill(`${row} input`, "0");
  await page.click("#save-passwords");
  await page.waitForSelector(`${row} .field-error:not([hidden])`);
  assert.match(await page.textContent(`${row} .field-error`), /minLength/);
  let settings = await (await edge.admin("/settings")).json();
  assert.equal(settings.policy.passwords.minLength, 8, "nothing saved");

  await page.fill(`${row} input`, "14");
  await page.click("#save-passwords");
  await page.waitForSelector("#status-passwords[data-outcome=saved]");
  settings = await (await edge.admin("/settings")).json();
  assert.equal(settings.policy.passwords.minLength, 14);

  const signup = await open("/");
  await signup.page.waitForSelector("body[data-ready=rules]");
  await signup.page.fill("#password", "Quasar-harbor");
  await signup.page.waitForSelector('#requirements li[data-rule=minLength][data-status=fail]');
  assert.match(await signup.page.textContent('#requirements li[data-rule=minLength] .message'), /14/);
  assert.deepEqual(expectedProblems(problems), []);
  assert.deepEqual(expectedProblems(signup.problems), []);
});

test("ban an address and see it blocked, unban it; unlock an account", async () => {
  let r;
  for (let i = 0; i < 5; i++) {
    r = await edge.request("/login", {
      ip: "198.18.20.1",
      method: "POST",
      body: "username=locky&password=wrong",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    await r.arrayBuffer();
  }
  assert.equal(r.status, 423);
  const { page, problems } = await open("/__portcullis/console/#bans");
  await signIn(page);
  await page.fill("#ban-target", "203.0.113.99");
  await page.fill("#ban-seconds", "600");
  await page.click("#ban-add");
  await page.waitForSelector('#bans-table tr[data-target="203.0.113.99"]');
  r = await edge.request("/", { ip: "203.0.113.99" });
  assert.equal(r.status, 403);
  assert.equal((await r.json()).error, "banned");
  await page.click('[data-unban="203.0.113.99"]');
  await page.waitForSelector('#bans-table tr[data-target="203.0.113.99"]', { state: "detached" });
  r = await edge.request("/", { ip: "203.0.113.99" });
  assert.equal(r.status, 200);
  await r.arrayBuffer();

  await page.click("#tab-login");
  await page.waitForSelector('#locked-table tr[data-account="locky"]');
  await page.click('[data-unlock="locky"]');
  await page.waitForSelector('#locked-table tr[data-account="locky"]', { state: "detached" });
  assert.deepEqual((await (await edge.admin("/accounts/locked")).json()).accounts, []);
  assert.deepEqual(expectedProblems(problems), []);
});

test("rate limits: add a rule and see it enforced, edit it, an invalid one saves nothing, delete it", async () => {
  const { page, problems } = await open("/__portcullis/console/#ratelimits");
  await signIn(page);
  await page.waitForSelector("#rules-table, p#rules-table");
  assert.equal(await page.textContent("p#rules-table"), "No rate limits.");
  await page.fill("#rule-id", "api");
  await page.fill("#rule-path", "/api/*");
  await page.fill("#rule-methods", "get");
  await page.fill("#rule-key", "header:X-API-Key");
  await page.selectOption("#rule-algorithm", "token-bucket");
  await page.fill("#rule-limit", "2");
  await page.fill("#rule-windowSeconds", "600");
  await page.click("#rule-save");
  await page.waitForSelector('#rules-table tr[data-rule="api"]');
  const hit = async () => {
    const r = await edge.request("/api/things", { ip: "198.18.21.1", headers: { "X-API-Key": "console-key" } });
    await r.arrayBuffer();
    return r.status;
  };
  assert.notEqual(await hit(), 429);
  assert.notEqual(await hit(), 429);
  assert.equal(await hit(), 429);
  let settings = await (await edge.admin("/settings")).json();
  assert.deepEqual(settings.policy.rateLimits[0].match, { path: "/api/*", methods: ["GET"] });

  // An invalid limit is shown with the edge's message; nothing is saved.
  await page.click('[data-edit-rule="api"]');
  await page.fill("#rule-limit", "0");
  await page.click("#rule-save");
  await page.waitForSelector("#rule-error:not([hidden])");
  assert.match(await page.textContent("#rule-error"), /limit/);
  settings = await (await edge.admin("/settings")).json();
  assert.equal(settings.policy.rateLimits[0].limit, 2, "nothing saved");

  // Edit: another algorithm (its buckets start afresh) and a limit of 5.
  await page.fill("#rule-limit", "5");
  await page.selectOption("#rule-algorithm", "sliding-window");
  await page.click("#rule-save");
  await page.waitForSelector("#rule-status[data-outcome=saved]");
  await page.waitForSelector('#rules-table tr[data-rule="api"] td:has-text("5 /")');
  assert.notEqual(await hit(), 429, "the edited rule applies at once");
  settings = await (await edge.admin("/settings")).json();
  assert.equal(settings.policy.rateLimits.length, 1, "edited in place");
  assert.equal(settings.policy.rateLimits[0].algorithm, "sliding-window");

  await page.click('[data-delete-rule="api"]');
  await page.waitForSelector('#rules-table tr[data-rule="api"]', { state: "detached" });
  assert.deepEqual((await (await edge.admin("/settings")).json()).policy.rateLimits, []);
  assert.deepEqual(expectedProblems(problems), []);

  const cs = await open("/__portcullis/console/?locale=cs#ratelimits");
  await signIn(cs.page);
  assert.equal(await cs.page.textContent("#tab-ratelimits"), "Omezení počtu požadavků");
  assert.match(await cs.page.textContent('[data-rule-field="key"] label'), /Počítá se podle/);
  assert.deepEqual(expectedProblems(cs.problems), []);
});

test("the vault: create the passphrase, encrypt and decrypt passwords, delete it after the confirmation", async () => {
  const passphrase = "console vault passphrase 42";
  const { page, problems } = await open("/__portcullis/console/");
  await signIn(page);
  await page.click("#tab-vault");
  await page.waitForFunction(() => document.querySelector("#vault-panel")?.dataset.vault === "none");
  assert.match(await page.textContent("#vault-state"), /No passphrase/);
  await page.fill("#vault-passphrase", "too short");
  await page.click("#vault-create");
  await page.waitForSelector("#vault-status[data-outcome=error]");
  assert.match(await page.textContent("#vault-status"), /12 characters/);
  await page.fill("#vault-passphrase", passphrase);
  await page.click("#vault-create");
  await page.waitForFunction(() => document.querySelector("#vault-panel").dataset.vault === "active");
  assert.match(await page.textContent("#vault-state"), /Active key/);
  assert.equal(await page.inputValue("#vault-passphrase"), "", "the passphrase is not kept in the page");

  await page.fill("#vault-field", "domain_password");
  await page.fill("#vault-items", "hunter2\nswordfish");
  await page.click("#vault-encrypt");
  await page.waitForFunction(() => document.querySelector("#vault-output").value.startsWith("pcv1."));
  const envelopes = await page.inputValue("#vault-output");
  assert.equal(envelopes.split("\n").length, 2);
  assert.ok(!envelopes.includes("hunter2"));
  await page.fill("#vault-items", envelopes);
  await page.fill("#vault-passphrase", passphrase);
  await page.click("#vault-decrypt");
  await page.waitForFunction(() => document.querySelector("#vault-output").value === "hunter2\nswordfish");

  // The deletion asks first, says what follows, and a cancel keeps the key.
  await page.click("#vault-delete");
  assert.match(await page.textContent("#confirm-effect"), /re-enter their credit card numbers/);
  await page.click("#confirm-cancel");
  assert.equal((await edge.admin("/vault").then((r) => r.json())).state, "active");
  await page.click("#vault-delete");
  await page.click("#confirm-ok");
  await page.waitForFunction(() => document.querySelector("#vault-panel").dataset.vault === "none");
  assert.equal((await edge.admin("/vault").then((r) => r.json())).state, "none");
  assert.deepEqual(expectedProblems(problems), []);
});

test("rotating a secret asks first and says who is signed out; secrets never appear", async () => {
  const { page, problems } = await open("/__portcullis/console/#sessions");
  await signIn(page);
  await page.click("#rotate-jwtSecret");
  await page.waitForSelector("#confirm-dialog[open]");
  assert.match(await page.textContent("#confirm-effect"), /Everyone is signed out/);
  await page.click("#confirm-cancel");
  await page.waitForSelector("#confirm-dialog", { state: "hidden" });
  assert.equal(await page.textContent("#secret-status-jwtSecret"), "", "cancelled: nothing rotated");
  await page.click("#rotate-jwtSecret");
  await page.click("#confirm-ok");
  await page.waitForSelector("#secret-status-jwtSecret:has-text('Done.')");
  const audit = await (await edge.admin("/audit?kind=secretRotated")).json();
  assert.equal(audit.entries.length, 1);
  assert.equal(audit.entries[0].detail.secret, "jwtSecret");

  await page.click("#tab-integrations");
  await page.waitForSelector('[data-secret="webhookSecret"] .secret-state:has-text("set")');
  await page.click("#tab-audit");
  await page.waitForSelector("#audit-table");
  await page.waitForSelector("#chart");
  assert.deepEqual(expectedProblems(problems), []);

  // Every response body of the run, and what the pages show.
  const pages = await Promise.all(browser.contexts().flatMap((c) => c.pages()).map((p) => p.content()));
  for (const text of [...bodies.map((b) => b.text), ...pages]) {
    for (const secret of SECRETS) assert.ok(!text.includes(secret), "a secret appeared in a response or page");
  }
  assert.ok(bodies.length > 20, `${bodies.length} responses checked`);
  // And what the Worker logged (console.error on failures, workerd's own output).
  const logged = edge.logs.join("");
  for (const secret of SECRETS) assert.ok(!logged.includes(secret), "a secret appeared in the Worker's log");
});
