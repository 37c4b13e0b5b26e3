// The vault on workerd (issue 16, first part): the passphrase's life
// (create, reset, delete), batches of values to envelopes and back, an
// independent HPKE implementation (npm @hpke/core) sealing to the public
// key the edge publishes, and nothing secret in any answer, audit entry or
// log line.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Aes128Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { adminJson, startEdge, startOrigin } from "./support/edge.js";

const PASSPHRASE = "staple orbit lantern quartz";
const NEW_PASSPHRASE = "meadow heron kestrel basalt";
const CARD = "4111 1111 1111 1111";
const DOMAIN_PASSWORD = "dns-Registrar-pass-93";

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const post = (edge, path, body, method = "POST") =>
  adminJson(edge, `/vault${path}`, { method, body: JSON.stringify(body) });

/** Seals `value` for `field` with @hpke/core: the envelope the scheme fixes. */
async function sealWithHpkeJs(vault, field, value) {
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
  const recipientPublicKey = await suite.kem.deserializePublicKey(Buffer.from(vault.publicKey, "base64url"));
  const sender = await suite.createSenderContext({ recipientPublicKey, info: new TextEncoder().encode("portcullis-vault-v1") });
  const ct = await sender.seal(new TextEncoder().encode(value), new TextEncoder().encode(field));
  return `pcv1.${vault.keyId}.${b64url(Buffer.concat([Buffer.from(sender.enc), Buffer.from(ct)]))}`;
}

let origin;
let edge;
before(async () => {
  origin = await startOrigin();
  edge = await startEdge({ origin });
});
after(async () => {
  await edge?.dispose();
  origin?.close();
});

const publicPolicy = async () => (await edge.request("/__portcullis/policy")).json();

