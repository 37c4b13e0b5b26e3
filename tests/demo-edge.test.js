// The demo's login, account and change-password pages in headless Chromium
// through the real edge (the Worker on workerd) in front of the demo origin
// (www/server.js) on loopback: the session cookie, the XSRF token the page
// echoes, the edge's refusals explained on the page, and the change gate.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startServer } from "../www/server.js";
import { launchBrowser, openPage } from "./support/browser.js";
import { APP_KEY, startEdge } from "./support/edge.js";

const DEMO_PASSWORD = "correct horse battery staple orbit";
const NEW_PASSWORD = "Velvet-comet-orchard-62-lantern";

let browser;
let origin;
let edge;
before(async () => {
  origin = await startServer({ port: 0 });
  edge = await startEdge({
    origin,
    policy: { passwords: { historyCount: 3 }, login: { maxFailedAttempts: 4 }, bans: { warningsBeforeBan: 1000 } },
  });
  origin.connectEdge(edge.url, APP_KEY);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await edge?.dispose();
  await origin?.close();
});

// The refusals the tests provoke, and loads a navigation cuts short (the
// tests move on as soon as the page shows what they wait for).
const expectedProblems = (problems) =>
  problems.filter((p) => !/HTTP (401|422): /.test(p) && !/^requestfailed: .* \(net::ERR_ABORTED\)$/.test(p));

async function signIn(page, password) {
  await page.goto(new URL("/login", edge.url).href);
  await page.fill("#username", "demo");
  await page.fill("#password", password);
  await page.click("#submit");
}

test("login, change password (history refused, then accepted), logout, login again", async () => {
  const { page, problems } = await openPage(browser, new URL("/login", edge.url).href);

  await signIn(page, "not-the-password");
  await page.waitForSelector("#login-error[data-code=failed]:not([hidden])");
  assert.match(await page.textContent("#login-error"), /3 attempts left/);

  await signIn(page, DEMO_PASSWORD);
  await page.waitForURL(/\/account/);
  assert.equal(await page.textContent("#account-user"), "demo");
  assert.equal(await page.textContent("#account-roles"), "admin");
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "__Host-portcullis-session");
  assert.ok(session?.httpOnly && session.secure, "the session cookie is HttpOnly and Secure");
  assert.ok(cookies.find((c) => c.name === "__Host-portcullis-xsrf" && !c.httpOnly));

  // The same password again: strong, so the page allows it; the edge's history refuses it.
  await page.fill("#current-password", DEMO_PASSWORD);
  await page.fill("#new-password", DEMO_PASSWORD);
  await page.fill("#confirm", DEMO_PASSWORD);
  await page.waitForSelector("#submit:not([disabled])", { timeout: 30_000 });
  await page.click("#submit");
  await page.waitForSelector("#password-error[data-code=password_rejected]:not([hidden])");
  assert.match(await page.textContent("#password-error"), /used this password recently/);

  await page.fill("#new-password", NEW_PASSWORD);
  await page.fill("#confirm", NEW_PASSWORD);
  await page.waitForSelector("#submit:not([disabled])", { timeout: 30_000 });
  await page.click("#submit");
  await page.waitForSelector("#account-notice");
  assert.match(page.url(), /changed=1/);

  await page.click("#logout button");
  await page.waitForURL(/\/login/);
  assert.equal(
    (await page.context().cookies()).find((c) => c.name === "__Host-portcullis-session"),
    undefined,
    "logout cleared the session",
  );
  // /account/* is protected: without a session the edge sends the page to login, with the reason.
  await page.goto(new URL("/account", edge.url).href);
  await page.waitForURL(/\/login\?reason=login_required/);
  await page.waitForSelector("#login-reason:not([hidden])");

  await signIn(page, NEW_PASSWORD);
  await page.waitForURL(/\/account/);
  assert.equal(await page.textContent("#account-user"), "demo");
  assert.deepEqual(expectedProblems(problems), []);
});

test("a change the administrator requires: every page leads to the change form until it is done", async () => {
  const { page, problems } = await openPage(browser, new URL("/login", edge.url).href);
  await signIn(page, NEW_PASSWORD);
  await page.waitForURL(/\/account/);
  const id = (await page.textContent("#signed-in .muted")).replace(/[()]/g, "");
  const patched = await edge.admin(`/users/${id}`, { method: "PATCH", body: JSON.stringify({ mustChangePassword: true }) });
  assert.equal(patched.status, 200);
  await patched.arrayBuffer();

  // Requiring a change ends the user's sessions: sign in again, then every page leads to the form.
  // (The revocation is live at once in this isolate; a loaded full suite
  // once saw the page answered before it, so the visit is retried, bounded.)
  for (let i = 0; i < 25 && !/\/login\?reason=session_ended/.test(page.url()); i++) {
    await page.goto(new URL("/account", edge.url).href);
    if (!/\/login\?reason=session_ended/.test(page.url())) await new Promise((r) => setTimeout(r, 300));
  }
  await page.waitForURL(/\/login\?reason=session_ended/);
  await signIn(page, NEW_PASSWORD);
  await page.waitForURL(/\/account\/password\?reason=admin_required/);
  await page.waitForSelector("#change-reason[data-reason=admin_required]");
  assert.match(await page.textContent("#change-reason"), /administrator asked/);
  // Styles and scripts still load (static assets pass the gate).
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.body).fontFamily), "");

  await page.fill("#current-password", NEW_PASSWORD);
  await page.fill("#new-password", "Amber-glacier-violin-47-orbit");
  await page.fill("#confirm", "Amber-glacier-violin-47-orbit");
  await page.waitForSelector("#submit:not([disabled])", { timeout: 30_000 });
  await page.click("#submit");
  await page.waitForSelector("#account-notice");
  await page.goto(new URL("/account", edge.url).href);
  await page.waitForSelector("#signed-in");
  assert.doesNotMatch(page.url(), /reason=/);
  assert.deepEqual(expectedProblems(problems), []);
});

