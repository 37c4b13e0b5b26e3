// Installs the packed npm package into a throw-away project under
// tests/.tmp/app the way a user would: published to a loopback registry,
// then `npm install portcullis@x.y.z` from it; and imports it by its name, so the tests exercise the
// published file list and the conditional exports, not the source tree.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const tmp = join(root, "tests", ".tmp");
export const app = join(tmp, "app");

/**
 * Packs pkg/ (its prepack reuses pkg/dist when the stamp matches), publishes
 * the tarball to a loopback registry and installs it from there by name into
 * tests/.tmp/app (once per run; other apps may `installInto` it too).
 */
export async function installPackage({ force = false } = {}) {
  const installed = join(app, "node_modules", "portcullis", "package.json");
  if (!force && existsSync(installed)) return app;
  await installInto(app, { name: "portcullis-test-app", private: true, type: "module" });
  writeFileSync(join(app, "entry.mjs"), 'export * from "portcullis";\n');
  return app;
}

/** The packed tarball in tests/.tmp (packed once per run). */
export function packedTarball() {
  mkdirSync(tmp, { recursive: true });
  let tarball = readdirSync(tmp).find((f) => f.startsWith("portcullis-") && f.endsWith(".tgz"));
  if (!tarball) {
    execFileSync("npm", ["pack", "--pack-destination", tmp, "--no-audit", "--no-fund", "--loglevel=error"], { cwd: join(root, "pkg"), stdio: "pipe" });
    tarball = readdirSync(tmp).find((f) => f.startsWith("portcullis-") && f.endsWith(".tgz"));
  }
  return join(tmp, tarball);
}

/**
 * A fresh project in `dir` (package.json `manifest`) with `portcullis`
 * installed from a loopback registry the tarball was published to.
 */
export async function installInto(dir, manifest) {
  const tarball = packedTarball();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest));
  const { startRegistry } = await import("./registry.js");
  const registry = await startRegistry();
  try {
    await registry.publish(tarball);
    const { version } = JSON.parse(readFileSync(join(root, "pkg", "package.json"), "utf8"));
    await registry.install([`portcullis@${version}`], dir);
  } finally {
    await registry.close();
  }
  return dir;
}

/** The package as a user imports it: `import { PasswordChecker } from "portcullis"`. */
export async function importPackage() {
  await installPackage();
  return import(pathToFileURL(join(app, "entry.mjs")).href);
}
