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
import { importPackage } from "./support/package.js";

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
    const numeric = await post(edge, "/encrypt", { items: [{ field: "card_number", value: 4111111111111111 }] });
    assert.equal(numeric.status, 400);
    assert.ok(!JSON.stringify(numeric.body).includes("4111"), `the value is not quoted back: ${numeric.body.message}`);
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
    // Spent for everyone, the right passphrase too, until the window ends.
    const right = await edge.admin("/vault/decrypt", { method: "POST", body: JSON.stringify({ passphrase: PASSPHRASE, items: [{ field: "card_number", envelope: await sealWithHpkeJs((await publicPolicy()).vault, "card_number", CARD) }] }) });
    assert.equal(right.status, 429);
    const retry = Number(right.headers.get("retry-after"));
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    await right.arrayBuffer();
  });
});

describe("fields sealed at the edge", () => {
  let fieldOrigin;
  let fieldEdge;
  let vaultKey;
  const POLICY = { vault: { routes: [{ path: "/billing", fields: ["card_number", "cvv"] }, { path: "/domains/*", fields: ["domain_password"] }] } };
  const send = (path, body, contentType, extra = {}, ip = "198.51.100.40") =>
    fieldEdge.request(path, { method: "POST", body, ip, headers: { "content-type": contentType, ...extra } });
  /** What the origin received last, as text. */
  const received = () => fieldOrigin.seen.at(-1).body;
  const open = async (field, envelope) =>
    (await adminJson(fieldEdge, "/vault/decrypt", { method: "POST", body: JSON.stringify({ passphrase: PASSPHRASE, items: [{ field, envelope }] }) })).body.values?.[0];

  before(async () => {
    fieldOrigin = await startOrigin();
    fieldEdge = await startEdge({ origin: fieldOrigin, policy: POLICY });
  });
  after(async () => {
    await fieldEdge?.dispose();
    await fieldOrigin?.close();
  });

  test("before a passphrase: a form carrying a vault field is 503 vault_not_ready, and the origin sees nothing", async () => {
    const before = fieldOrigin.seen.length;
    const r = await send("/billing", `name=Al&card_number=${encodeURIComponent(CARD)}`, "application/x-www-form-urlencoded");
    assert.equal(r.status, 503);
    assert.equal((await r.json()).error, "vault_not_ready");
    assert.equal(fieldOrigin.seen.length, before);
    const other = await send("/billing", "name=Al", "application/x-www-form-urlencoded");
    assert.equal(other.status, 200, "a form without vault fields passes");
    await other.arrayBuffer();
    const made = await adminJson(fieldEdge, "/vault/passphrase", { method: "POST", body: JSON.stringify({ passphrase: PASSPHRASE }) });
    assert.equal(made.status, 201);
    vaultKey = { keyId: made.body.keyId, publicKey: made.body.publicKey };
  });

  test("urlencoded, multipart and JSON: the origin gets envelopes that open to the values, everything else as sent", async () => {
    let r = await send("/billing", `name=Al&card_number=${encodeURIComponent(CARD)}&cvv=123`, "application/x-www-form-urlencoded");
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const form = new URLSearchParams(received());
    assert.equal(form.get("name"), "Al");
    assert.match(form.get("card_number"), new RegExp(`^pcv1\\.${vaultKey.keyId}\\.`));
    assert.equal(await open("card_number", form.get("card_number")), CARD);
    assert.equal(await open("cvv", form.get("cvv")), "123");
    assert.ok(!received().includes("4111"), "no cleartext reached the origin");

    const boundary = "----portcullis-test";
    const multipart = [
      `--${boundary}\r\nContent-Disposition: form-data; name="card_number"\r\n\r\n${CARD}\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nkeep me\r\n`,
      `--${boundary}--\r\n`,
    ].join("");
    r = await send("/billing", multipart, `multipart/form-data; boundary=${boundary}`);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const parts = received().split(`--${boundary}`);
    const sealedPart = parts.find((p) => p.includes('name="card_number"')).split("\r\n\r\n")[1].replace(/\r\n$/, "");
    assert.equal(await open("card_number", sealedPart), CARD);
    assert.ok(received().includes("keep me"));
    assert.equal(fieldOrigin.seen.at(-1).headers["content-length"], String(Buffer.byteLength(received())), "the length is the new body's");

    r = await send("/domains/example.com", JSON.stringify({ domain: "example.com", domain_password: DOMAIN_PASSWORD, n: 1 }), "application/json");
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const json = JSON.parse(received());
    assert.equal(json.domain, "example.com");
    assert.equal(json.n, 1);
    assert.equal(await open("domain_password", json.domain_password), DOMAIN_PASSWORD);
  });

  test("the npm package's encryptField seals to the public policy: the edge passes it, the passphrase opens it", async () => {
    const { encryptField, PasswordChecker } = await importPackage();
    const policy = await (await fieldEdge.request("/__portcullis/policy")).json();
    const envelope = await encryptField(policy, "card_number", CARD);
    assert.match(envelope, new RegExp(`^pcv1\\.${vaultKey.keyId}\\.`));
    assert.notEqual(await encryptField(JSON.stringify(policy), "card_number", CARD), envelope, "a fresh ephemeral key each time");
    const r = await send("/billing", `card_number=${envelope}&cvv=${await encryptField(policy, "cvv", "123")}`, "application/x-www-form-urlencoded");
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const form = new URLSearchParams(received());
    assert.equal(form.get("card_number"), envelope, "passed as it is");
    assert.equal(await open("card_number", envelope), CARD);
    assert.equal(await open("cvv", form.get("cvv")), "123");
    // Moved to another field, it does not open.
    assert.equal(await open("cvv", envelope), undefined);
    await assert.rejects(encryptField({ version: 1 }, "card_number", CARD), /no vault key/);
    await assert.rejects(encryptField(policy, "card_number", 4111), TypeError);
    // The checker class carries it too, for one import.
    assert.equal(typeof PasswordChecker.encryptField, "function");
  });

  test("an envelope the browser made passes as it is, and @hpke/core's opens", async () => {
    const envelope = await sealWithHpkeJs(vaultKey, "card_number", CARD);
    const r = await send("/billing", `card_number=${envelope}`, "application/x-www-form-urlencoded");
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    assert.equal(new URLSearchParams(received()).get("card_number"), envelope);
    assert.equal(await open("card_number", envelope), CARD);
  });

  test("every other spelling is refused and never reaches the origin", async () => {
    const before = fieldOrigin.seen.length;
    const cases = [
      ["/billing?card_number=4111", "x=1", "application/x-www-form-urlencoded", 400],
      ["/billing", "card.number=4111", "application/x-www-form-urlencoded", 400],
      ["/billing", "card_number[]=4111", "application/x-www-form-urlencoded", 400],
      ["/billing", "CARD_NUMBER=4111", "application/x-www-form-urlencoded", 400],
      ["/billing", "card_number=1&card_number=2", "application/x-www-form-urlencoded", 400],
      ["/billing", '{"card_number":4111111111111111}', "application/json", 400],
      ["/billing", "card_number=4111", "text/plain", 415],
      ["/billing", "<card_number>4111</card_number>", "application/xml", 415],
      ["/Billing", "card_number=4111", "text/plain", 415],
      ["/billing.php", "card_number=4111", "text/plain", 415],
      ["/index.php/billing", "card_number=4111", "text/plain", 415],
      ["/billing", "payment%5Bcard_number%5D=4111", "application/x-www-form-urlencoded", 400],
      ["/billing", "card_number%5D=4111", "application/x-www-form-urlencoded", 400],
      ["/billing", '{"payment":{"card_number":"4111"}}', "application/json", 400],
      ["/billing", '{"note":"&card_number=4111&"}', "application/json", 400],
      ["/billing", '\ufeff{"card_number":"4111"}', "application/x-www-form-urlencoded", 400],
    ];
    // Each refusal is a warning: one address a case, so none is banned.
    for (const [i, [path, body, type, status]] of cases.entries()) {
      const r = await send(path, body, type, {}, `198.51.100.${60 + i}`);
      assert.equal(r.status, status, `${path} ${type} ${body}`);
      await r.arrayBuffer();
    }
    const gz = await send("/billing", "card_number=4111", "application/x-www-form-urlencoded", { "content-encoding": "gzip" }, "198.51.100.91");
    assert.ok(gz.status >= 400, "a content encoding is refused");
    await gz.arrayBuffer();
    const cookie = await send("/billing", "x=1", "application/x-www-form-urlencoded", { cookie: "card_number=4111" }, "198.51.100.90");
    assert.equal(cookie.status, 400, "the field in a cookie");
    await cookie.arrayBuffer();
    const get = await fieldEdge.request("/billing?card_number=4111", { ip: "198.51.100.41" });
    assert.equal(get.status, 400, "the field in a GET's query");
    await get.arrayBuffer();
    const cookieGet = await fieldEdge.request("/billing", { ip: "198.51.100.42", headers: { cookie: "card_number=4111" } });
    assert.equal(cookieGet.status, 400, "the field in a GET's cookie (no body)");
    await cookieGet.arrayBuffer();
    assert.equal(fieldOrigin.seen.length, before, "the origin saw none of them");
  });

  test("a vault route cannot cover a route the edge forwards itself", async () => {
    const patch = async (body) => adminJson(fieldEdge, "/settings", { method: "PATCH", body: JSON.stringify(body) });
    for (const path of ["/account/*", "/login.php", "/Signup"]) {
      const r = await patch({ vault: { routes: [{ path, fields: ["card_number"] }] } });
      assert.equal(r.status, 422, path);
      assert.equal(r.body.field, "vault.routes[0].path");
    }
    const probation = { enabled: true, actions: [{ name: "thread", method: "POST", path: "/billing", limitPerDay: 3 }] };
    const r = await patch({ probation });
    assert.equal(r.status, 422, "a probation action on a vault route");
    assert.equal(r.body.field, "vault.routes[0].path");
  });
});
