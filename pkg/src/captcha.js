// The built-in CAPTCHA (provider `builtin`): fetch a challenge from the
// edge (`GET /__portcullis/challenge?route=…`), find the proof of work in
// the on-demand wasm module (SHA-256, `difficulty` leading zero bits),
// and send `<challenge>.<counter>` in the form field `portcullis-captcha`.
// In a browser the work runs in a Web Worker (captcha-worker.js) so the
// page stays responsive; elsewhere (Node, workerd) in slices on the same
// thread. Accessible: no image puzzle, nothing to click.

/** Hashes tried between progress reports. */
export const SLICE = 50_000;
/** The form field the solution is sent in. */
export const CAPTCHA_FIELD = "portcullis-captcha";
/** Where the edge issues challenges. */
export const CHALLENGE_PATH = "/__portcullis/challenge";

function checkChallenge(challenge) {
  if (typeof challenge?.challenge !== "string" || !Number.isInteger(challenge.difficulty)) {
    throw new TypeError("not a Portcullis challenge: expected { challenge, difficulty } from " + CHALLENGE_PATH);
  }
}

/**
 * Solving in slices on this thread: `solveSlice(prefix, bits, start, count)`
 * is the wasm solver; yields to the event loop between slices.
 */
async function solveHere(solveSlice, challenge, { onProgress, signal } = {}) {
  const prefix = challenge.challenge + ".";
  const expected = 2 ** challenge.difficulty;
  for (let start = 0; start < Number.MAX_SAFE_INTEGER; start += SLICE) {
    signal?.throwIfAborted();
    const found = solveSlice(prefix, challenge.difficulty, start, SLICE);
    if (found >= 0) {
      onProgress?.({ tried: found + 1, expected, done: true });
      return prefix + found;
    }
    onProgress?.({ tried: start + SLICE, expected, done: false });
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  throw new Error("no solution found");
}

/** Solving in a Web Worker that loads the on-demand module itself. */
function solveInWorker(workerUrl, challenge, { onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl, { type: "module" });
    const stop = (error) => {
      worker.terminate();
      reject(error);
    };
    signal?.addEventListener("abort", () => stop(signal.reason), { once: true });
    worker.onerror = (event) => stop(new Error(event.message || "the CAPTCHA worker failed"));
    worker.onmessage = ({ data }) => {
      if (data.error) return stop(new Error(data.error));
      onProgress?.({ tried: data.tried, expected: 2 ** challenge.difficulty, done: data.solution !== undefined });
      if (data.solution !== undefined) {
        worker.terminate();
        resolve(data.solution);
      }
    };
    worker.postMessage({ challenge: challenge.challenge, difficulty: challenge.difficulty, slice: SLICE });
  });
}

/**
 * The CAPTCHA functions of an entry: `loadFull` loads the on-demand module;
 * `workerUrl`, when set and Workers exist, is the solver's Web Worker.
 */
export function makeCaptcha({ loadFull, workerUrl = null }) {
  /** A challenge for the form that posts to `route`, from the edge at `base`. */
  async function fetchChallenge(route, { base = globalThis.location?.href, signal } = {}) {
    if (typeof route !== "string" || !route.startsWith("/")) throw new TypeError("route must be the path the form posts to, such as /signup");
    const url = new URL(CHALLENGE_PATH, base);
    url.searchParams.set("route", route);
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store", signal });
    if (!response.ok) throw new Error(`the edge gave no challenge (HTTP ${response.status})`);
    const challenge = await response.json();
    checkChallenge(challenge);
    return challenge;
  }

  /** The value of `portcullis-captcha` for `challenge`; `onProgress({ tried, expected, done })`. */
  async function solveChallenge(challenge, options = {}) {
    checkChallenge(challenge);
    if (workerUrl && typeof Worker === "function") return solveInWorker(workerUrl, challenge, options);
    const full = await loadFull();
    return solveHere(full.solveChallenge, challenge, options);
  }

  /** Fetches and solves a challenge for `route`: the field's value. */
  async function solveCaptcha(route, options = {}) {
    return solveChallenge(await fetchChallenge(route, options), options);
  }

  /**
   * Puts the solution into `form` (a hidden `portcullis-captcha` input,
   * added when missing) for the path the form posts to; resolves with it.
   */
  async function fillCaptcha(form, options = {}) {
    const route = new URL(form.action, globalThis.location?.href).pathname;
    const value = await solveCaptcha(route, options);
    let input = form.querySelector(`input[name="${CAPTCHA_FIELD}"]`);
    if (!input) {
      input = form.ownerDocument.createElement("input");
      input.type = "hidden";
      input.name = CAPTCHA_FIELD;
      form.append(input);
    }
    input.value = value;
    return value;
  }

  return { fetchChallenge, solveChallenge, solveCaptcha, fillCaptcha };
}
