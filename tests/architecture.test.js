// The shape of the Rust code, as the structure issue asks for it: no
// import cycles in core or the edge, no function over 80 lines, the edge's
// Durable Objects reaching each other only through their clients, and the
// edge's request path one driver over core's step machine.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { cycles, readCrate } from "./support/rust-source.js";
import { root } from "./support/package.js";

const core = readCrate(join(root, "crates", "core", "src"));
const edge = readCrate(join(root, "crates", "edge", "src"));

test("core and the edge have no import cycles", () => {
  assert.deepEqual(cycles(core.deps), [], "core");
  assert.deepEqual(cycles(edge.deps), [], "edge");
});

test("no module reaches a name through the crate root", () => {
  for (const [name, crate] of [["core", core], ["edge", edge]]) {
    const offenders = [...crate.deps].filter(([m, d]) => m !== "crate" && d.has("crate")).map(([m]) => m);
    assert.deepEqual(offenders, [], `${name}: modules using crate::Name instead of crate::module::Name`);
  }
});

test("no function is longer than 80 lines", () => {
  const long = [...core.functions, ...edge.functions]
    .filter((f) => f.lines > 80)
    .map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`);
  assert.deepEqual(long, []);
});

test("objects import only each other's clients", () => {
  const objectOf = (m) => m.match(/^objects::(\w+)/)?.[1];
  const wrong = [];
  for (const [module, deps] of edge.deps) {
    const own = objectOf(module);
    if (!own || !edge.modules.has(`objects::${own}::client`)) continue;
    for (const dep of deps) {
      const other = objectOf(dep);
      if (other && other !== own && edge.modules.has(`objects::${other}::client`) && dep !== `objects::${other}::client`) {
        wrong.push(`${module} -> ${dep}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test("the edge's request path is one driver over core's machine", () => {
  const users = [...edge.modules].filter(([, { code }]) => /\bMachine::/.test(code)).map(([m]) => m);
  assert.deepEqual(users, ["driver"]);
  // The edge makes no security decision of its own: no policy matches.
  const deciding = [...edge.modules]
    .filter(([, { code }]) => /\b(decide_access|session_state|xsrf_decision|check_upload|PasswordChecker)\b/.test(code))
    .map(([m]) => m);
  assert.deepEqual(deciding, []);
});
