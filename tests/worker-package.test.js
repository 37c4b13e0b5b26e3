// The package in a Cloudflare Worker, as a user builds one: an app that
// depends on portcullis (published to and installed from the loopback
// registry) is bundled by wrangler itself (`wrangler deploy --dry-run
// --outdir`), which picks the package's "workerd" export and uploads its
// .wasm files as modules; the bundle runs on workerd (Miniflare) and checks
// passwords server-side, estimator included. The Worker is pkg/README.md's
// own example.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Miniflare } from "miniflare";
import { installInto, root, tmp } from "./support/package.js";

const dir = join(tmp, "worker-app");
let mf;
let url;
let bundle;

/** The Worker example from pkg/README.md (the block after "Check passwords server-side"). */
function readmeWorker() {
  const readme = readFileSync(join(root, "pkg", "README.md"), "utf8");
  const block = readme.split("Check passwords server-side")[1]?.match(/```js\n([\s\S]*?)```/)?.[1];
  assert.ok(block, "pkg/README.md shows the Worker example");
  return block.replace(/^ {2}/gm, "");
}

before(async () => {
  await installInto(dir, { name: "portcullis-worker-app", private: true, type: "module" });
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "src", "index.js"), readmeWorker());
  writeFileSync(join(dir, "wrangler.toml"), 'name = "portcullis-worker-app"\nmain = "src/index.js"\ncompatibility_date = "2026-08-01"\n');
  // The project's wrangler, with a Node it accepts (scripts/wrangler.sh).
  const built = spawnSync("bash", [join(root, "scripts", "wrangler.sh"), "deploy", "--dry-run", "--config", join(dir, "wrangler.toml"), "--outdir", join(dir, "dist")], {
    encoding: "utf8",
    env: { ...process.env, CI: "1" },
    timeout: 300_000,
  });
  assert.equal(built.status, 0, `wrangler's bundling failed:\n${built.stdout}\n${built.stderr}`);
  bundle = readdirSync(join(dir, "dist"));
  mf = new Miniflare({
    modules: true,
    scriptPath: join(dir, "dist", "index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-08-01",
  });
  url = await mf.ready;
});
after(async () => {
  await mf?.dispose();
});

const check = async (password) => {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ password }) });
  return { status: r.status, body: await r.json() };
};

test("wrangler bundles the workerd entry: both wasm modules uploaded as modules", () => {
  assert.equal(bundle.filter((f) => f.endsWith(".wasm")).length, 2, bundle.join(", "));
  const js = readFileSync(join(dir, "dist", "index.js"), "utf8");
  for (const name of ["portcullis_rules_bg.wasm", "portcullis_full_bg.wasm"]) {
    assert.match(js, new RegExp(`import \\w+ from "\\./[0-9a-f]+-${name.replace(".", "\\.")}"`), `the workerd entry imports ${name} as a module`);
  }
});

test("the Worker checks passwords server-side with the estimator, and names the failed rules", async () => {
  let r = await check("password1");
  assert.equal(r.status, 422);
  assert.ok(r.body.failed.includes("minLength"), JSON.stringify(r.body));
  assert.ok(r.body.failed.includes("blocklist"), `the estimator's common-password list ran: ${JSON.stringify(r.body)}`);
  r = await check("velvet-Orbit-lantern-quiet-52");
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { ok: true, failed: [] });
});
