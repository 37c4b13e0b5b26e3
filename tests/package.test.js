// The npm package as a user installs and imports it in Node 20: every preset
// rule by rule, the estimator's "pending" phase, both locales, the generator,
// the policy document round trip, and bad input.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { before, describe, test } from "node:test";
import { importPackage } from "./support/package.js";

let PasswordChecker;
before(async () => {
  ({ PasswordChecker } = await importPackage());
});

const status = (result, id) => result.rules.find((r) => r.id === id)?.status;
const failed = (result) => result.rules.filter((r) => r.status === "fail").map((r) => r.id);

/** The rule ids a policy's password section turns on, in core's order. */
function expectedRules(pw) {
  if (!pw.enforceStrength) return ["minLength", "maxLength"];
  return [
    ["minLength", true],
    ["maxLength", true],
    ["lowercase", pw.requireLowercase],
    ["uppercase", pw.requireUppercase],
    ["digit", pw.requireDigit],
    ["symbol", pw.requireSymbol],
    ["characterClasses", pw.minCharacterClasses > 0],
    ["repeatedCharacters", pw.maxRepeatedCharacters > 0],
    ["userInfo", pw.forbidUserInfo],
    ["blocklist", pw.blocklist],
    ["dictionaryWords", pw.forbidDictionaryWords],
    ["minScore", pw.minScore > 0],
  ].filter(([, on]) => on).map(([id]) => id);
}

/** Pads `core` with random-looking filler to the policy's minimum length. */
function padded(core, pw, filler = "Qz7vKx2pMw9rTb4nHc6j") {
  let s = core;
  let i = 0;
  while ([...s].length < pw.minLength) s += filler[i++ % filler.length];
  return s;
}

describe("presets", () => {
  test("lists the seven presets", () => {
    assert.deepEqual(PasswordChecker.presets(), [
      "clientexec", "clientspace", "smartertrack", "etendo", "czech-transfer", "nist-800-63b", "owasp-asvs-l2",
    ]);
  });

  for (const name of ["clientexec", "clientspace", "smartertrack", "etendo", "czech-transfer", "nist-800-63b", "owasp-asvs-l2"]) {
    test(`${name}: each active rule fails on its own counter-example and a generated password passes`, async () => {
      const checker = await PasswordChecker.fromPreset(name).ready;
      const pw = checker.policy().passwords;
      assert.deepEqual(checker.requirements().map((r) => r.id), expectedRules(pw));
      const active = new Set(expectedRules(pw));
      const cases = {
        minLength: "Ab1!".slice(0, Math.max(1, pw.minLength - 1)),
        maxLength: "Ab1!xY9#".repeat(Math.ceil((pw.maxLength + 1) / 8)),
        lowercase: padded("ABC1!", pw, "QZ7VKX2PMW9RTB4NHC6J"),
        uppercase: padded("abc1!", pw, "qz7vkx2pmw9rtb4nhc6j"),
        digit: padded("Abc!", pw, "QzvKxpMwrTbnHcjLdSfG"),
        symbol: padded("Abc1", pw, "Qz7vKx2pMw9rTb4nHc6j"),
        characterClasses: padded("", pw, "qzvkxpmwrtbnhcjldsfg"),
        userInfo: padded("jnovak", pw),
        blocklist: name === "nist-800-63b" || name === "owasp-asvs-l2" ? "1QAZ2WSX3EDC4RFV" : "password",
      };
      for (const [rule, password] of Object.entries(cases)) {
        if (!active.has(rule)) continue;
        const r = checker.check(password, { username: "jnovak", email: "jan.novak@example.cz", name: "Jan Novák" });
        assert.equal(status(r, rule), "fail", `${name}: ${rule} should fail for ${JSON.stringify(password)}`);
        assert.equal(r.ok, false);
      }
      for (let i = 0; i < 10; i++) {
        const generated = checker.generate();
        const r = checker.check(generated);
        assert.ok(r.ok, `${name}: generated ${generated} failed ${failed(r)}`);
      }
    });
  }
});

