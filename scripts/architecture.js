// Prints the shape of the Rust code: each crate's module dependencies
// (what may import what), its largest files and functions. The same
// reading tests/architecture.test.js checks.
//   node scripts/architecture.js [--top=10]
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { cycles, readCrate } from "../tests/support/rust-source.js";
import { root } from "../tests/support/package.js";

const top = Number(process.argv.find((a) => a.startsWith("--top="))?.split("=")[1] ?? 10);
for (const name of ["core", "edge"]) {
  const crate = readCrate(join(root, "crates", name, "src"));
  console.log(`\n## ${name}: ${crate.modules.size} modules, cycles: ${JSON.stringify(cycles(crate.deps))}`);
  for (const [module, deps] of [...crate.deps].sort()) {
    console.log(`  ${module} -> ${[...deps].sort().join(", ") || "(nothing)"}`);
  }
  const files = [...crate.modules.values()]
    .map(({ file }) => ({ file: relative(root, file), lines: readFileSync(file, "utf8").split("\n").length }))
    .sort((a, b) => b.lines - a.lines)
    .slice(0, top);
  console.log(`  largest files: ${files.map((f) => `${f.file} ${f.lines}`).join(", ")}`);
  const functions = [...crate.functions].sort((a, b) => b.lines - a.lines).slice(0, top);
  console.log(`  largest functions: ${functions.map((f) => `${f.module}::${f.name} ${f.lines}`).join(", ")}`);
}
