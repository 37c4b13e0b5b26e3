// Node entry point: reads the wasm files from the package folder (Node's
// fetch cannot load file: URLs) and instantiates them synchronously, so
// `import { PasswordChecker } from "portcullis"` needs no init call.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import * as rules from "../dist/rules/portcullis_rules.js";
import { makeCaptcha } from "./captcha.js";
import { makePasswordChecker } from "./checker.js";

rules.initSync({ module: readFileSync(new URL("../dist/rules/portcullis_rules_bg.wasm", import.meta.url)) });

async function loadFull() {
  const full = await import("../dist/full/portcullis_full.js");
  full.initSync({ module: await readFile(new URL("../dist/full/portcullis_full_bg.wasm", import.meta.url)) });
  return full;
}

export const PasswordChecker = makePasswordChecker({ rules, loadFull });
export const encryptField = PasswordChecker.encryptField;
export const checkBreached = PasswordChecker.checkBreached;
export const { fetchChallenge, solveChallenge, solveCaptcha, fillCaptcha } = makeCaptcha({ loadFull });
