// TypeScript users get real types: a small .ts file is compiled with
// `tsc --strict` against the installed package's declarations. Lines marked
// @ts-expect-error must fail to type-check, so an `any`-typed package
// (which would accept them) fails this test too.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { installPackage, root } from "./support/package.js";

const USAGE = `
import { PasswordChecker, type AccountLockedError, type CheckResult, type PasswordRejectedError, type RuleId, type RuleStatus } from "portcullis";
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
