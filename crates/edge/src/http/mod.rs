//! HTTP at the edge: reading what core needs off a request, turning core's
//! answers into responses, the origin fetch, and the other outbound
//! fetches (CAPTCHA providers, webhook receivers, the fraud feed).

mod glue;
pub(crate) mod origin;
pub(crate) mod outbound;
pub(crate) mod reply;
pub(crate) mod request;
