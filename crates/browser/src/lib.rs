//! The wasm-bindgen layer of the npm package `portcullis`. It translates JS
//! values to core types and back, and decides nothing itself: every rule is
//! in `portcullis-core`.
//!
//! The crate is built twice: without the `estimator` feature it is the small
//! module that answers on the first keystroke (estimator rules "pending"),
//! with it the module the package loads on demand. The JS wrapper in
//! `pkg/src/` hides the two behind one `PasswordChecker` class, checks
//! argument types, and parses the JSON these functions return (one string
//! crossing the boundary is cheaper than building objects field by field).

use portcullis_core::{
    Catalog, Field, Locale, POLICY_VERSION, PasswordChecker, PasswordPolicy, Subject, TextOps,
};
use wasm_bindgen::prelude::*;

/// NFKC and lowercasing by the JS engine: the browser already ships
/// Unicode's tables, so the package need not carry ~100 KB of its own.
const JS_TEXT: TextOps = TextOps {
    nfkc: |text| js_sys::JsString::from(text).normalize("NFKC").into(),
    lowercase: |text| js_sys::JsString::from(text).to_lower_case().into(),
};

/// A password checker for one policy and message catalog (wrapped by the
/// package's `PasswordChecker`).
#[wasm_bindgen]
pub struct Checker {
    inner: PasswordChecker,
    catalog: Catalog,
    policy_json: String,
}

/// The locale a BCP 47 tag falls back to (`de-AT` → `de` → `en`); never
/// an error.
#[wasm_bindgen(js_name = resolveLocale)]
pub fn resolve_locale(tag: &str) -> String {
    Locale::negotiate(tag).tag().to_owned()
}

#[wasm_bindgen]
impl Checker {
    /// A checker for the named preset, with texts from `catalog` (a parsed
    /// `locales/<tag>.json` of the package).
    #[wasm_bindgen(js_name = fromPreset)]
    pub fn from_preset(name: &str, catalog: &JsValue) -> Result<Checker, JsError> {
        // The password rules alone: the rest of a preset's document would
        // only cost the first module bytes.
        let passwords = PasswordPolicy::preset(name).map_err(|e| JsError::new(&e.to_string()))?;
        Self::build(passwords, catalog)
    }

    /// A checker for a policy document (the edge's public policy or a full
    /// policy) already parsed by `JSON.parse`: core reads the fields, so this
    /// module carries no JSON parser.
    #[wasm_bindgen(js_name = fromPolicy)]
    pub fn from_policy(document: &JsValue, catalog: &JsValue) -> Result<Checker, JsError> {
        let field = to_field(document, 0)?;
        let policy = PasswordPolicy::from_document_field(&field)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Self::build(policy, catalog)
    }

    fn build(policy: PasswordPolicy, catalog: &JsValue) -> Result<Checker, JsError> {
        let catalog = Catalog::from_document(&to_field(catalog, 0)?)
            .map_err(|e| JsError::new(&format!("invalid message catalog: {e}")))?;
        let policy_json =
            serde_json::json!({ "version": POLICY_VERSION, "passwords": policy }).to_string();
        Ok(Checker {
            inner: PasswordChecker::with_text_ops(policy, JS_TEXT),
            catalog,
            policy_json,
        })
    }

    /// The verdict on `password` as JSON (a `CheckResult`: core's
    /// `Verdict`, whose TypeScript type `pkg/types.d.ts` is generated from).
    pub fn check(
        &self,
        password: &str,
        username: &str,
        email: &str,
        name: &str,
        is_admin: bool,
    ) -> String {
        let subject = Subject {
            username: username.to_owned(),
            email: email.to_owned(),
            name: name.to_owned(),
            is_admin,
        };
        self.inner
            .check(password, &subject, &self.catalog)
            .to_json()
    }

    /// The active requirements as JSON (`Requirement[]`).
    pub fn requirements(&self) -> String {
        // Plain data with string keys: cannot fail.
        serde_json::to_string(&self.inner.requirements(&self.catalog)).unwrap_or_default()
    }

    /// A random password that satisfies the policy (randomness from
    /// `crypto.getRandomValues`).
    pub fn generate(&self) -> Result<String, JsError> {
        let mut failed = false;
        let password = self.inner.generate(&mut |buf| {
            failed |= getrandom::fill(buf).is_err();
        });
        if failed {
            return Err(JsError::new(
                "no secure random source (crypto.getRandomValues) available",
            ));
        }
        Ok(password)
    }

    /// The password section this checker enforces, as a policy document.
    #[wasm_bindgen(js_name = policyJson)]
    pub fn policy_json(&self) -> String {
        self.policy_json.clone()
    }
}

/// Deepest nesting accepted in a policy document (the real one has three levels).
const MAX_DEPTH: usize = 16;

