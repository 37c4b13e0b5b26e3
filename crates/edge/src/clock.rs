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

/// Random bytes drawn from the runtime per call into it (32 requests'
/// worth): one `crypto.getRandomValues` per request was a measurable
/// share of the hot path. Each 32 bytes are handed out once.
const POOL: usize = 1024;

thread_local! {
    /// Unused random bytes, and where the unused ones start.
    static RANDOM: std::cell::RefCell<([u8; POOL], usize)> =
        const { std::cell::RefCell::new(([0; POOL], POOL)) };
}

/// 32 bytes from the runtime's secure random source (never handed out twice).
pub(crate) fn random_bytes() -> Result<[u8; 32]> {
    RANDOM.with(|pool| {
        let mut pool = pool.borrow_mut();
        let (bytes, next) = &mut *pool;
        if *next + 32 > POOL {
            getrandom::fill(bytes)
                .map_err(|_| worker::Error::RustError("no random source".into()))?;
            *next = 0;
        }
        let mut random = [0u8; 32];
        random.copy_from_slice(&bytes[*next..*next + 32]);
        // Spent bytes do not stay in memory.
        bytes[*next..*next + 32].fill(0);
        *next += 32;
        Ok(random)
    })
}

/// The time and random bytes one request is decided with.
pub(crate) fn context() -> Result<Context> {
    Ok(Context::new(now_millis(), random_bytes()?))
}
