// The package through a bundler: a small app imports "portcullis", Vite
// builds it, and the built app runs in headless Chromium: the rules answer
// at once and the estimator chunk loads on demand. And with no bundler: a
// plain HTML page imports the installed package through an import map.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchBrowser, openPage, serveDirectory } from "./support/browser.js";
import { installPackage, root } from "./support/package.js";

const MAIN = `
import { PasswordChecker } from "portcullis";
const out = document.querySelector("#out");
const loaded = () => performance.getEntriesByType("resource").map((e) => e.name.split("/").pop());
const checker = PasswordChecker.fromPreset("owasp-asvs-l2");
const before = checker.check("Tr0ub4dor&3");
out.dataset.before = JSON.stringify({ pending: before.pending, score: before.score, rules: before.rules.map((r) => r.status) });
const de = PasswordChecker.fromPreset("nist-800-63b", { locale: "de-AT" });
out.dataset.deBefore = JSON.stringify({ locale: de.locale, speaks: de.messagesLocale, first: de.requirements()[0], loaded: loaded() });
await de.ready;
out.dataset.deAfter = JSON.stringify({ speaks: de.messagesLocale, first: de.requirements()[0], loaded: loaded() });
await checker.ready;
const after = checker.check("Tr0ub4dor&3 orbit lantern");
out.dataset.after = JSON.stringify({ pending: after.pending, score: after.score, ok: after.ok });
out.textContent = "done";
`;

const LOCALES = ["en", "cs", "de", "fr", "es", "pl", "sk"];
let browser;
let server;
let plainServer;
before(async () => {
  const app = await installPackage();
  // No bundler: the page and the installed node_modules, served as files.
  const plain = join(app, "plain");
  mkdirSync(plain, { recursive: true });
  writeFileSync(
    join(plain, "index.html"),
    '<!doctype html><meta charset="utf-8"><div id="out">loading</div>\n' +
      '<script type="importmap">{ "imports": { "portcullis": "/node_modules/portcullis/src/browser.js" } }</script>\n' +
      `<script type="module">${MAIN}</script>\n`,
  );
  plainServer = await serveDirectory(app);
  const site = join(app, "vite-site");
  mkdirSync(site, { recursive: true });
  writeFileSync(join(site, "index.html"), '<!doctype html><meta charset="utf-8"><div id="out">loading</div><script type="module" src="./main.js"></script>\n');
  writeFileSync(join(site, "main.js"), MAIN);
  const vite = join(root, "node_modules", "vite", "bin", "vite.js");
  const built = spawnSync(process.execPath, [vite, "build", "--logLevel", "warn", "--outDir", join(site, "dist"), "--emptyOutDir"], { cwd: site, encoding: "utf8" });
  assert.equal(built.status, 0, `vite build failed:\n${built.stdout}${built.stderr}`);
  const assets = readdirSync(join(site, "dist", "assets"));
  assert.ok(assets.filter((f) => f.endsWith(".wasm")).length >= 2, `wasm assets emitted: ${assets}`);
  for (const tag of LOCALES) assert.ok(assets.some((f) => f.startsWith(`${tag}-`)), `a chunk of its own for ${tag}: ${assets}`);
  server = await serveDirectory(join(site, "dist"));
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await plainServer?.close();
});

test("a Vite build of an app importing portcullis works in Chromium", async () => {
  const { page, problems } = await openPage(browser, server.url);
  await page.waitForFunction(() => document.querySelector("#out").textContent === "done", null, { timeout: 30_000 });
  const before = JSON.parse(await page.getAttribute("#out", "data-before"));
  const after = JSON.parse(await page.getAttribute("#out", "data-after"));
  assert.equal(before.pending, true);
  assert.equal(before.score, null);
  assert.ok(before.rules.includes("pass"));
  assert.deepEqual(after, { pending: false, score: 4, ok: true });
  assert.deepEqual(problems, []);
});

test("only the visitor's locale loads, after the first feedback", async () => {
  const { page, problems } = await openPage(browser, server.url);
  await page.waitForFunction(() => document.querySelector("#out").textContent === "done", null, { timeout: 30_000 });
  const before = JSON.parse(await page.getAttribute("#out", "data-de-before"));
  const after = JSON.parse(await page.getAttribute("#out", "data-de-after"));
  const chunks = (list) => LOCALES.filter((tag) => list.some((f) => f.startsWith(`${tag}-`)));
  // The first feedback: English requirements from the main chunk, no catalog fetched.
  assert.equal(before.locale, "de");
  assert.equal(before.speaks, "en");
  assert.deepEqual(before.first, { id: "minLength", params: { n: 15 }, message: "At least 15 characters" });
  assert.deepEqual(chunks(before.loaded), []);
  // On ready: German, and English whole (zxcvbn's advice for English checkers); no other language.
  assert.equal(after.speaks, "de");
  assert.deepEqual(after.first, { id: "minLength", params: { n: 15 }, message: "Mindestens 15 Zeichen" });
  assert.deepEqual(chunks(after.loaded).sort(), ["de", "en"]);
  assert.deepEqual(problems, []);
});

test("a plain HTML page imports the installed package with an import map, no bundler", async () => {
  const { page, problems } = await openPage(browser, `${plainServer.url}plain/`);
  await page.waitForFunction(() => document.querySelector("#out").textContent === "done", null, { timeout: 30_000 });
  const read = async (name) => JSON.parse(await page.getAttribute("#out", `data-${name}`));
  const before = await read("before");
  assert.equal(before.pending, true);
  assert.equal(before.score, null);
  assert.deepEqual(await read("after"), { pending: false, score: 4, ok: true });
  const deBefore = await read("de-before");
  const deAfter = await read("de-after");
  assert.equal(deBefore.speaks, "en");
  assert.deepEqual(deAfter.first, { id: "minLength", params: { n: 15 }, message: "Mindestens 15 Zeichen" });
  // The files as published: the rules wasm at once, catalogs of de and en only.
  assert.ok(deBefore.loaded.includes("portcullis_rules_bg.wasm"), deBefore.loaded.join(" "));
  const catalogs = deAfter.loaded.filter((f) => /^[a-z]{2}\.js$/.test(f)).sort();
  assert.deepEqual(catalogs, ["de.js", "en.js"]);
  assert.deepEqual(problems, []);
});
