// Reads the workspace's Rust sources the way a reviewer would: which module
// refers to which (`crate::…`, `super::…`, a child module by name), and how
// long each function is. Test code (`#[cfg(test)]` modules) is left out.
// Used by tests/architecture.test.js and printed by `node scripts/architecture.js`.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";

/** Every `.rs` file under `dir`, recursively. */
function rustFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...rustFiles(full));
    // `tests.rs` files are test modules of their parent.
    else if (name.endsWith(".rs") && name !== "tests.rs") out.push(full);
  }
  return out;
}

/** The module path of a source file: `src/a/b.rs` → `a::b`, `src/a/mod.rs` → `a`, `src/lib.rs` → `crate`. */
function modulePath(src, file) {
  const parts = relative(src, file).replace(/\.rs$/, "").split(sep);
  if (parts.at(-1) === "mod") parts.pop();
  if (parts.length === 1 && parts[0] === "lib") return "crate";
  return parts.join("::");
}

/** The source without comments, string literals and test modules. */
function codeOf(text) {
  const lines = text.split("\n");
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    // A test module runs to the end of the file by convention here.
    if (/^\s*#\[cfg\((?:test|all\(test\b.*)\)\]/.test(lines[i]) && /^\s*(pub(\(\w+\))? )?mod \w+/.test(lines[i + 1] ?? "")) break;
    out.push(lines[i]);
  }
  return out
    .join("\n")
    .replace(/r#"[\s\S]*?"#/g, '""')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/'(?:[^'\\]|\\.)'/g, "' '")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "");
}

/** The spans of inline modules (`mod x { … }`) in `code`. */
function inlineModules(code) {
  const spans = [];
  for (const m of code.matchAll(/\bmod\s+\w+\s*\{/g)) {
    let depth = 0;
    for (let i = m.index + m[0].length - 1; i < code.length; i++) {
      if (code[i] === "{") depth++;
      if (code[i] === "}" && --depth === 0) {
        spans.push([m.index, i]);
        break;
      }
    }
  }
  return spans;
}

/** `use a::{b, c::{d, e}};` spelled out as `a::b`, `a::c::d`, `a::c::e`. */
function expandUses(code, skip = () => false) {
  const out = [];
  for (const m of code.matchAll(/\buse\s+([^;]*);/g)) {
    if (skip(m.index)) continue;
    const expand = (prefix, text) => {
      let depth = 0;
      let start = 0;
      const items = [];
      for (let i = 0; i <= text.length; i++) {
        const ch = text[i];
        if (ch === "{") depth++;
        if (ch === "}") depth--;
        if ((ch === "," && depth === 0) || i === text.length) {
          items.push(text.slice(start, i).trim());
          start = i + 1;
        }
      }
      for (const item of items.filter(Boolean)) {
        const brace = item.indexOf("{");
        if (brace < 0) out.push(prefix + item.replace(/\s+as\s+\w+$/, "").replace(/::self$/, ""));
        else expand(prefix + item.slice(0, brace), item.slice(brace + 1, item.lastIndexOf("}")));
      }
    };
    expand("", m[1].replace(/\s+/g, " "));
  }
  return out.join("\n");
}

/** Resolves `path` (`a::b::Item`) to the longest known module. */
function resolve(modules, path) {
  const parts = path.split("::");
  for (let n = parts.length; n > 0; n--) {
    const candidate = parts.slice(0, n).join("::");
    if (modules.has(candidate)) return candidate;
  }
  return null;
}

/**
 * One crate: `{ modules: Map<module, { file, code }>, deps: Map<module, Set<module>>, functions: [{ module, name, lines, line }] }`.
 * A reference to the crate root (`crate::Name`) counts as a reference to `crate`.
 */
export function readCrate(src) {
  const modules = new Map();
  for (const file of rustFiles(src)) {
    modules.set(modulePath(src, file), { file, code: codeOf(readFileSync(file, "utf8")) });
  }
  const deps = new Map();
  for (const [name, { code }] of modules) {
    const found = new Set();
    const parent = name.includes("::") ? name.split("::").slice(0, -1).join("::") : "crate";
    const children = [...code.matchAll(/^\s*(?:pub(?:\([\w:]+\))?\s+)?mod\s+(\w+)\s*;/gm)].map((m) => m[1]);
    const self = name === "crate" ? "" : `${name}::`;
    const add = (target) => target && target !== name && found.add(target);
    const inline = inlineModules(code);
    const inInline = (i) => inline.some(([from, to]) => i > from && i < to);
    // `super` inside an inline `mod x { … }` is this file's own module.
    const text = `${code}\n${expandUses(code, inInline)}`;
    for (const m of text.matchAll(/\bcrate::((?:\w+::)*\w+)(?!\w|::\{)/g)) add(resolve(modules, m[1]) ?? "crate");
    for (const m of text.matchAll(/\bsuper::((?:\w+::)*\w+)(?!\w|::\{)/g)) {
      // Inside an inline `mod x { … }`, `super` is this file's own module.
      if (m.index < code.length && inline.some(([from, to]) => m.index > from && m.index < to)) continue;
      const base = parent === "crate" ? "" : `${parent}::`;
      add(resolve(modules, base + m[1]) ?? parent);
    }
    for (const child of children) {
      const re = new RegExp(`(?<![\\w:])(?:self::)?${child}::((?:\\w+::)*\\w+)`, "g");
      for (const m of text.matchAll(re)) add(resolve(modules, `${self}${child}::${m[1]}`) ?? `${self}${child}`);
      // `pub use child::…;` and `use child::…` with braces.
      if (new RegExp(`\\buse\\s+(?:self::)?${child}\\b`).test(code)) add(`${self}${child}`);
    }
    deps.set(name, found);
  }
  return { modules, deps, functions: functionsOf(modules) };
}

/** Every function outside test modules, with its length in lines (signature to closing brace). */
function functionsOf(modules) {
  const out = [];
  for (const [module, { file, code }] of modules) {
    const lines = code.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const m = lines[i].match(/^\s*(?:pub(?:\([\w:]+\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)/);
      if (!m) continue;
      let depth = 0;
      let opened = false;
      let j = i;
      for (; j < lines.length; j++) {
        for (const ch of lines[j]) {
          if (ch === "{") { depth++; opened = true; }
          if (ch === "}") depth--;
        }
        if (opened && depth <= 0) break;
        if (!opened && lines[j].trimEnd().endsWith(";")) break;
      }
      out.push({ module, file, name: m[1], line: i + 1, lines: j - i + 1 });
      i = j;
    }
  }
  return out;
}

/** The strongly connected components of `deps` with more than one module (Tarjan). */
export function cycles(deps) {
  let index = 0;
  const stack = [];
  const info = new Map();
  const found = [];
  const visit = (v) => {
    info.set(v, { index, low: index, onStack: true });
    index++;
    stack.push(v);
    for (const w of deps.get(v) ?? []) {
      if (!info.has(w)) {
        visit(w);
        info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
      } else if (info.get(w).onStack) {
        info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
      }
    }
    if (info.get(v).low === info.get(v).index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        info.get(w).onStack = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of deps.keys()) if (!info.has(v)) visit(v);
  return found;
}
