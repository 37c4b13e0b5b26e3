// The password corpus of the benchmark: a few thousand passwords of the kinds
// a real signup form sees, built deterministically (fixed-seed PRNG) from the
// word lists that ship with zxcvbn 4.4.2 (node_modules/zxcvbn/lib/frequency_lists.js),
// so every run and every machine checks exactly the same text.
//
//   node bench/corpus.js          prints the size, the SHA-256 and a sample
//
// Mix (shares of the deduplicated corpus):
//   20% common    entries of zxcvbn's `passwords` list, ranks spread over the list
//   20% wordNum   word + digits or a year, sometimes a trailing symbol ("sunshine1987", "Dragon12!")
//   15% capSym    Capitalised word + symbol + digits ("Summer@2023", "Tiger!42")
//   10% leet      l33t spellings of words ("p@ssw0rd", "s3cur1ty")
//   10% phrase    two or three words with a separator ("correct-horse-battery")
//   10% nameDate  first name + date ("anna0712", "Tomas1990")
//   10% random    random strings of 8-16 characters from mixed alphabets
//    5% keyboard  keyboard walks ("qwerty123", "1qaz2wsx", "asdfgh")
// Lengths are mostly 6-24; nothing is longer than 32 characters.

import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

export const SEED = 0x5eed_2024;
export const MAX_LENGTH = 32;

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Helpers bound to one PRNG. */
function tools(rand) {
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)); // inclusive
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const chance = (p) => rand() < p;
  /** Index skewed towards the top of a frequency-ranked list. */
  const skewed = (arr, power = 2) => arr[Math.floor(rand() ** power * arr.length)];
  return { int, pick, chance, skewed };
}

let listsCache = null;
function wordLists() {
  if (listsCache) return listsCache;
  const raw = require("zxcvbn/lib/frequency_lists.js");
  // Each list is an array of words, most frequent first.
  const split = (name) => (Array.isArray(raw[name]) ? raw[name] : String(raw[name]).split(","));
  const plainWord = (w) => /^[a-z]+$/.test(w);
  const words = (name, min, max, limit) =>
    split(name).filter((w) => plainWord(w) && w.length >= min && w.length <= max).slice(0, limit);
  listsCache = {
    passwords: split("passwords").filter((w) => w.length >= 4 && w.length <= MAX_LENGTH),
    // Everyday vocabulary: the top of the Wikipedia and TV/film lists.
    words: [...new Set([...words("english_wikipedia", 4, 10, 8000), ...words("us_tv_and_film", 4, 10, 8000)])],
    // Short words for passphrases.
    phraseWords: [...new Set([...words("english_wikipedia", 3, 8, 6000), ...words("us_tv_and_film", 3, 8, 6000)])],
    names: [...words("female_names", 3, 9, 1500), ...words("male_names", 3, 9, 1500)],
    surnames: words("surnames", 3, 10, 3000),
  };
  return listsCache;
}

const capitalise = (w) => w.charAt(0).toUpperCase() + w.slice(1);
const pad2 = (n) => String(n).padStart(2, "0");

const SYMBOLS = "!@#$%&*?.-_+=";
const COMMON_SYMBOLS = "!!!!@@##$$%&*?.";
const LEET = { a: ["@", "4"], e: ["3"], i: ["1", "!"], o: ["0"], s: ["$", "5"], t: ["7"], l: ["1"], g: ["9"], b: ["8"] };
const ALPHABETS = [
  "abcdefghijklmnopqrstuvwxyz0123456789",
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_=+[]{};:,.<>/?~",
  "0123456789abcdef",
  // What a password manager may produce without ambiguous characters.
  "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!@#$%*",
];
const KEYBOARD_BASES = [
  "qwerty", "qwertyuiop", "qwertyui", "asdfgh", "asdfghjkl", "asdf", "zxcvbn", "zxcvbnm",
  "1qaz2wsx", "1qaz2wsx3edc", "qazwsx", "qazwsxedc", "zaq12wsx", "zaq1xsw2", "1q2w3e4r", "1q2w3e4r5t",
  "1q2w3e", "q1w2e3r4", "qweasd", "qweasdzxc", "123qwe", "qwe123", "asd123", "poiuytrewq", "lkjhgf",
  "!qaz@wsx", "!qaz2wsx", "qwer1234", "1234qwer", "mnbvcxz", "ytrewq", "asdfqwer", "12qwaszx", "wsxedc",
];
const ROWS = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"];

