//! Time and randomness from the runtime: the Worker's clock and
//! `crypto.getRandomValues`. A request gets them once, as core's
//! [`Context`]; the objects read the clock when an operation arrives.

use portcullis_core::Context;
use worker::Result;

/// Unix milliseconds.
pub(crate) fn now_millis() -> u64 {
    js_sys::Date::now() as u64
}

/// Unix seconds.
pub(crate) fn now_seconds() -> u64 {
    now_millis() / 1000
}

/// 32 bytes from the runtime's secure random source.
pub(crate) fn random_bytes() -> Result<[u8; 32]> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)
        .map_err(|_| worker::Error::RustError("no random source".into()))?;
    Ok(random)
}

/// The time and random bytes one request is decided with.
pub(crate) fn context() -> Result<Context> {
    Ok(Context::new(now_millis(), random_bytes()?))
}
