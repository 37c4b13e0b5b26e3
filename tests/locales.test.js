// Messages an application can translate, in seven languages, through the
// installed package: each plural form of each language is the one
// `Intl.PluralRules` picks, core's plural rules agree with Intl's over a wide
// range, every message carries its id and params, and a locale's catalog
// loads on demand.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { before, describe, test } from "node:test";
import { importPackage, installPackage } from "./support/package.js";

const LOCALES = ["en", "cs", "de", "fr", "es", "pl", "sk"];
let PasswordChecker;
let dist;
const catalogs = {};
before(async () => {
  ({ PasswordChecker } = await importPackage());
  dist = join(await installPackage(), "node_modules", "portcullis", "dist");
  for (const tag of LOCALES) catalogs[tag] = (await import(pathToFileURL(join(dist, "locales", `${tag}.js`)).href)).default;
});

/** Every entry of a catalog that has plural forms, as [key, forms]. */
function pluralEntries(catalog) {
  return Object.entries(catalog)
    .filter(([, v]) => typeof v === "object")
    .flatMap(([section, entries]) => Object.entries(entries).filter(([, t]) => typeof t === "object").map(([id, t]) => [`${section}.${id}`, t]));
}

/** The whole numbers 0..10000 and a few millions: where integer plural categories can differ. */
const NUMBERS = [...Array(10_001).keys(), 1_000_000, 2_000_000, 1_000_001, 10_000_000, 123_000_000, 4_000_000_000];

describe("plural forms", () => {
  test("core's plural rules pick what Intl.PluralRules picks, in every language", async () => {
    const full = await import(pathToFileURL(join(dist, "full", "portcullis_full.js")).href);
    full.initSync({ module: readFileSync(join(dist, "full", "portcullis_full_bg.wasm")) });
    for (const tag of LOCALES) {
      const intl = new Intl.PluralRules(tag);
      const wrong = NUMBERS.filter((n) => full.pluralCategory(tag, n) !== intl.select(n));
      assert.deepEqual(wrong.slice(0, 5), [], `${tag}: core and Intl disagree`);
    }
  });

  test("every text with a count has exactly the forms of its language's Intl.PluralRules categories", () => {
    for (const tag of LOCALES) {
      const categories = new Intl.PluralRules(tag).resolvedOptions().pluralCategories.sort();
      const entries = pluralEntries(catalogs[tag]);
      assert.ok(entries.length >= 8, `${tag}: ${entries.length} plural entries`);
      for (const [key, forms] of entries) assert.deepEqual(Object.keys(forms).sort(), categories, `${tag} ${key}`);
    }
  });

  test("each category of each language, through the package: the form Intl picks, with the count in it", async () => {
    for (const tag of LOCALES) {
      assert.equal(await PasswordChecker.loadLocale(`${tag}-XX`), tag);
      const intl = new Intl.PluralRules(tag);
      const forms = catalogs[tag].rules.minLength;
      const seen = new Set();
      // Every whole-number category occurs below 200 (fr/es "many" only at a million, past maxLength's 4096).
      for (let n = 1; n <= 200; n += 1) {
        const checker = PasswordChecker.fromPolicy({ passwords: { minLength: n, maxLength: 4096 } }, { locale: tag });
        assert.equal(checker.messagesLocale, tag);
        const [first] = checker.requirements();
        const category = intl.select(n);
        seen.add(category);
        assert.deepEqual(first, { id: "minLength", params: { n }, message: forms[category].replace("{n}", String(n)) }, `${tag} ${n}`);
      }
      for (const category of intl.resolvedOptions().pluralCategories) {
        if (seen.has(category)) continue;
        // The rest are for fractions (cs, sk "many"; pl "other") or round millions (fr, es "many"):
        // core never counts those, and the catalogs still give them.
        const example = [1.5, 1_000_000].find((n) => intl.select(n) === category);
        assert.ok(example !== undefined, `${tag}: "${category}" is not reached by any count`);
        assert.ok(forms[category].includes("{n}"), `${tag}: "${category}" form`);
      }
    }
  });
});

describe("messages carry id and params", () => {
  test("rules, warnings and suggestions in German, with ids and params", async () => {
    const checker = await PasswordChecker.fromPreset("czech-transfer", { locale: "de-AT" }).ready;
    const r = checker.check("password");
    const symbol = r.rules.find((x) => x.id === "symbol");
    assert.deepEqual(symbol.params, { symbols: "! @ # $ % ^ & *" });
    assert.equal(symbol.message, "Ein Sonderzeichen: ! @ # $ % ^ & *");
    assert.deepEqual(r.rules.find((x) => x.id === "lowercase").params, {});
    assert.ok(r.feedback.warning, "zxcvbn warns about \"password\"");
    assert.deepEqual(r.feedback.warning.params, {});
    assert.equal(r.feedback.warning.message, catalogs.de.warnings[r.feedback.warning.id]);
    assert.ok(r.feedback.suggestions.length > 0);
    for (const s of r.feedback.suggestions) assert.equal(s.message, catalogs.de.suggestions[s.id], s.id);
    assert.match(checker.check("x7#Lq!v9Zr@2mWp$").crackTime.display, /Jahrhunderte|Jahre?\b/);
  });

  test("every catalog has English's keys, and every text differs from English where English has words", () => {
    const keys = (c) => Object.entries(c).filter(([, v]) => typeof v === "object").flatMap(([s, e]) => Object.keys(e).map((id) => `${s}.${id}`));
    for (const tag of LOCALES) {
      assert.deepEqual(keys(catalogs[tag]), keys(catalogs.en), tag);
      if (tag === "en") continue;
      const same = Object.entries(catalogs.en.warnings).filter(([id, text]) => catalogs[tag].warnings[id] === text);
      assert.deepEqual(same, [], `${tag}: untranslated warnings`);
    }
  });

  test("an unknown locale speaks English, and loadLocale says so", async () => {
    const it = PasswordChecker.fromPreset("nist-800-63b", { locale: "it-IT" });
    assert.equal(it.locale, "en");
    assert.deepEqual(it.requirements()[0], { id: "minLength", params: { n: 15 }, message: "At least 15 characters" });
    assert.equal(await PasswordChecker.loadLocale("zz"), "en");
    assert.equal(await PasswordChecker.loadLocale(""), "en");
  });
});
