// Screenshots of the Security settings console for the README
// (docs/console-*.png): the real edge on workerd in front of the demo
// origin, a few failed logins, a lockout and a ban so the lists and the
// chart have something to show, then headless Chromium.
//
//   node scripts/screenshots.js        (after bash scripts/build-edge.sh)
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer } from "../www/server.js";
import { launchBrowser, openPage } from "../tests/support/browser.js";
import { APP_KEY, startEdge } from "../tests/support/edge.js";
import { root } from "../tests/support/package.js";

const out = join(root, "docs");
mkdirSync(out, { recursive: true });
const origin = await startServer({ port: 0 });
const edge = await startEdge({ origin, policy: { bans: { warningsBeforeBan: 3 } } });
const browser = await launchBrowser();
try {
  for (let i = 0; i < 7; i++) {
    const r = await edge.request("/login", {
      ip: `198.51.100.${1 + (i % 2)}`,
      method: "POST",
      body: `username=${i < 5 ? "mallory" : "trudy"}&password=guess${i}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    await r.arrayBuffer();
  }
  const ban = await edge.admin("/bans", { method: "POST", body: JSON.stringify({ target: "203.0.113.0/24", seconds: 86400, scope: "writes" }) });
  await ban.arrayBuffer();
  const { page } = await openPage(browser, new URL("/__portcullis/console/", edge.url).href);
  await page.setViewportSize({ width: 1100, height: 1000 });
  await page.fill("#app-key", APP_KEY);
  await page.click("#signin-submit");
  await page.waitForSelector("body[data-state=signed-in]");
  // A whole section, or the panel that shows its list.
  const shots = [
    ["passwords", "#tab-passwords", null],
    ["bans", "#tab-bans", "#bans-panel"],
    ["locked", "#tab-login", "#locked-panel"],
    ["audit", "#tab-audit", '[data-section="audit"]'],
  ];
  for (const [name, tab, panel] of shots) {
    await page.click(tab);
    await page.waitForTimeout(300);
    const path = join(out, `console-${name}.png`);
    if (panel) await page.locator(panel).screenshot({ path });
    else await page.screenshot({ path });
    console.log(`wrote docs/console-${name}.png`);
  }
} finally {
  await browser.close();
  await edge.dispose();
  await origin.close();
}
