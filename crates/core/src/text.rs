//! The two Unicode operations password and account rules need: NFKC
//! normalisation and lowercasing, either core's own or the JS engine's;
//! hex, for digests and ids; and the `t=…,v1=…` signature headers.

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

/// The `t` (unix seconds) and `v1` of a `t=<seconds>,v1=<hex>` signature
/// header (webhooks' `Portcullis-Signature`, the origin's
/// `Portcullis-Identity-Signature`); `None` when either is missing.
pub(crate) fn timestamped_signature(header: &str) -> Option<(u64, &str)> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<u64>().ok(),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    Some((t?, v1?))
}
