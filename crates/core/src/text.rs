//! The two Unicode operations password and account rules need: NFKC
//! normalisation and lowercasing, either core's own or the JS engine's;
//! and hex, for digests and ids.

/// The two Unicode operations password checking needs: NFKC and
/// lowercasing. Core has its own ([`TextOps::NATIVE`]); the browser package
/// passes the JS engine's, which already carries Unicode's tables, and so
/// saves its first module ~100 KB.
#[derive(Debug, Clone, Copy)]
pub struct TextOps {
    /// Unicode NFKC normalisation.
    pub nfkc: fn(&str) -> String,
    /// Unicode lowercasing (full case mapping).
    pub lowercase: fn(&str) -> String,
}

#[cfg(feature = "nfkc")]
impl TextOps {
    /// Rust's own: `unicode-normalization` and `str::to_lowercase`.
    pub const NATIVE: Self = Self {
        nfkc,
        lowercase: str::to_lowercase,
    };
}

/// Core's own NFKC normalisation.
#[cfg(feature = "nfkc")]
pub fn nfkc(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().collect()
}

/// Lower-case hex of `bytes` (digests and ids).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
