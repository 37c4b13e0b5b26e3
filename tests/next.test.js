// The package in a Next.js App Router app, as a frontend developer builds
// one: portcullis installed from the loopback registry, Next.js and React
// from npm (pinned in package.json). A client page shows <PasswordMeter>,
// and a route handler checks the password server-side and answers the
// failed rule ids. The app is built with `next build` and served by
// `next start` on loopback, then driven in headless Chromium.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchBrowser, openPage } from "./support/browser.js";
import { freePort } from "./support/origins.js";
import { installInto, root, tmp } from "./support/package.js";

const site = join(tmp, "next-app");
const next = join(root, "node_modules", "next", "dist", "bin", "next");
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" };

const FILES = {
  // No setting: Turbopack bundles the package for the route handler too.
  "next.config.mjs": `export default {};\n`,
  "app/layout.jsx": `
export const metadata = { title: "signup" };
export default function RootLayout({ children }) {
  return <html lang="en"><body>{children}</body></html>;
}
`,
  "app/page.jsx": `"use client";
import { useEffect, useState } from "react";
import { PasswordMeter } from "portcullis/react";

export default function Signup() {
  const [checker, setChecker] = useState(null);
  const [password, setPassword] = useState("");
  const [server, setServer] = useState(null);
  // The checker loads in the browser only: prerendering has no wasm to run.
  useEffect(() => {
    import("portcullis").then(({ PasswordChecker }) => setChecker(PasswordChecker.fromPreset("owasp-asvs-l2")));
  }, []);
  async function submit(event) {
    event.preventDefault();
    const response = await fetch("/api/check", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ password, username: "alice" }) });
    setServer(JSON.stringify(await response.json()));
  }
  return (
    <form onSubmit={submit}>
      <label htmlFor="password">Password</label>
      <input id="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} />
      <PasswordMeter checker={checker} password={password} user={{ username: "alice" }} debounceMs={300} />
      <button type="submit">Sign up</button>
      <output id="server">{server}</output>
    </form>
  );
}
`,
  "app/api/check/route.js": `import { PasswordChecker } from "portcullis";

const checker = PasswordChecker.fromPreset("owasp-asvs-l2").ready;

export async function POST(request) {
  const { password, username } = await request.json();
  if (typeof password !== "string") return Response.json({ error: "password must be a string" }, { status: 400 });
  const result = (await checker).check(password, { username });
  return Response.json({ ok: result.ok, score: result.score, failed: result.rules.filter((r) => !r.ok).map((r) => r.id) });
}
`,
};

let browser;
let server;
let url;
before(async () => {
  await installInto(site, { name: "portcullis-next-app", private: true });
  for (const [file, text] of Object.entries(FILES)) {
    mkdirSync(join(site, file, ".."), { recursive: true });
    writeFileSync(join(site, file), text);
  }
  const built = spawnSync(process.execPath, [next, "build"], { cwd: site, env, encoding: "utf8", timeout: 600_000 });
  assert.equal(built.status, 0, `next build failed:\n${built.stdout}${built.stderr}`);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, [next, "start", "-H", "127.0.0.1", "-p", String(port)], { cwd: site, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  server.stdout.on("data", (d) => (output += d));
  server.stderr.on("data", (d) => (output += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      // not listening yet
    }
    assert.ok(Date.now() < deadline && server.exitCode === null, `next start did not come up:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
  }
});

test("the route handler checks passwords server-side and answers the failed rule ids", async () => {
  const check = async (password) => {
    const r = await fetch(`${url}/api/check`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ password, username: "alice" }) });
    assert.equal(r.status, 200);
    return r.json();
  };
  const weak = await check("alice123");
  assert.equal(weak.ok, false);
  assert.ok(weak.failed.includes("userInfo"), JSON.stringify(weak));
  assert.ok(weak.failed.includes("minLength"), JSON.stringify(weak));
  const strong = await check("vQ3#nT8!zKp2@wLm orbit");
  assert.deepEqual(strong, { ok: true, score: 4, failed: [] });
  const bad = await fetch(`${url}/api/check`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ password: 42 }) });
  assert.equal(bad.status, 400);
});

test("the client page shows the meter in Chromium, and the server agrees", async () => {
  const { page, problems } = await openPage(browser, url);
  try {
    await page.waitForSelector('li[data-rule="minLength"][data-status="fail"]', { timeout: 30_000 });
    await page.fill("#password", "alice-pass");
    await page.waitForSelector('li[data-rule="userInfo"][data-status="fail"]');
    await page.click('button[type="submit"]');
    await page.waitForFunction(() => document.querySelector("#server").textContent !== "");
    const server = JSON.parse(await page.textContent("#server"));
    assert.ok(server.failed.includes("userInfo"));
    const failedInPage = await page.$$eval('li[data-status="fail"]', (items) => items.map((li) => li.dataset.rule));
    for (const id of server.failed) assert.ok(failedInPage.includes(id) || id === "minScore" || id === "blocklist", `${id} in ${failedInPage}`);
    await page.fill("#password", "vQ3#nT8!zKp2@wLm orbit");
    await page.waitForFunction(() => document.querySelector('[role="meter"]').getAttribute("aria-valuenow") === "4", null, { timeout: 30_000 });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
