// The demo signup page (www/) in headless Chromium, served by the demo
// server on loopback: the live checklist and meter respond to typing, the
// estimator loads on first focus, the locale switch changes the messages.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startServer } from "../www/server.js";
import { launchBrowser, openPage } from "./support/browser.js";

let browser;
let server;
before(async () => {
  server = await startServer({ port: 0 });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const statuses = (page) =>
  page.$$eval("#requirements li", (items) => Object.fromEntries(items.map((li) => [li.dataset.rule, li.dataset.status])));

test("typing a weak then a strong password updates the checklist and the meter", async () => {
  const { page, problems } = await openPage(browser, `${server.url}?preset=owasp-asvs-l2`);
  await page.waitForSelector("body[data-ready=rules]");
  const wasmRequests = [];
  page.on("request", (r) => r.url().endsWith(".wasm") && wasmRequests.push(r.url()));

  await page.fill("#username", "alice");
  await page.fill("#email", "alice@example.com");
  await page.fill("#password", "alice1");
  // Before the estimator: length rules answer, the blocklist waits.
  await page.waitForSelector('#requirements li[data-rule=minLength][data-status=fail]');
  await page.waitForSelector("body[data-ready=estimator]", { timeout: 30_000 });
  assert.ok(wasmRequests.some((u) => u.includes("portcullis_full")), "estimator loads on focus");

  await page.fill("#password", "password1");
  await page.waitForSelector('#requirements li[data-rule=blocklist][data-status=fail]');
  let s = await statuses(page);
  assert.equal(s.minLength, "fail");
  assert.equal(s.blocklist, "fail");
  assert.ok(["0", "1"].includes(await page.getAttribute("#meter", "data-score")));
  assert.equal(await page.isDisabled("#submit"), true);

  await page.fill("#password", "correct horse battery staple orbit");
  await page.fill("#confirm", "correct horse battery staple orbit");
  await page.waitForSelector('#meter[data-score="4"]');
  s = await statuses(page);
  assert.ok(Object.values(s).every((v) => v === "pass"), JSON.stringify(s));
  assert.equal(await page.getAttribute("#confirm-status", "data-match"), "true");
  assert.equal(await page.isDisabled("#submit"), false);
  assert.deepEqual(problems, []);
});

test("the locale switch shows Czech requirements", async () => {
  const { page, problems } = await openPage(browser, `${server.url}?preset=czech-transfer`);
  await page.waitForSelector("body[data-ready]:not([data-ready=''])");
  await page.selectOption("#locale", "cs");
  await page.fill("#password", "abc");
  await page.waitForFunction(() => document.querySelector('#requirements li[data-rule=minLength] .message')?.textContent === "Alespoň 8 znaků");
  const symbol = await page.textContent('#requirements li[data-rule=symbol] .message');
  assert.equal(symbol, "Symbol: ! @ # $ % ^ & *");
  assert.equal(await page.getAttribute("body", "data-locale"), "cs");
  assert.deepEqual(problems, []);
});

test("the generator fills a password that meets the preset", async () => {
  const { page, problems } = await openPage(browser, `${server.url}?preset=etendo`);
  await page.waitForSelector("body[data-ready=rules]");
  await page.focus("#password");
  await page.waitForSelector("body[data-ready=estimator]", { timeout: 30_000 });
  await page.click("#generate");
  await page.waitForFunction(() => document.querySelector("#password").value.length >= 8);
  const s = await statuses(page);
  assert.ok(Object.values(s).every((v) => v === "pass"), JSON.stringify(s));
  assert.equal(await page.inputValue("#password"), await page.inputValue("#confirm"));
  assert.deepEqual(problems, []);
});
