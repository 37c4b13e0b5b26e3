//! The edge's fetches other than to the origin: CAPTCHA verification,
//! signed webhooks, the fraud feed.

use wasm_bindgen_futures::JsFuture;
use worker::Result;

use super::glue;

/// Posts a CAPTCHA verification; `None` when the provider did not answer
/// 200 within `timeout_ms`.
pub(crate) async fn verify_captcha(
    url: &str,
    body: &str,
    timeout_ms: u32,
) -> Result<Option<String>> {
    let answer = JsFuture::from(glue::verify_captcha_js(url, body, timeout_ms)).await?;
    Ok(answer.as_string())
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

/// The text at `url` when it answers 200; `None` (logged) otherwise.
pub(crate) async fn fetch_text(url: &str) -> Option<String> {
    let parsed = match url.parse() {
        Ok(parsed) => parsed,
        Err(e) => {
            worker::console_error!("portcullis: fraud feed URL: {e}");
            return None;
        }
    };
    match worker::Fetch::Url(parsed).send().await {
        Ok(mut response) if response.status_code() == 200 => response.text().await.ok(),
        Ok(response) => {
            worker::console_error!("portcullis: fraud feed answered {}", response.status_code());
            None
        }
        Err(e) => {
            worker::console_error!("portcullis: fraud feed unreachable: {e}");
            None
        }
    }
}
