//! Time and randomness for one request, built once by the shell (the
//! Worker's clock and `crypto.getRandomValues`) and passed in, so core
//! never reads a clock or a random source of its own.

/// The moment a request is decided at, and random bytes drawn for it.
#[derive(Clone, Copy)]
pub struct Context {
    now_ms: u64,
    random: [u8; 32],
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The random bytes may become a session id: never printed.
        f.debug_struct("Context")
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context at `now_ms` (unix milliseconds) with 32 bytes from a
    /// cryptographically secure source.
    pub fn new(now_ms: u64, random: [u8; 32]) -> Self {
        Self { now_ms, random }
    }

    /// Unix seconds.
    pub fn now(&self) -> u64 {
        self.now_ms / 1000
    }

    /// Unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The request's random bytes (one use: a new session id or secret).
    pub fn random(&self) -> &[u8; 32] {
        &self.random
    }

    /// 32 secret bytes for `label`: HMAC-SHA-256 keyed by the random
    /// bytes, so each label's are independent of the others' and of
    /// [`Self::random`] (an ephemeral key per sealed field).
    #[cfg(feature = "vault")]
    pub(crate) fn secret_for(&self, label: &[u8]) -> [u8; 32] {
        use hmac::{Hmac, KeyInit, Mac};
        let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&self.random) else {
            // HMAC takes a key of any length: unreachable.
            return [0; 32];
        };
        mac.update(label);
        mac.finalize().into_bytes().into()
    }

    /// 16 bytes derived from the random bytes for `label` (SHA-256 of
    /// both), independent of [`Self::random`]'s other uses: an id that
    /// must be unique, never a secret.
    pub(crate) fn derive(&self, label: &[u8]) -> [u8; 16] {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(label)
            .chain_update(self.random)
            .finalize();
        let mut out = [0; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }
}