describe("checking", () => {
  test("before the estimator loads, rules answer and estimator rules are pending", () => {
    // A fresh policy object gives a fresh checker; the estimator may already
    // be loaded by another test in this process, so check the flag.
    const checker = PasswordChecker.fromPolicy({ passwords: { minLength: 10, minScore: 3, forbidDictionaryWords: true } });
    const r = checker.check("sunshine");
    assert.equal(status(r, "minLength"), "fail");
    if (!checker.estimatorLoaded) {
      assert.equal(r.pending, true);
      assert.equal(r.score, null);
      assert.equal(r.feedback, null);
      assert.equal(status(r, "minScore"), "pending");
      assert.equal(status(r, "dictionaryWords"), "pending");
      assert.equal(status(r, "blocklist"), "pending");
    }
  });

  test("after ready: score, crack time, feedback and estimator rules", async () => {
    const checker = await PasswordChecker.fromPolicy({ passwords: { minLength: 8, minScore: 3, forbidDictionaryWords: true } }).ready;
    assert.equal(checker.estimatorLoaded, true);
    const weak = checker.check("sunshine");
    assert.equal(weak.pending, false);
    assert.equal(weak.score, 0);
    assert.equal(status(weak, "blocklist"), "fail");
    assert.equal(status(weak, "minScore"), "fail");
    assert.equal(status(weak, "dictionaryWords"), "fail");
    assert.ok(weak.feedback.warning.message.length > 0);
    assert.match(weak.feedback.warning.id, /^[a-z][A-Za-z0-9]+$/);
    assert.deepEqual(weak.feedback.warning.params, {});
    assert.equal(weak.crackTime.display, "less than a second");
    const strong = checker.check("vQ3#nT8!zKp2@wLm");
    assert.equal(strong.ok, true, JSON.stringify(failed(strong)));
    assert.equal(strong.score, 4);
    assert.ok(strong.guessesLog10 > 10);
    assert.equal(status(strong, "dictionaryWords"), "pass");
  });

  test("passphrases of words fail the dictionary rule, not the score", async () => {
    const checker = await PasswordChecker.fromPreset("clientexec").ready;
    const r = checker.check("Correct-Horse-Battery-1");
    assert.equal(status(r, "dictionaryWords"), "fail");
    assert.equal(status(r, "symbol"), "pass");
  });

  test("Czech messages, plurals and feedback", async () => {
    const checker = await PasswordChecker.fromPreset("czech-transfer", { locale: "cs" }).ready;
    const r = checker.check("abc");
    assert.equal(r.rules.find((x) => x.id === "minLength").message, "Alespoň 8 znaků");
    assert.equal(r.rules.find((x) => x.id === "symbol").message, "Symbol: ! @ # $ % ^ & *");
    assert.match(r.feedback.suggestions.map((s) => s.message).join(" "), /Přidejte|Vyhněte/);
    assert.equal(checker.locale, "cs");
  });

  test("the symbol set is the policy's, not any punctuation", () => {
    const checker = PasswordChecker.fromPreset("czech-transfer");
    assert.equal(status(checker.check("Abcdefg1~"), "symbol"), "fail");
    assert.equal(status(checker.check("Abcdefg1&"), "symbol"), "pass");
  });

  test("lengths are code points after NFKC", () => {
    const checker = PasswordChecker.fromPolicy({ passwords: { minLength: 4, maxLength: 4, enforceStrength: false } });
    assert.equal(checker.check("😀😀😀😀").length, 4);
    assert.equal(checker.check("ﬁﬁ").length, 4);
    assert.equal(checker.check("e\u0301abc").length, 4);
  });

  test("admins may override strength but never length", () => {
    const checker = PasswordChecker.fromPolicy({ passwords: { adminsMayOverride: true, requireDigit: true, minScore: 0 } });
    const admin = checker.check("abcdefgh", { isAdmin: true });
    assert.equal(status(admin, "digit"), "skipped");
    assert.equal(admin.ok, true);
    assert.equal(status(checker.check("abc", { isAdmin: true }), "minLength"), "fail");
    assert.equal(checker.check("abcdefgh").ok, false);
  });

  test("a policy with the breach check on lists it, deferred to the edge's answer, without holding the form", () => {
    const checker = PasswordChecker.fromPolicy({ passwords: { breached: { enabled: true }, minScore: 0 } }, { locale: "cs" });
    const r = checker.check("Quiet-harbor-lantern-81");
    const rule = r.rules.find((x) => x.id === "breached");
    assert.deepEqual([rule.status, rule.ok], ["deferred", true]);
    assert.equal(rule.message, "Nenachází se ve známých únicích dat");
    assert.equal(r.ok, true);
    assert.ok(checker.requirements().some((x) => x.id === "breached"));
    assert.equal(status(PasswordChecker.fromPolicy({ passwords: { minScore: 0 } }).check("x"), "breached"), undefined, "off: not listed");
  });

  test("admin blocklist words fail at once, whole-password and case-insensitive", () => {
    const checker = PasswordChecker.fromPolicy({ passwords: { blocklistExtra: ["Portcullis2026"], minScore: 0 } });
    assert.equal(status(checker.check("PORTCULLIS2026"), "blocklist"), "fail");
  });

  test("a megabyte-long password is reported too long, not truncated", () => {
    const checker = PasswordChecker.fromPreset("owasp-asvs-l2");
    const r = checker.check("x".repeat(1 << 20));
    assert.equal(status(r, "maxLength"), "fail");
    assert.equal(r.ok, false);
    assert.equal(r.length, 129);
  });
});

