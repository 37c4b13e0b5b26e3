// TypeScript users get real types: a small .ts file is compiled with
// `tsc --strict` against the installed package's declarations. Lines marked
// @ts-expect-error must fail to type-check, so an `any`-typed package
// (which would accept them) fails this test too. The types of what core
// returns are generated from its Rust types (docs/package-types.schema.json
// → pkg/types.d.ts): the committed file must be what the generator makes,
// and real results must have the shapes the schema gives.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { generate } from "../scripts/build-types.mjs";
import { importPackage, installPackage, root } from "./support/package.js";

const USAGE = `
import { PasswordChecker, type AccountLockedError, type CheckResult, type PasswordRejectedError, type Policy, type PolicyDocument, type PresetName, type PublicPolicy, type Requirement, type RuleId, type RuleStatus } from "portcullis";
import { PasswordMeter, usePasswordCheck } from "portcullis/react";
console.log(PasswordMeter, usePasswordCheck);

const checker: PasswordChecker = PasswordChecker.fromPreset("nist-800-63b", { locale: "cs" });
await checker.ready;
const r: CheckResult = checker.check("hunter2", { username: "bob", email: "b@example.com" });
const ok: boolean = r.ok;
const score: 0 | 1 | 2 | 3 | 4 | null = r.score;
const ids: RuleId[] = r.rules.map((rule) => rule.id);
const statuses: RuleStatus[] = r.rules.map((rule) => rule.status);
const warning: string | undefined = r.feedback?.warning?.message;
const minimum: number | undefined = r.rules[0].params.n;
const display: string | undefined = r.crackTime?.display;
const names: string[] = PasswordChecker.presets();
const fromUrl: Promise<PasswordChecker> = PasswordChecker.fromUrl("http://127.0.0.1/__portcullis/policy");
const fromPolicy = PasswordChecker.fromPolicy({ version: 1, passwords: { minLength: 12 } });
const generated: string = fromPolicy.generate();
const first: string = fromPolicy.requirements()[0].message;
console.log(ok, score, ids, statuses, warning, minimum, display, names, fromUrl, generated, first);

// @ts-expect-error: not a preset name
PasswordChecker.fromPreset("nist");
// @ts-expect-error: passwords are strings
checker.check(12345);
// Any BCP 47 tag is accepted (it falls back), and the result is a known locale.
const german: "en" | "cs" | "de" | "fr" | "es" | "pl" | "sk" = PasswordChecker.fromPreset("etendo", { locale: "de-AT" }).locale;
const aborted: Promise<PasswordChecker> = PasswordChecker.fromUrl("http://127.0.0.1/", { signal: AbortSignal.timeout(1000) });
console.log(german, aborted);
// The edge's error bodies are typed.
const rejected: PasswordRejectedError = { error: "password_rejected", message: "…", rules: ["minLength", "history"] };
const locked: AccountLockedError = { error: "account_locked", message: "…", retryAfter: null, attemptsLeft: 0 };
console.log(rejected, locked);
// @ts-expect-error: no such rule id in a refusal
const wrongRule: PasswordRejectedError = { error: "password_rejected", message: "…", rules: ["minLenght"] };
console.log(wrongRule);
// The whole policy document is typed: nested sections, enums and lists.
const policy: Policy = {
  version: 1,
  passwords: { minLength: 12, mode: "monitor" },
  login: { maxFailedAttempts: 5, singleSession: "endOthers" },
  captcha: { provider: "turnstile", pages: ["login", "signup"] },
  rateLimits: [{ id: "contact", match: { path: "/contact" }, key: "ip", algorithm: "token-bucket", limit: 5, windowSeconds: 3600, action: "captcha" }],
};
const publicPolicy: PublicPolicy = { version: 1, passwords: { minLength: 15 }, captcha: { enabled: false, provider: "none", siteKey: "", pages: [] } };
const documents: PolicyDocument[] = [policy, publicPolicy];
const preset: PresetName = "owasp-asvs-l2";
const requirement: Requirement = fromPolicy.requirements()[0];
const requirementId: RuleId = requirement.id;
console.log(documents, preset, requirementId);
// @ts-expect-error: a typo in a policy field no longer compiles
PasswordChecker.fromPolicy({ version: 1, passwords: { minLenght: 12 } });
// @ts-expect-error: no such CAPTCHA provider
const wrongProvider: Policy = { captcha: { provider: "recaptcha" } };
// @ts-expect-error: a rate limit's algorithm is one of two names
const wrongAlgorithm: Policy = { rateLimits: [{ id: "x", match: { path: "/" }, key: "ip", algorithm: "leaky", limit: 1, windowSeconds: 1, action: "deny" }] };
// @ts-expect-error: a public policy always has its captcha section
const partialPublic: PublicPolicy = { version: 1, passwords: {} };
console.log(wrongProvider, wrongAlgorithm, partialPublic);
// @ts-expect-error: a locale is a string
PasswordChecker.fromPreset("etendo", { locale: 7 });
// @ts-expect-error: the signal is an AbortSignal
PasswordChecker.fromUrl("http://127.0.0.1/", { signal: "stop" });
// @ts-expect-error: score is a number or null, never a string
const s: string = r.score;
// @ts-expect-error: no such rule id
const bad: RuleId = "minLenght";
// @ts-expect-error: the constructor is private; use a factory
new PasswordChecker();
console.log(s, bad);
`;

