// Cloudflare Workers (workerd) entry point, chosen by the "workerd" export
// condition that wrangler's bundler sets: the wasm files are imported as
// modules (wrangler uploads them precompiled; Workers cannot fetch or read
// files), and instantiated synchronously; the estimator's module only when a
// checker's `ready` is first read.
import * as rules from "../dist/rules/portcullis_rules.js";
import rulesWasm from "../dist/rules/portcullis_rules_bg.wasm";
import * as full from "../dist/full/portcullis_full.js";
import fullWasm from "../dist/full/portcullis_full_bg.wasm";
import { makeCaptcha } from "./captcha.js";
import { makePasswordChecker } from "./checker.js";

rules.initSync({ module: rulesWasm });

async function loadFull() {
  full.initSync({ module: fullWasm });
  return full;
}

export const PasswordChecker = makePasswordChecker({ rules, loadFull });
export const encryptField = PasswordChecker.encryptField;
export const checkBreached = PasswordChecker.checkBreached;
export const { fetchChallenge, solveChallenge, solveCaptcha, fillCaptcha } = makeCaptcha({ loadFull });
