// `encryptField`, loaded on first use: seals a value for a form field to
// the vault's public key from the edge's public policy, in the on-demand
// wasm module (core's HPKE sealing).

/** `env`: the checker's `loadFull`, `call` and `requireString`. */
export async function encryptField({ loadFull, call, requireString }, policy, field, value) {
  const vault = (typeof policy === "string" ? JSON.parse(policy) : policy)?.vault;
  if (typeof vault?.publicKey !== "string" || typeof vault.keyId !== "string") {
    throw new Error("the policy has no vault key: an administrator creates the vault's passphrase first");
  }
  requireString(field, "fieldName");
  requireString(value, "value");
  const mod = await loadFull();
  return call(() => mod.sealField(vault.publicKey, vault.keyId, field, value));
}