test("the package's declarations type-check real usage under --strict", async () => {
  const app = await installPackage();
  writeFileSync(join(app, "usage.ts"), USAGE);
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: "es2022",
        module: "nodenext",
        moduleResolution: "nodenext",
        lib: ["es2022", "dom"],
        skipLibCheck: true,
        types: [],
      },
      files: ["usage.ts"],
    }),
  );
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const out = spawnSync(process.execPath, [tsc, "-p", join(app, "tsconfig.json")], { encoding: "utf8" });
  assert.equal(out.status, 0, `tsc reported:\n${out.stdout}${out.stderr}`);
});

test("pkg/types.d.ts is what json-schema-to-typescript makes of core's generated schema", async () => {
  const committed = readFileSync(join(root, "pkg", "types.d.ts"), "utf8");
  assert.equal(committed, await generate(), "pkg/types.d.ts is stale: node scripts/build-types.mjs");
});

/**
 * The places where `value` does not have the shape `schema` gives (a
 * subset of JSON Schema: what schemars emits for these types).
 */
function mismatches(value, schema, defs, at = "$") {
  if (schema.$ref) return mismatches(value, defs[schema.$ref.replace("#/$defs/", "")], defs, at);
  for (const alternatives of [schema.anyOf, schema.oneOf].filter(Boolean)) {
    const matching = alternatives.filter((s) => mismatches(value, s, defs, at).length === 0).length;
    if (schema.oneOf ? matching !== 1 : matching === 0) return [`${at}: ${JSON.stringify(value)} matches ${matching} alternatives`];
    return [];
  }
  if ("const" in schema) return schema.const === value ? [] : [`${at}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`];
  if (schema.enum) return schema.enum.includes(value) ? [] : [`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`];
  const types = [schema.type ?? []].flat();
  const kind = value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
  if (types.length && !types.includes(kind) && !(kind === "integer" && types.includes("number"))) return [`${at}: ${kind}, expected ${types}`];
  if (kind === "array") return value.flatMap((item, i) => mismatches(item, schema.items ?? {}, defs, `${at}[${i}]`));
  if (kind !== "object") return [];
  const props = schema.properties ?? {};
  const out = (schema.required ?? []).filter((k) => !(k in value)).map((k) => `${at}.${k}: missing`);
  for (const [k, v] of Object.entries(value)) {
    if (props[k]) out.push(...mismatches(v, props[k], defs, `${at}.${k}`));
    // Closed unless the schema opens it, as build-types compiles it.
    else if (!schema.additionalProperties) out.push(`${at}.${k}: not in the type`);
  }
  return out;
}

test("real results have exactly the shapes of the generated types", async () => {
  const { PasswordChecker } = await importPackage();
  const { $defs: defs } = JSON.parse(readFileSync(join(root, "docs", "package-types.schema.json"), "utf8"));
  const checker = PasswordChecker.fromPreset("clientexec", { locale: "de" });
  const before = checker.check("hunter2", { username: "hunter" });
  assert.equal(before.feedback, null, "the estimator is not loaded yet");
  await checker.ready;
  const seen = [before, checker.check("hunter2", { username: "hunter" }), checker.check("correct horse battery staple 9!")];
  for (const result of seen) assert.deepEqual(mismatches(result, { $ref: "#/$defs/CheckResult" }, defs), []);
  assert.ok(seen[1].feedback.warning, "a warning was checked too");
  const symbols = PasswordChecker.fromPolicy({ passwords: { requireSymbol: true, symbols: "!@#" } });
  for (const requirement of [...checker.requirements(), ...symbols.requirements()]) {
    assert.deepEqual(mismatches(requirement, { $ref: "#/$defs/Requirement" }, defs), []);
  }
  assert.deepEqual(mismatches(PasswordChecker.presets(), { type: "array", items: { $ref: "#/$defs/PresetName" } }, defs), []);
  assert.deepEqual(mismatches(checker.locale, { $ref: "#/$defs/Locale" }, defs), []);
  // The check itself can fail: a stray field is found.
  assert.notDeepEqual(mismatches({ ...seen[2], extra: 1 }, { $ref: "#/$defs/CheckResult" }, defs), []);
});
