//! The edge's fetches other than to the origin: CAPTCHA verification,
//! signed webhooks, the fraud feed, breached-password ranges.

use wasm_bindgen_futures::JsFuture;
use worker::Result;

use super::glue;

/// Posts a CAPTCHA verification: the provider's status (`0` when it did
/// not answer within `timeout_ms`) and body.
pub(crate) async fn verify_captcha(
    url: &str,
    body: &str,
    timeout_ms: u32,
) -> Result<(u16, String)> {
    let answer = JsFuture::from(glue::verify_captcha_js(url, body, timeout_ms)).await?;
    let text = answer.as_string().unwrap_or_default();
    let (status, body) = text.split_once('\0').unwrap_or(("0", ""));
    Ok((status.parse().unwrap_or(0), body.to_owned()))
}

/// POSTs a signed webhook; the receiver's status, or 0 when it could not
/// be reached within `timeout_ms`.
pub(crate) async fn post_signed(
    url: &str,
    body: &str,
    signature: &str,
    timeout_ms: u32,
) -> Result<u16> {
    let answer = JsFuture::from(glue::post_signed_js(url, body, signature, timeout_ms)).await?;
    Ok(answer.as_f64().map_or(0, |n| n as u16))
}

/// The text at `url` when it answers 200 within a minute and
/// `MAX_FEED_BYTES`; `None` (logged) otherwise.
pub(crate) async fn fetch_text(url: &str) -> Option<String> {
    let cap = u32::try_from(portcullis_core::MAX_FEED_BYTES).unwrap_or(u32::MAX);
    let answer = JsFuture::from(glue::fetch_text_js(url, cap, 60_000, "fraud feed", false))
        .await
        .ok()?;
    answer.as_string()
}

/// A breached-password range (`Add-Padding: true`) when the range API
/// answers 200 within `timeout_ms` and core's size cap; `None` (logged)
/// otherwise.
pub(crate) async fn fetch_range(url: &str, timeout_ms: u32) -> Option<String> {
    let cap = portcullis_core::breach::MAX_RANGE_BYTES;
    let promise = glue::fetch_text_js(url, cap, timeout_ms, "breach range API", true);
    JsFuture::from(promise).await.ok()?.as_string()
}
