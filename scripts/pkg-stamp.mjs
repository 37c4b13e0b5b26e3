// The npm package's build stamp: a SHA-256 over every file its wasm is built
// from (core, the browser crate, the lock file, the toolchain pin and the
// build script), kept in pkg/dist/.stamp.
//   node scripts/pkg-stamp.mjs write     after a build (scripts/build-pkg.sh)
//   node scripts/pkg-stamp.mjs prepack   pkg/'s prepack: reuses pkg/dist when
//                                        the stamp matches, else builds it, or
//                                        stops with what is missing
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const stampFile = join(root, "pkg", "dist", ".stamp");
const SOURCES = ["Cargo.lock", "Cargo.toml", "rust-toolchain.toml", "scripts/build-pkg.sh", "scripts/build-locales.mjs", "crates/core", "crates/browser"];
const OUTPUTS = ["rules/portcullis_rules_bg.wasm", "rules/portcullis_rules.js", "full/portcullis_full_bg.wasm", "full/portcullis_full.js"];

function files(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    // Tests and proptest's regressions do not reach the wasm.
    .filter((name) => !["target", "tests", "proptest-regressions"].includes(name) && !name.startsWith("."))
    .sort()
    .flatMap((name) => files(join(path, name)));
}

/** The hash of the sources, with each file's path, in a fixed order. */
export function sourceHash() {
  const hash = createHash("sha256");
  for (const file of SOURCES.flatMap((s) => files(join(root, s)))) {
    hash.update(relative(root, file).replaceAll("\\", "/") + "\0");
    hash.update(readFileSync(file));
    hash.update("\0");
  }
  return hash.digest("hex");
}

function built() {
  return OUTPUTS.every((f) => existsSync(join(root, "pkg", "dist", f)));
}

/** What the build needs that this machine lacks (empty: it can build). */
function missingTools() {
  const missing = [];
  const run = (cmd, args) => spawnSync(cmd, args, { encoding: "utf8" });
  if (run("cargo", ["--version"]).status !== 0) missing.push("cargo (Rust, https://rustup.rs)");
  const targets = run("rustup", ["target", "list", "--installed"]);
  if (targets.status === 0 && !targets.stdout.split("\n").includes("wasm32-unknown-unknown")) {
    missing.push("the wasm32-unknown-unknown target (rustup target add wasm32-unknown-unknown)");
  }
  const lock = readFileSync(join(root, "Cargo.lock"), "utf8");
  const wanted = lock.match(/name = "wasm-bindgen"\nversion = "([^"]+)"/)?.[1];
  const have = run("wasm-bindgen", ["--version"]);
  if (have.status !== 0 || !have.stdout.includes(wanted)) {
    missing.push(`wasm-bindgen-cli ${wanted} (cargo install wasm-bindgen-cli --version ${wanted})`);
  }
  if (!process.env.WASM_OPT_BIN && !existsSync(join(root, "node_modules", ".bin", "wasm-opt"))) {
    missing.push("binaryen's wasm-opt (npm ci in the repository root)");
  }
  return missing;
}

const command = process.argv[2];
if (command === "write") {
  writeFileSync(stampFile, sourceHash() + "\n");
} else if (command === "prepack") {
  const stamp = existsSync(stampFile) ? readFileSync(stampFile, "utf8").trim() : "";
  if (built() && stamp === sourceHash()) {
    console.error("portcullis prepack: pkg/dist matches its sources (stamp); reusing it");
  } else {
    const missing = missingTools();
    if (missing.length > 0) {
      console.error(
        `portcullis prepack: pkg/dist is ${built() ? "older than its sources" : "not built"}, and this machine cannot build it.\n` +
          `Missing: ${missing.join("; ")}.\nbash scripts/setup.sh installs them all.`,
      );
      process.exit(1);
    }
    console.error("portcullis prepack: building pkg/dist (bash scripts/build-pkg.sh)");
    execFileSync("bash", [join(root, "scripts", "build-pkg.sh")], { stdio: "inherit" });
  }
} else {
  console.error("usage: node scripts/pkg-stamp.mjs write|prepack");
  process.exit(2);
}
