// Browser and bundler entry point: the small rules module is fetched next to
// this file with top-level await; the estimator module is imported and
// fetched only when a checker's `ready` is first read.
import initRules, * as rules from "../dist/rules/portcullis_rules.js";
import { makePasswordChecker } from "./checker.js";

await initRules({ module_or_path: new URL("../dist/rules/portcullis_rules_bg.wasm", import.meta.url) });

async function loadFull() {
  const full = await import("../dist/full/portcullis_full.js");
  await full.default({ module_or_path: new URL("../dist/full/portcullis_full_bg.wasm", import.meta.url) });
  return full;
}

export const PasswordChecker = makePasswordChecker({ rules, loadFull });
export const encryptField = PasswordChecker.encryptField;
// The built-in CAPTCHA loads on first use (the first module stays small).
let captcha;
const solver = () =>
  (captcha ??= import("./captcha.js").then((m) =>
    m.makeCaptcha({ loadFull, workerUrl: new URL("./captcha-worker.js", import.meta.url) })));
export const fetchChallenge = async (...a) => (await solver()).fetchChallenge(...a);
export const solveChallenge = async (...a) => (await solver()).solveChallenge(...a);
export const solveCaptcha = async (...a) => (await solver()).solveCaptcha(...a);
export const fillCaptcha = async (...a) => (await solver()).fillCaptcha(...a);