test("forgot password: a self-service link sets a new password once", async () => {
  const { page, problems } = await openPage(browser, new URL("/login", edge.url).href);
  await page.click("#forgot");
  await page.waitForSelector("#reset-request");
  await page.fill("#username", "demo");
  await page.click("#submit");
  await page.waitForSelector("#reset-link");
  const link = await page.getAttribute("#reset-link", "href");
  await page.click("#reset-link");
  await page.waitForSelector("#reset-password");
  assert.equal(await page.textContent("#reset-user"), "demo");
  // Too weak: the edge refuses it (422) and the link stays usable.
  await page.fill("#new-password", "short");
  await page.click("#submit");
  await page.waitForSelector("#password-error[data-code=password_rejected]:not([hidden])");
  await page.fill("#new-password", "Orchid-lantern-harbor-93");
  await page.click("#submit");
  await page.waitForURL(/\/login\?reason=password_reset/);
  await page.waitForSelector("#login-reason:not([hidden])");
  await signIn(page, "Orchid-lantern-harbor-93");
  await page.waitForURL(/\/account/);
  assert.equal(await page.textContent("#account-user"), "demo");
  // The same link again: back to the reset page with the reason.
  await page.goto(new URL(link, edge.url).href);
  await page.waitForSelector("#reset-reason[data-reason=reset_link_used]");
  assert.deepEqual(expectedProblems(problems), []);
});

test("billing: the card number is sealed in the browser; the edge and the demo application only ever see the envelope", async () => {
  const card = "4242424242424242";
  // Before a passphrase, the page says so and cannot submit.
  let { page, problems } = await openPage(browser, new URL("/billing", edge.url).href);
  await page.waitForFunction(() => document.body.dataset.vault !== "");
  assert.equal(await page.getAttribute("body", "data-vault"), "none");
  assert.equal(await page.isDisabled("#billing-submit"), true);
  const made = await edge.admin("/vault/passphrase", { method: "POST", body: JSON.stringify({ passphrase: "demo vault passphrase 77" }) });
  assert.equal(made.status, 201);
  await made.arrayBuffer();
  ({ page, problems } = await openPage(browser, new URL("/billing", edge.url).href));
  await page.waitForFunction(() => document.body.dataset.vault === "ready");
  const posted = [];
  page.on("request", (r) => r.method() === "POST" && posted.push(r.postData() ?? ""));
  await page.fill("#cardholder", "Ada Lovelace");
  await page.fill("#card-number", "4242 4242 4242 4242");
  await page.click("#billing-submit");
  await page.waitForSelector("#stored-envelope");
  const envelope = await page.textContent("#stored-envelope");
  assert.match(envelope, /^pcv1\./);
  assert.equal(posted.length, 1);
  assert.ok(!posted[0].includes("4242"), `the browser sent no cleartext: ${posted[0]}`);
  const opened = await edge.admin("/vault/decrypt", { method: "POST", body: JSON.stringify({ passphrase: "demo vault passphrase 77", items: [{ field: "card_number", envelope }] }) });
  assert.deepEqual((await opened.json()).values, [card]);
  assert.deepEqual(expectedProblems(problems), []);
});

test("signup with the built-in CAPTCHA: the page solves the edge's challenge in a Web Worker and the edge lets the form through", async () => {
  const on = await edge.admin("/settings", {
    method: "PATCH",
    body: JSON.stringify({ captcha: { enabled: true, provider: "builtin", pages: ["signup"] } }),
  });
  assert.equal(on.status, 200, await on.text());
  try {
    const { page, problems } = await openPage(browser, new URL("/", edge.url).href);
    const posted = [];
    page.on("request", (r) => r.method() === "POST" && posted.push(r.postData() ?? ""));
    const workers = [];
    page.on("worker", (w) => workers.push(w.url()));
    await page.waitForSelector("body[data-ready=rules]");
    await page.fill("#username", "captcha-carla");
    await page.fill("#email", "carla@example.com");
    await page.fill("#password", NEW_PASSWORD);
    await page.fill("#confirm", NEW_PASSWORD);
    await page.waitForFunction(() => !document.querySelector("#submit").disabled, null, { timeout: 30_000 });
    await page.click("#submit");
    await page.waitForSelector("body[data-page=signup-result]", { timeout: 30_000 });
    assert.match(await page.textContent("body"), /captcha-carla/);
    assert.ok(workers.some((u) => u.endsWith("/captcha-worker.js")), `solved in a Web Worker: ${workers}`);
    const sent = new URLSearchParams(posted.at(-1));
    assert.match(sent.get("portcullis-captcha"), /^pc1\.20\.\d+\.[0-9a-f]{32}\.[\w-]+\.\d+$/);
    assert.deepEqual(expectedProblems(problems), []);
    // Without the page's solution, the same form is refused.
    const bare = await edge.request("/signup", {
      method: "POST",
      body: new URLSearchParams({ username: "captcha-bot", email: "bot@example.com", password: NEW_PASSWORD }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(bare.status, 403);
    assert.equal((await bare.json()).reason, "missing");
  } finally {
    const off = await edge.admin("/settings", { method: "PATCH", body: JSON.stringify({ captcha: { enabled: false } }) });
    await off.arrayBuffer();
  }
});