function year(t) {
  return String(t.chance(0.8) ? t.int(1960, 2010) : t.int(2011, 2025));
}

function digits(t) {
  const r = t.int(0, 9);
  if (r < 4) return year(t);
  if (r < 6) return String(t.int(1, 99));
  if (r < 7) return t.pick(["1", "12", "123", "1234", "007", "69", "01", "321"]);
  if (r < 9) return pad2(t.int(1, 12)) + pad2(t.int(0, 99));
  return String(t.int(100, 999));
}

function date(t) {
  const d = pad2(t.int(1, 28));
  const m = pad2(t.int(1, 12));
  const y = year(t);
  switch (t.int(0, 6)) {
    case 0: return d + m;
    case 1: return m + d;
    case 2: return y;
    case 3: return y.slice(2);
    case 4: return d + m + y.slice(2);
    case 5: return d + m + y;
    default: return m + d + y;
  }
}

const KINDS = [
  ["common", 0.2, common],
  ["wordNum", 0.2, wordNum],
  ["capSym", 0.15, capSym],
  ["leet", 0.1, leet],
  ["phrase", 0.1, phrase],
  ["nameDate", 0.1, nameDate],
  ["random", 0.1, random],
  ["keyboard", 0.05, keyboard],
];

// Common passwords are drawn stratified over the list: the k-th of n draws
// comes from the k-th slice of the ranks, so rare entries appear as well.
function common(t, L, k, n) {
  const slice = L.passwords.length / n;
  return L.passwords[Math.min(L.passwords.length - 1, Math.floor((k + t.int(0, 1e9) / 1e9) * slice))];
}

function wordNum(t, L) {
  let w = t.skewed(L.words);
  if (t.chance(0.35)) w = capitalise(w);
  let s = w + digits(t);
  if (t.chance(0.2)) s += t.pick(["!", "!", "?", ".", "#", "$", "*"]);
  return s;
}

function capSym(t, L) {
  const w = capitalise(t.skewed(L.words));
  const sym = t.pick([...COMMON_SYMBOLS]);
  const num = t.chance(0.5) ? year(t) : String(t.int(1, 999));
  switch (t.int(0, 3)) {
    case 0: return w + sym + num;
    case 1: return w + num + sym;
    case 2: return sym + w + num;
    default: return w + sym + capitalise(t.skewed(L.words)).slice(0, t.int(3, 6)) + num;
  }
}

function leet(t, L) {
  const w = t.chance(0.3) ? t.pick(L.passwords.slice(0, 2000).filter((p) => /^[a-z]{5,}$/.test(p))) : t.skewed(L.words);
  let out = "";
  let swapped = 0;
  for (const c of w) {
    if (LEET[c] && t.chance(0.6)) {
      out += t.pick(LEET[c]);
      swapped++;
    } else {
      out += c;
    }
  }
  if (swapped === 0) return null; // no l33t-able letter taken; draw again
  if (t.chance(0.3)) out = capitalise(out);
  if (t.chance(0.4)) out += t.chance(0.5) ? String(t.int(1, 99)) : t.pick([..."!?#$"]);
  return out;
}

function phrase(t, L) {
  const count = t.chance(0.6) ? 3 : 2;
  const sep = t.pick(["-", "-", ".", "_", " ", " ", "", "", "+", "/"]);
  const style = t.int(0, 2); // lower, Capitalised, First only
  const parts = [];
  for (let i = 0; i < count; i++) {
    const w = t.skewed(L.phraseWords, 1.5);
    parts.push(style === 1 || (style === 2 && i === 0) ? capitalise(w) : w);
  }
  let s = parts.join(sep);
  if (t.chance(0.25)) s += t.chance(0.5) ? String(t.int(1, 99)) : "!";
  return s;
}