/// Translates a parsed JS value into core's [`Field`].
fn to_field(value: &JsValue, depth: usize) -> Result<Field, JsError> {
    if depth > MAX_DEPTH {
        return Err(JsError::new("invalid policy JSON: nested too deeply"));
    }
    if value.is_null() || value.is_undefined() {
        return Ok(Field::Null);
    }
    if let Some(b) = value.as_bool() {
        return Ok(Field::Bool(b));
    }
    if let Some(n) = value.as_f64() {
        return Ok(Field::Number(n));
    }
    if let Some(s) = value.as_string() {
        return Ok(Field::Text(s));
    }
    if js_sys::Array::is_array(value) {
        let array = js_sys::Array::from(value);
        return array
            .iter()
            .map(|item| to_field(&item, depth + 1))
            .collect::<Result<_, _>>()
            .map(Field::List);
    }
    if value.is_object() {
        let entries = js_sys::Object::entries(value.unchecked_ref());
        let mut fields = Vec::with_capacity(entries.length() as usize);
        for entry in entries.iter() {
            let pair = js_sys::Array::from(&entry);
            let key = pair.get(0).as_string().unwrap_or_default();
            fields.push((key, to_field(&pair.get(1), depth + 1)?));
        }
        return Ok(Field::Object(fields));
    }
    Err(JsError::new(
        "invalid policy JSON: values must be JSON (objects, arrays, strings, numbers, booleans, null)",
    ))
}

/// The CLDR plural category core picks for the whole number `n` in the
/// language of `tag` (only in the on-demand module: the tests compare it
/// with `Intl.PluralRules`).
#[cfg(feature = "estimator")]
#[wasm_bindgen(js_name = pluralCategory)]
pub fn plural_category(tag: &str, n: u32) -> String {
    Locale::negotiate(tag).plural(n.into()).name().to_owned()
}

/// Seals `value` for the form field `field` to the vault's public key (the
/// public policy's `vault`): the envelope the edge passes as it is and only
/// the vault's passphrase opens. Only in the on-demand module.
#[cfg(feature = "estimator")]
#[wasm_bindgen(js_name = sealField)]
pub fn seal_field(
    public_key: &str,
    key_id: &str,
    field: &str,
    value: &str,
) -> Result<String, JsError> {
    let mut random = [0u8; portcullis_core::vault::SEAL_RANDOM];
    getrandom::fill(&mut random)
        .map_err(|_| JsError::new("no secure random source (crypto.getRandomValues) available"))?;
    let vault = portcullis_core::PublicVault {
        public_key: public_key.to_owned(),
        key_id: key_id.to_owned(),
    };
    portcullis_core::vault::seal(&vault, field, value, &random)
        .map_err(|e| JsError::new(&e.to_string()))
}

/// The built-in CAPTCHA's solver: the first counter from `start`, trying
/// at most `count`, whose `SHA-256(prefix ‖ counter)` starts with `bits`
/// zero bits (`prefix`: the challenge and a dot); `-1` when none does. The
/// package calls it in slices from a Web Worker, reporting progress
/// between them. Only in the on-demand module.
#[cfg(feature = "estimator")]
#[wasm_bindgen(js_name = solveChallenge)]
pub fn solve_challenge(prefix: &str, bits: u32, start: f64, count: u32) -> f64 {
    // Counters stay below 2^53, exact in a JS number.
    let start = if start.is_finite() && start >= 0.0 {
        start as u64
    } else {
        0
    };
    portcullis_core::challenge::solve(prefix, bits, start, count.into())
        .map_or(-1.0, |counter| counter as f64)
}

/// The live breached-password check, judged by core as the edge judges
/// it: how often the password whose SHA-1 ends in `suffix` (35 hex
/// digits) appears in `range` (the range API's answer for its prefix)
/// when that is at least `min_count`, else `0`; `-1` when the answer is
/// not a range. Only in the on-demand module.
#[cfg(feature = "estimator")]
#[wasm_bindgen(js_name = breachJudge)]
pub fn breach_judge(range: &str, suffix: &str, min_count: u32) -> f64 {
    use portcullis_core::breach::{Outcome, Range, judge};
    let policy = portcullis_core::BreachedPolicy {
        enabled: true,
        min_count,
        ..portcullis_core::BreachedPolicy::default()
    };
    let Some(range) = Range::parse(range) else {
        return -1.0;
    };
    match judge(&policy, suffix, Some(&range)) {
        Outcome::Breached(count) => count as f64,
        _ => 0.0,
    }
}

/// The benchmark's solved challenge at the default difficulty
/// (`bench/captcha.js` times [`bench_verify_challenge`] on it).
#[cfg(feature = "estimator")]
#[doc(hidden)]
#[wasm_bindgen(js_name = benchChallenge)]
pub fn bench_challenge() -> String {
    let (challenge, bits) = portcullis_core::challenge::bench_challenge();
    let prefix = format!("{challenge}.");
    let counter = portcullis_core::challenge::solve(&prefix, bits, 0, u64::MAX).unwrap_or(0);
    format!("{prefix}{counter}")
}

/// Core's verification of a [`bench_challenge`] solution, in wasm as the
/// edge runs it (the benchmark's; nothing else calls it).
#[cfg(feature = "estimator")]
#[doc(hidden)]
#[wasm_bindgen(js_name = benchVerifyChallenge)]
pub fn bench_verify_challenge(solution: &str, times: u32) -> u32 {
    (0..times)
        .filter(|_| portcullis_core::challenge::bench_verify(solution))
        .count() as u32
}

/// Names of the built-in presets.
#[wasm_bindgen]
pub fn presets() -> Vec<String> {
    portcullis_core::PRESET_NAMES
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}
