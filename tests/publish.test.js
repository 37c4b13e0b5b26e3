// The package as published: `npm pack` in pkg/ gives a tarball with both
// wasm modules, the license texts and the changelog; a loopback registry
// takes it and serves its repository and homepage; prepack reuses pkg/dist
// when its stamp matches the sources, and without the toolchain stops with
// a message naming what is missing (run from a copy of the sources, so the
// real pkg/dist is never touched).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { packedTarball, root } from "./support/package.js";
import { startRegistry } from "./support/registry.js";

test("the tarball holds the wasm, both licenses and the changelog", () => {
  const files = execFileSync("tar", ["-tzf", packedTarball()], { encoding: "utf8" }).split("\n").filter(Boolean);
  for (const f of [
    "package/dist/rules/portcullis_rules_bg.wasm",
    "package/dist/full/portcullis_full_bg.wasm",
    "package/src/workerd.js",
    "package/LICENSE-MIT",
    "package/LICENSE-APACHE",
    "package/CHANGELOG.md",
    "package/README.md",
  ]) {
    assert.ok(files.includes(f), `${f} in ${files.join(", ")}`);
  }
  assert.ok(!files.some((f) => f.includes(".stamp")), "the build stamp stays home");
  const apache = execFileSync("tar", ["-xzOf", packedTarball(), "package/LICENSE-APACHE"], { encoding: "utf8" });
  assert.match(apache, /Apache License\s+Version 2\.0/);
  assert.match(apache, /END OF TERMS AND CONDITIONS/, "the whole text");
});

test("a registry takes the tarball and serves its repository and homepage", async () => {
  const registry = await startRegistry();
  try {
    await registry.publish(packedTarball());
    const doc = await registry.view("portcullis");
    const latest = doc.versions[doc["dist-tags"].latest];
    assert.equal(latest.license, "MIT OR Apache-2.0");
    assert.match(latest.repository.url, /portcullis/);
    assert.equal(latest.repository.directory, "pkg");
    assert.match(latest.homepage, /^https:\/\//);
    assert.ok(latest.exports["."].workerd, "the workerd condition");
    // A second publish of the same version is refused, as npmjs.com does.
    await assert.rejects(registry.publish(packedTarball()));
  } finally {
    await registry.close();
  }
});

/** A copy of what prepack reads, with pkg/dist as `dist` says; runs prepack there with `path` as PATH. */
function prepackIn({ dist, path }) {
  const copy = mkdtempSync(join(tmpdir(), "portcullis-prepack-"));
  try {
    for (const f of ["Cargo.lock", "Cargo.toml", "rust-toolchain.toml", "scripts/build-pkg.sh", "scripts/build-locales.mjs", "scripts/pkg-stamp.mjs", "crates/core", "crates/browser"]) {
      cpSync(join(root, f), join(copy, f), { recursive: true });
    }
    mkdirSync(join(copy, "pkg", "dist"), { recursive: true });
    if (dist) {
      cpSync(join(root, "pkg", "dist"), join(copy, "pkg", "dist"), { recursive: true });
      if (dist === "stale") writeFileSync(join(copy, "crates", "core", "src", "stale.rs"), "// a changed source\n");
    }
    return spawnSync(process.execPath, [join(copy, "scripts", "pkg-stamp.mjs"), "prepack"], {
      cwd: join(copy, "pkg"),
      encoding: "utf8",
      env: { ...process.env, PATH: path },
    });
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

test("prepack reuses a build whose stamp matches, and names what is missing when it cannot build", () => {
  const noTools = "/usr/bin:/bin";
  let r = prepackIn({ dist: "current", path: noTools });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /matches its sources \(stamp\); reusing it/);
  r = prepackIn({ dist: "stale", path: noTools });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /older than its sources, and this machine cannot build it/);
  assert.match(r.stderr, /wasm-bindgen-cli \d+\.\d+\.\d+/);
  assert.match(r.stderr, /bash scripts\/setup\.sh/);
  r = prepackIn({ dist: null, path: noTools });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /pkg\/dist is not built/);
});
