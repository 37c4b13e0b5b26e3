// The built-in CAPTCHA's Web Worker: loads the on-demand wasm module and
// searches for the proof of work in slices, posting progress after each
// (`{ tried }`) and the solution at the end (`{ tried, solution }`).
import init, { solveChallenge } from "../dist/full/portcullis_full.js";

self.onmessage = async ({ data }) => {
  try {
    await init({ module_or_path: new URL("../dist/full/portcullis_full_bg.wasm", import.meta.url) });
    const prefix = data.challenge + ".";
    for (let start = 0; start < Number.MAX_SAFE_INTEGER; start += data.slice) {
      const found = solveChallenge(prefix, data.difficulty, start, data.slice);
      if (found >= 0) {
        self.postMessage({ tried: found + 1, solution: prefix + found });
        return;
      }
      self.postMessage({ tried: start + data.slice });
    }
  } catch (error) {
    self.postMessage({ error: String(error?.message ?? error) });
  }
};
