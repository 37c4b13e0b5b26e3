// The Worker's entry point as a plain module handler.
//
//   node scripts/worker-entry.mjs crates/edge/build/index.js
//
// worker-build (0.8.7: the worker crate's version in Cargo.lock, which
// scripts/setup.sh installs) exports the fetch handler as a
// WorkerEntrypoint class behind two Proxies (its panic recovery): the
// runtime constructs the class, its Proxy and a Proxy of the method on
// every request, and awaits the answer once more. On the
// hot path that was about 7% of the Worker's CPU (a V8 profile of
// bench/edge.js's load). This rewrites the bundle's default export into
// `{ fetch(request, env, ctx) }`, which calls the same wasm export with the
// same recovery: a wasm trap (thrown, or rejecting the answer) marks the
// instance for reinitialisation before the next request, as the shim does.
// The Durable Object classes are left as worker-build exports them.
//
// The bundle is minified, so the names are found by the shapes
// worker-build 0.8.7 emits; a shape not found exactly once stops the build
// (a newer worker-build needs this script looked at again).

import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: node scripts/worker-entry.mjs <bundle.js>");
  process.exit(2);
}
const source = readFileSync(file, "utf8");
const id = "[A-Za-z_$][\\w$]*";

/** The one match of `re` in the bundle; stops the build otherwise. */
function one(re, what) {
  const all = [...source.matchAll(new RegExp(re, "g"))];
  if (all.length !== 1) {
    console.error(`scripts/worker-entry.mjs: ${what}: found ${all.length} times, expected once (is worker-build still 0.8.7?)`);
    process.exit(1);
  }
  return all[0];
}

if (source.includes("portcullis: plain module handler")) {
  console.log(`${file}: already a plain module handler`);
  process.exit(0);
}
const exported = one(`export\\{[^}]*\\b(${id}) as default\\}`, "the default export")[1];
const proxied = one(`\\b${exported.replace(/\$/g, "\\$")}=new Proxy\\((${id}),(${id})\\)`, "the default export's Proxy");
const klass = proxied[1];
const fetch = one(`\\b${klass.replace(/\$/g, "\\$")}\\.prototype\\.fetch=function\\((${id})\\)\\{return (${id})\\.call\\(this,\\1,this\\.env,this\\.ctx\\)\\}`, "the fetch method")[2];
const recovery = one(`apply\\((${id}),(${id}),(${id})\\)\\{(${id})\\(\\);try\\{return \\1\\.apply\\(\\2,\\3\\)\\}catch\\((${id})\\)\\{throw (${id})\\(\\5\\),\\5\\}\\}`, "the panic recovery");
const [reinit, critical] = [recovery[4], recovery[6]];

const handler = `${exported}={fetch(r,e,c){/* portcullis: plain module handler */${reinit}();` +
  `try{const a=${fetch}(r,e,c);return a instanceof Promise?a.catch(m=>{throw ${critical}(m),m}):a}` +
  `catch(m){throw ${critical}(m),m}}}`;
writeFileSync(file, source.replace(proxied[0], handler));
console.log(`${file}: default export is a plain module handler (fetch ${fetch}, recovery ${reinit}/${critical})`);