describe("the vault", () => {
  let vault;
  let envelopes;

  test("before a passphrase: no public key, and nothing is sealed", async () => {
    assert.deepEqual((await adminJson(edge, "/vault")).body, { state: "none" });
    assert.equal((await publicPolicy()).vault, undefined);
    const refused = await post(edge, "/encrypt", { items: [{ field: "card_number", value: CARD }] });
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error, "vault_not_ready");
  });

  test("a passphrase under 12 characters is refused with 422; a good one makes the key pair", async () => {
    const short = await post(edge, "/passphrase", { passphrase: "eleven char" });
    assert.equal(short.status, 422);
    assert.equal(short.body.error, "invalid_passphrase");
    const made = await post(edge, "/passphrase", { passphrase: PASSPHRASE });
    assert.equal(made.status, 201);
    assert.equal(made.body.state, "active");
    vault = (await publicPolicy()).vault;
    assert.deepEqual(vault, { publicKey: made.body.publicKey, keyId: made.body.keyId });
    assert.equal(Buffer.from(vault.publicKey, "base64url").length, 32);
    const again = await post(edge, "/passphrase", { passphrase: PASSPHRASE });
    assert.equal(again.status, 409, "a second create is refused: reset or delete");
  });

  test("an envelope sealed by @hpke/core to the public key opens at the edge", async () => {
    const envelope = await sealWithHpkeJs(vault, "card_number", CARD);
    const opened = await post(edge, "/decrypt", { passphrase: PASSPHRASE, items: [{ field: "card_number", envelope }] });
    assert.equal(opened.status, 200, JSON.stringify(opened.body));
    assert.deepEqual(opened.body.values, [CARD]);
  });

  test("batches: values to envelopes and back; moved, tampered and wrong-passphrase requests refused", async () => {
    const sealed = await post(edge, "/encrypt", { items: [{ field: "card_number", value: CARD }, { field: "domain_password", value: DOMAIN_PASSWORD }] });
    assert.equal(sealed.status, 200);
    envelopes = sealed.body.envelopes;
    for (const e of envelopes) assert.match(e, new RegExp(`^pcv1\\.${vault.keyId}\\.[A-Za-z0-9_-]+$`));
    assert.ok(!JSON.stringify(sealed.body).includes(CARD));
    const items = [{ field: "card_number", envelope: envelopes[0] }, { field: "domain_password", envelope: envelopes[1] }];
    const opened = await post(edge, "/decrypt", { passphrase: PASSPHRASE, items });
    assert.deepEqual(opened.body.values, [CARD, DOMAIN_PASSWORD]);

    const moved = await post(edge, "/decrypt", { passphrase: PASSPHRASE, items: [items[0], { field: "card_number", envelope: envelopes[1] }] });
    assert.equal(moved.status, 422);
    assert.equal(moved.body.index, 1);
    assert.equal(moved.body.values, undefined, "no value when one item fails");

    const [head, body] = [envelopes[0].slice(0, envelopes[0].lastIndexOf(".")), envelopes[0].slice(envelopes[0].lastIndexOf(".") + 1)];
    const bytes = Buffer.from(body, "base64url");
    bytes[bytes.length - 1] ^= 1;
    const tampered = await post(edge, "/decrypt", { passphrase: PASSPHRASE, items: [{ field: "card_number", envelope: `${head}.${b64url(bytes)}` }] });
    assert.equal(tampered.status, 422);
    assert.equal(tampered.body.index, 0);

    const wrong = await post(edge, "/decrypt", { passphrase: "not the passphrase at all", items });
    assert.equal(wrong.status, 403);
    assert.deepEqual(Object.keys(wrong.body).sort(), ["error", "message"], "a wrong passphrase reveals nothing more");

    const tooMany = await post(edge, "/encrypt", { items: Array.from({ length: 101 }, () => ({ field: "f", value: "v" })) });
    assert.equal(tooMany.status, 422, "batches are bounded");
    const garbage = await post(edge, "/decrypt", { passphrase: PASSPHRASE, items: "all" });
    assert.equal(garbage.status, 400);
  });

  test("a reset re-wraps the same key pair: old envelopes stay readable, the old passphrase no longer works", async () => {
    const wrongOld = await post(edge, "/passphrase", { passphrase: "not the passphrase at all", newPassphrase: NEW_PASSPHRASE });
    assert.equal(wrongOld.status, 403);
    const reset = await post(edge, "/passphrase", { passphrase: PASSPHRASE, newPassphrase: NEW_PASSPHRASE });
    assert.equal(reset.status, 200);
    assert.deepEqual((await publicPolicy()).vault, vault, "same key pair");
    const items = [{ field: "card_number", envelope: envelopes[0] }];
    assert.deepEqual((await post(edge, "/decrypt", { passphrase: NEW_PASSPHRASE, items })).body.values, [CARD]);
    assert.equal((await post(edge, "/decrypt", { passphrase: PASSPHRASE, items })).status, 403);
  });

  test("delete needs a confirmation, destroys the key pair, and old envelopes read as another key's", async () => {
    const unconfirmed = await post(edge, "/passphrase", {}, "DELETE");
    assert.equal(unconfirmed.status, 400);
    assert.equal((await adminJson(edge, "/vault")).body.state, "active");
    const deleted = await post(edge, "/passphrase", { confirm: "delete" }, "DELETE");
    assert.equal(deleted.status, 200);
    assert.equal((await publicPolicy()).vault, undefined);
    const items = [{ field: "card_number", envelope: envelopes[0] }];
    assert.equal((await post(edge, "/decrypt", { passphrase: NEW_PASSPHRASE, items })).body.error, "vault_not_ready");
    const made = await post(edge, "/passphrase", { passphrase: PASSPHRASE });
    assert.equal(made.status, 201);
    assert.notEqual(made.body.keyId, vault.keyId, "a new key pair");
    const old = await post(edge, "/decrypt", { passphrase: PASSPHRASE, items });
    assert.equal(old.status, 422);
    assert.equal(old.body.reason, "otherKey");
  });

  test("audited with counts only; no cleartext, passphrase or key in any answer, entry or log line", async () => {
    const audit = await adminJson(edge, "/audit?kind=vault");
    const actions = audit.body.entries.map((e) => e.detail.action ?? e.detail.refused);
    for (const action of ["created", "encrypted", "decrypted", "reset", "deleted"]) assert.ok(actions.includes(action), `${action} in ${actions}`);
    assert.ok(audit.body.entries.some((e) => e.detail.refused === "wrong_passphrase"));
    const decrypted = audit.body.entries.find((e) => e.detail.action === "decrypted" && e.detail.items === 2);
    assert.ok(decrypted?.detail.actor, "who decrypted");
    const everything = JSON.stringify(audit.body) + edge.logs.join("");
    for (const secret of [CARD, DOMAIN_PASSWORD, PASSPHRASE, NEW_PASSPHRASE]) assert.ok(!everything.includes(secret), `${secret} leaked`);
  });

  test("unwrapping the key is bounded: past 10 a minute, 429 with Retry-After", async () => {
    const items = [{ field: "card_number", envelope: envelopes[0] }];
    const statuses = [];
    for (let i = 0; i < 12; i++) {
      const r = await edge.admin("/vault/decrypt", { method: "POST", body: JSON.stringify({ passphrase: "wrong guess number " + i, items }) });
      statuses.push(r.status);
      if (r.status === 429) assert.ok(Number(r.headers.get("retry-after")) > 0);
      await r.arrayBuffer();
    }
    assert.ok(statuses.includes(429), statuses.join(" "));
    assert.ok(statuses.filter((s) => s === 403).length <= 10, statuses.join(" "));
  });
});
