// The live breached-password check (`checkBreached`): only the first 5 hex
// digits of the password's SHA-1 go to the policy's range API, with
// `Add-Padding: true`; the answer is read and judged in the on-demand wasm
// module by core's code, as the edge does it on submit. Advisory: the
// edge's check is the one that counts.

/**
 * `env`: the checker's `loadFull`, `call` (wasm errors as Errors) and
 * `requireString`. Resolves `{ checked, breached, count }`.
 */
export async function checkBreached({ loadFull, call, requireString }, policy, password, { signal } = {}) {
  const doc = typeof policy === "string" ? JSON.parse(policy) : policy;
  const settings = doc?.passwords?.breached;
  if (!settings?.enabled) return { checked: false, breached: false, count: 0 };
  requireString(password, "password");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(password)));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
  const rangeUrl = settings.rangeUrl ?? "https://api.pwnedpasswords.com/range/";
  const timeout = AbortSignal.timeout(1000 * (settings.timeoutSeconds ?? 2));
  const response = await fetch(rangeUrl + hex.slice(0, 5), {
    headers: { "Add-Padding": "true" },
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  if (!response.ok) throw new Error(`the breached-password range API answered ${response.status}`);
  const body = await response.text();
  const mod = await loadFull();
  const count = call(() => mod.breachJudge(body, hex.slice(5), settings.minCount ?? 1));
  if (count < 0) throw new Error("the breached-password range API answered something that is not a range");
  return { checked: true, breached: count > 0, count };
}
