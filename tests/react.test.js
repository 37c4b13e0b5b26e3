// `portcullis/react` in a Vite React app, as a frontend developer builds
// one: portcullis installed from the loopback registry, React from npm, a
// controlled password field with <PasswordMeter>. The same app runs built
// (`vite build`, served as static files) and under Vite's dev server, in
// headless Chromium: the checklist answers at once, the estimator loads on
// typing, `role="meter"` carries the score, and the live region speaks only
// once typing pauses.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { launchBrowser, openPage, serveDirectory } from "./support/browser.js";
import { installInto, root, tmp } from "./support/package.js";

const site = join(tmp, "react-app");
const vite = join(root, "node_modules", "vite", "bin", "vite.js");

const MAIN = `
import { useState } from "react";
import { createRoot } from "react-dom/client";
import { PasswordChecker } from "portcullis";
import { PasswordMeter } from "portcullis/react";

const checker = PasswordChecker.fromPreset("owasp-asvs-l2");

function Signup() {
  const [password, setPassword] = useState("");
  return (
    <form>
      <label htmlFor="password">Password</label>
      <input id="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} />
      <PasswordMeter checker={checker} password={password} user={{ username: "alice" }} debounceMs={1500} />
    </form>
  );
}

createRoot(document.getElementById("root")).render(<Signup />);
document.body.dataset.mounted = "true";
`;

// No optimizeDeps setting: Vite 8's dev server serves the package's
// \`new URL("….wasm", import.meta.url)\` as it is (pkg/README.md).
const CONFIG = `export default {};\n`;

let browser;
before(async () => {
  await installInto(site, { name: "portcullis-react-app", private: true, type: "module" });
  writeFileSync(join(site, "index.html"), '<!doctype html><meta charset="utf-8"><title>signup</title><div id="root"></div><script type="module" src="./main.jsx"></script>\n');
  writeFileSync(join(site, "main.jsx"), MAIN);
  writeFileSync(join(site, "vite.config.js"), CONFIG);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** The meter's state in the page. */
const meterState = (page) =>
  page.evaluate(() => {
    const meter = document.querySelector('[role="meter"]');
    return {
      now: meter.getAttribute("aria-valuenow"),
      text: meter.getAttribute("aria-valuetext"),
      score: meter.dataset.score,
      rules: Object.fromEntries([...document.querySelectorAll("li[data-rule]")].map((li) => [li.dataset.rule, li.dataset.status])),
      live: document.querySelector('[role="status"]').textContent,
      liveAttr: document.querySelector('[role="status"]').getAttribute("aria-live"),
    };
  });

async function exercise(url) {
  const { page, problems } = await openPage(browser, url);
  try {
    await page.waitForSelector('li[data-rule="minLength"]');
    let s = await meterState(page);
    assert.equal(s.liveAttr, "polite");
    assert.equal(s.rules.minLength, "fail", "the checklist answers before anything is typed");
    assert.equal(s.text, "Not rated yet");
    assert.equal(s.live, "");
    await page.fill("#password", "alice");
    await page.waitForFunction(() => document.querySelector('li[data-rule="blocklist"]')?.dataset.status !== "pending");
    s = await meterState(page);
    assert.equal(s.rules.userInfo, "fail", "the user's own name");
    assert.equal(s.score, "0");
    await page.waitForFunction(() => document.querySelector('[role="status"]').textContent !== "");
    assert.match((await meterState(page)).live, /of \d+ requirements met/);
    await page.fill("#password", "velvet-Orbit-lantern-quiet-52");
    s = await meterState(page);
    assert.match(s.live, /of \d+ requirements met/, "the live region waits for typing to pause");
    assert.ok(Object.values(s.rules).every((st) => st === "pass" || st === "skipped"), JSON.stringify(s.rules));
    assert.equal(s.now, "4");
    assert.equal(s.text, "Very strong");
    await page.waitForFunction(() => document.querySelector('[role="status"]').textContent === "All requirements met");
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
}

describe("a Vite React app", () => {
  test("built with vite build", async () => {
    const built = spawnSync(process.execPath, [vite, "build", "--logLevel", "warn", "--outDir", join(site, "dist"), "--emptyOutDir"], { cwd: site, encoding: "utf8" });
    assert.equal(built.status, 0, `vite build failed:\n${built.stdout}${built.stderr}`);
    const server = await serveDirectory(join(site, "dist"));
    try {
      await exercise(server.url);
    } finally {
      await server.close();
    }
  });

  test("under Vite's dev server", async () => {
    const { createServer } = await import("vite");
    const server = await createServer({ root: site, configFile: join(site, "vite.config.js"), logLevel: "warn", server: { host: "127.0.0.1", port: 0, strictPort: false } });
    await server.listen();
    try {
      const address = server.httpServer.address();
      await exercise(`http://127.0.0.1:${address.port}/`);
    } finally {
      await server.close();
    }
  });
});
