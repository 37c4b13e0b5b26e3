// Writes the message catalogs of core (crates/core/locales/*.json) into the
// npm package as ES modules, one per language, so bundlers split them and a
// page loads only its own; en.rules.js, the English requirements alone, is
// what the first module imports. Called by scripts/build-pkg.sh.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const from = join(root, "crates/core/locales");
const to = join(root, "pkg/dist/locales");
rmSync(to, { recursive: true, force: true });
mkdirSync(to, { recursive: true });
const write = (name, source, doc) =>
  writeFileSync(join(to, name), `// Generated from crates/core/locales/${source} by scripts/build-locales.mjs.\nexport default ${JSON.stringify(doc)};\n`);
for (const file of readdirSync(from).filter((f) => f.endsWith(".json"))) {
  const doc = JSON.parse(readFileSync(join(from, file), "utf8"));
  write(`${doc.locale}.js`, file, doc);
  if (doc.locale === "en") write("en.rules.js", file, { locale: "en", rules: doc.rules });
}
