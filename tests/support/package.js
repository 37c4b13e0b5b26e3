// Installs the packed npm package into a throw-away project under
// tests/.tmp/app, the way a user would (`npm install portcullis-x.y.z.tgz`),
// and imports it from there by its name, so the tests exercise the
// published file list and the conditional exports, not the source tree.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const tmp = join(root, "tests", ".tmp");
export const app = join(tmp, "app");

/** Packs pkg/ and installs the tarball into tests/.tmp/app (once per run). */
export function installPackage({ force = false } = {}) {
  const installed = join(app, "node_modules", "portcullis", "package.json");
  if (!force && existsSync(installed)) return app;
  if (!existsSync(join(root, "pkg", "dist", "rules", "portcullis_rules_bg.wasm"))) {
    throw new Error("pkg/dist is not built: run `bash scripts/build-pkg.sh` first");
  }
  rmSync(app, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  for (const f of readdirSync(tmp)) if (f.endsWith(".tgz")) rmSync(join(tmp, f));
  const npmQuiet = ["--no-audit", "--no-fund", "--loglevel=error"];
  execFileSync("npm", ["pack", "--pack-destination", tmp, ...npmQuiet], { cwd: join(root, "pkg"), stdio: "pipe" });
  const tarball = readdirSync(tmp).find((f) => f.startsWith("portcullis-") && f.endsWith(".tgz"));
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "portcullis-test-app", private: true, type: "module" }));
  writeFileSync(join(app, "entry.mjs"), 'export * from "portcullis";\n');
  execFileSync("npm", ["install", join(tmp, tarball), ...npmQuiet], { cwd: app, stdio: "pipe" });
  return app;
}

/** The package as a user imports it: `import { PasswordChecker } from "portcullis"`. */
export async function importPackage() {
  installPackage();
  return import(pathToFileURL(join(app, "entry.mjs")).href);
}