describe("policy documents", () => {
  test("fromPolicy accepts JSON text, objects, the public document and a full policy", () => {
    const preset = PasswordChecker.fromPreset("etendo");
    const doc = preset.policy();
    assert.equal(doc.version, 1);
    const again = PasswordChecker.fromPolicy(JSON.stringify(doc));
    assert.deepEqual(again.policy(), doc);
    const full = { version: 1, passwords: doc.passwords, login: { maxFailedAttempts: 3 }, bans: {}, captcha: { siteKey: "x" } };
    assert.deepEqual(PasswordChecker.fromPolicy(full).policy(), doc);
  });

  test("invalid documents name the field", () => {
    assert.throws(() => PasswordChecker.fromPolicy({ passwords: { minLength: "8" } }), /passwords\.minLength/);
    assert.throws(() => PasswordChecker.fromPolicy({ passwords: { minLength: 20, maxLength: 10 } }), /passwords\.maxLength/);
    assert.throws(() => PasswordChecker.fromPolicy({ passwords: { minLenght: 8 } }), /minLenght/);
    assert.throws(() => PasswordChecker.fromPolicy({ passwords: [] }), /passwords/);
    assert.throws(() => PasswordChecker.fromPolicy({ version: 99 }), /version/);
    assert.throws(() => PasswordChecker.fromPolicy("{not json"), /invalid policy JSON/);
    assert.throws(() => PasswordChecker.fromPolicy(42), TypeError);
    assert.throws(() => PasswordChecker.fromPolicy(null), TypeError);
  });

  test("fromUrl loads the policy from a loopback server", async () => {
    const doc = { version: 1, passwords: { minLength: 13, requireDigit: true } };
    const server = createServer((req, res) => {
      if (req.url === "/__portcullis/policy") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(doc));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const base = `http://127.0.0.1:${server.address().port}`;
      const checker = await PasswordChecker.fromUrl(`${base}/__portcullis/policy`, { locale: "cs" });
      assert.deepEqual(checker.requirements().slice(0, 1), [{ id: "minLength", params: { n: 13 }, message: "Alespoň 13 znaků" }]);
      assert.ok(checker.requirements().some((r) => r.id === "digit"));
      await assert.rejects(PasswordChecker.fromUrl(`${base}/missing`), /HTTP 404/);
      // An aborted signal stops the request.
      await assert.rejects(PasswordChecker.fromUrl(`${base}/__portcullis/policy`, { signal: AbortSignal.abort() }), { name: "AbortError" });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("the live breached-password check", () => {
  test("sends only the SHA-1 prefix to the policy's range API and judges the answer as the edge does", async () => {
    const { createHash } = await import("node:crypto");
    const sha1 = (t) => createHash("sha1").update(t).digest("hex").toUpperCase();
    const asked = [];
    let junk = false;
    const server = createServer((req, res) => {
      asked.push({ url: req.url, padding: req.headers["add-padding"] });
      const breached = sha1("Correct-Horse-Battery-1999");
      const body = junk ? "<html>" : `${"0".repeat(35)}:0\r\n${req.url.endsWith(breached.slice(0, 5)) ? `${breached.slice(5)}:77` : `${"F".repeat(35)}:3`}`;
      res.writeHead(200, { "content-type": "text/plain" }).end(body);
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const rangeUrl = `http://127.0.0.1:${server.address().port}/range/`;
      const policy = { passwords: { breached: { enabled: true, rangeUrl } } };
      assert.deepEqual(await PasswordChecker.checkBreached(policy, "Correct-Horse-Battery-1999"), { checked: true, breached: true, count: 77 });
      const strict = { passwords: { breached: { enabled: true, rangeUrl, minCount: 78 } } };
      assert.deepEqual(await PasswordChecker.checkBreached(strict, "Correct-Horse-Battery-1999"), { checked: true, breached: false, count: 0 });
      assert.deepEqual(await PasswordChecker.checkBreached(JSON.stringify(policy), "Quiet-harbor-lantern-81"), { checked: true, breached: false, count: 0 });
      for (const { url, padding } of asked) {
        assert.match(url, /^\/range\/[0-9A-F]{5}$/);
        assert.equal(padding, "true");
      }
      const before = asked.length;
      assert.deepEqual(await PasswordChecker.checkBreached({ passwords: {} }, "x"), { checked: false, breached: false, count: 0 });
      assert.equal(asked.length, before, "off: nothing sent");
      junk = true;
      await assert.rejects(PasswordChecker.checkBreached(policy, "y"), /not a range/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("bad input", () => {
  const checker = () => PasswordChecker.fromPreset("nist-800-63b");
  test("non-string passwords and user fields are TypeErrors", () => {
    for (const bad of [undefined, null, 42, {}, ["a"], Symbol("x")]) {
      assert.throws(() => checker().check(bad), TypeError);
    }
    assert.throws(() => checker().check("abc", { username: 7 }), TypeError);
    assert.throws(() => checker().check("abc", "bob"), TypeError);
    assert.throws(() => checker().check("abc", { isAdmin: "yes" }), TypeError);
  });
  test("unpaired surrogates are refused with a clear message", () => {
    assert.throws(() => checker().check("ab\uD800cd"), /unpaired surrogate/);
    assert.throws(() => checker().check("ok", { name: "\uDC00" }), /unpaired surrogate/);
  });
  test("unknown presets list what is accepted", () => {
    assert.throws(() => PasswordChecker.fromPreset("nope"), /known presets: clientexec/);
    assert.throws(() => PasswordChecker.fromPreset(7), TypeError);
    assert.throws(() => PasswordChecker.fromPreset("etendo", { locale: 7 }), TypeError);
    assert.throws(() => PasswordChecker.fromPreset("etendo", { signal: "stop" }), /AbortSignal/);
  });
  test("locales fall back along BCP 47, and an unknown one never throws", async () => {
    const words = { en: /characters/, cs: /znak/, de: /Zeichen/ };
    for (const [tag, locale] of [["de-AT", "de"], ["de", "de"], ["cs-CZ", "cs"], ["CS", "cs"], ["", "en"], ["x-klingon", "en"], ["it", "en"], ["cs_CZ", "cs"]]) {
      assert.equal(await PasswordChecker.loadLocale(tag), locale, tag);
      const checker = PasswordChecker.fromPreset("etendo", { locale: tag });
      assert.equal(checker.locale, locale, tag);
      const message = checker.check("a").rules.find((r) => r.id === "minLength").message;
      assert.match(message, words[locale], tag);
    }
  });
});
