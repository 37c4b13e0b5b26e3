// Browser and bundler entry: the rules module loads at once (top-level
// await); the estimator, the CAPTCHA solver and the breach check on demand.
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
export const checkBreached = PasswordChecker.checkBreached;
let captcha;
const lazy = (name) => async (...a) =>
  (await (captcha ??= import("./captcha.js").then((m) =>
    m.makeCaptcha({ loadFull, workerUrl: new URL("./captcha-worker.js", import.meta.url) }))))[name](...a);
export const fetchChallenge = lazy("fetchChallenge");
export const solveChallenge = lazy("solveChallenge");
export const solveCaptcha = lazy("solveCaptcha");
export const fillCaptcha = lazy("fillCaptcha");