function nameDate(t, L) {
  let n = t.chance(0.85) ? t.skewed(L.names, 1.5) : t.skewed(L.surnames, 1.5);
  if (t.chance(0.45)) n = capitalise(n);
  let s = n + (t.chance(0.1) ? t.pick(["_", ".", "@"]) : "") + date(t);
  if (t.chance(0.1)) s += "!";
  return s;
}

function random(t) {
  const alphabet = t.pick(ALPHABETS);
  const len = t.int(8, 16);
  let s = "";
  for (let i = 0; i < len; i++) s += alphabet[t.int(0, alphabet.length - 1)];
  return s;
}

function keyboard(t) {
  let s;
  if (t.chance(0.6)) {
    s = t.pick(KEYBOARD_BASES);
  } else {
    // A straight run along one row, either direction.
    const row = t.pick(ROWS);
    const len = t.int(4, Math.min(8, row.length));
    const at = t.int(0, row.length - len);
    s = row.slice(at, at + len);
    if (t.chance(0.3)) s = [...s].reverse().join("");
  }
  if (t.chance(0.2)) s = capitalise(s);
  if (t.chance(0.45)) s += t.pick(["1", "12", "123", "1234", "!", "!@#", "2024", "69", String(t.int(1, 99))]);
  return s;
}

/**
 * The corpus with the kind of each password, in a fixed shuffled order.
 * @param {number} n target size
 * @returns {{ password: string, kind: string }[]}
 */
export function buildLabelledCorpus(n = 3000) {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`corpus size must be a positive integer, got ${n}`);
  const rand = mulberry32(SEED);
  const t = tools(rand);
  const L = wordLists();
  const seen = new Set();
  const items = [];
  const quotas = KINDS.map(([, share]) => Math.floor(share * n));
  quotas[0] += n - quotas.reduce((a, b) => a + b, 0); // rounding goes to "common"
  KINDS.forEach(([kind, , make], i) => {
    const quota = quotas[i];
    let made = 0;
    for (let attempt = 0; made < quota && attempt < quota * 50; attempt++) {
      const pw = make(t, L, made, quota);
      if (pw === null || pw.length < 4 || pw.length > MAX_LENGTH || seen.has(pw)) continue;
      seen.add(pw);
      items.push({ password: pw, kind });
      made++;
    }
  });
  // Fisher-Yates with the same PRNG: kinds are interleaved in the timing loop.
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** The corpus as plain strings (deterministic; deduplicated). */
export function buildCorpus(n = 3000) {
  return buildLabelledCorpus(n).map((item) => item.password);
}

/** SHA-256 (hex) of the corpus joined with "\n": equal digests mean equal corpora. */
export function corpusDigest(passwords) {
  return createHash("sha256").update(passwords.join("\n")).digest("hex");
}

/** Counts per kind and a length histogram summary. */
export function describeCorpus(items) {
  const kinds = {};
  for (const { kind } of items) kinds[kind] = (kinds[kind] ?? 0) + 1;
  const lengths = items.map(({ password }) => password.length).sort((a, b) => a - b);
  const within = lengths.filter((l) => l >= 6 && l <= 24).length;
  return {
    size: items.length,
    kinds,
    minLength: lengths[0],
    medianLength: lengths[Math.floor(lengths.length / 2)],
    maxLength: lengths[lengths.length - 1],
    share6to24: within / lengths.length,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = process.argv[2] ? Number(process.argv[2]) : 3000;
  const items = buildLabelledCorpus(n);
  const passwords = items.map((i) => i.password);
  const d = describeCorpus(items);
  console.log(`corpus: ${d.size} passwords, sha256 ${corpusDigest(passwords)}`);
  console.log(`kinds: ${Object.entries(d.kinds).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  console.log(`lengths: min ${d.minLength}, median ${d.medianLength}, max ${d.maxLength}, ${(100 * d.share6to24).toFixed(1)}% within 6-24`);
  const byKind = {};
  for (const { password, kind } of items) (byKind[kind] ??= []).push(password);
  for (const [kind, list] of Object.entries(byKind)) console.log(`  ${kind.padEnd(9)} ${list.slice(0, 8).join("  ")}`);
}
