//! The request as core sees it: the few facts the edge reads off it once
//! (method, URL, the headers the checks need, whether it has a body), the
//! path every route decision uses, and the rules for reading a form the
//! edge must check (which lengths and media types it reads, duplicates,
//! missing fields).

use serde_json::Value;

use crate::messages::Locale;
use crate::paths::{canonical_path, media_type};
use crate::refusal::{self, Refusal};

/// The request headers core reads, in the order of [`RequestFacts::headers`].
pub const FACT_HEADERS: [&str; 7] = [
    "CF-Connecting-IP",
    "Cookie",
    "Accept",
    "Accept-Language",
    "Content-Type",
    "Content-Length",
    crate::session::XSRF_HEADER,
];

/// What the edge reads off a request before anything is decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    /// The method, as sent.
    pub method: String,
    /// The whole URL, as the runtime serialised it.
    pub url: String,
    /// The values of [`FACT_HEADERS`], in that order (`None` when absent).
    pub headers: [Option<String>; 7],
    /// Whether the request carries a body.
    pub has_body: bool,
}

/// A request, with the parts core decides on worked out once.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    facts: RequestFacts,
    path_start: usize,
    path_end: usize,
    route: String,
    write: bool,
}

/// Largest login, signup, change or reset form the edge reads.
pub(crate) const MAX_FORM_BYTES: u64 = 256 * 1024;

impl Request {
    /// The request the facts describe.
    pub(crate) fn new(facts: RequestFacts) -> Self {
        let url = facts.url.as_str();
        let after_scheme = url.find("://").map_or(0, |i| i + 3);
        let path_start = url[after_scheme..]
            .find('/')
            .map_or(url.len(), |i| after_scheme + i);
        let path_end = url[path_start..]
            .find(['?', '#'])
            .map_or(url.len(), |i| path_start + i);
        let path = if path_start < url.len() {
            &url[path_start..path_end]
        } else {
            "/"
        };
        // Every route decision uses the canonical path (decoded, dot
        // segments resolved, slashes merged, lowercase), so `/%6Cogin` is
        // `/login`; the request itself goes to the origin unchanged.
        let route = canonical_path(path);
        let write = crate::bans::is_write(&facts.method);
        Self {
            facts,
            path_start,
            path_end,
            route,
            write,
        }
    }

    /// The method.
    pub(crate) fn method(&self) -> &str {
        &self.facts.method
    }

    /// Whether the method is unsafe (anything but GET, HEAD, OPTIONS).
    pub(crate) fn is_write(&self) -> bool {
        self.write
    }

    /// The whole URL.
    pub(crate) fn url(&self) -> &str {
        &self.facts.url
    }

    /// The raw path, as sent.
    pub(crate) fn path(&self) -> &str {
        if self.path_start < self.facts.url.len() {
            &self.facts.url[self.path_start..self.path_end]
        } else {
            "/"
        }
    }

    /// The raw path with its query (what the origin is sent).
    pub(crate) fn path_and_query(&self) -> &str {
        if self.path_start < self.facts.url.len() {
            let url = &self.facts.url[self.path_start..];
            url.split('#').next().unwrap_or(url)
        } else {
            "/"
        }
    }

    /// The query, without `?` (empty when none).
    pub(crate) fn query(&self) -> &str {
        self.path_and_query().split_once('?').map_or("", |(_, q)| q)
    }

    /// The first value of query parameter `name` (form-decoded).
    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query().as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The canonical path every route decision is made on.
    pub(crate) fn route(&self) -> &str {
        &self.route
    }

    fn header(&self, index: usize) -> Option<&str> {
        self.facts.headers[index].as_deref()
    }

    /// `CF-Connecting-IP`.
    pub(crate) fn client_ip(&self) -> Option<&str> {
        self.header(0)
    }

    /// `Cookie`.
    pub(crate) fn cookies(&self) -> Option<&str> {
        self.header(1)
    }

    /// Whether the client asks for HTML (pages are redirected, APIs answered).
    pub(crate) fn wants_html(&self) -> bool {
        self.header(2)
            .is_some_and(|a| a.to_ascii_lowercase().contains("text/html"))
    }

    /// `Accept`, as sent (empty when absent).
    pub(crate) fn accept(&self) -> &str {
        self.header(2).unwrap_or_default()
    }

    /// The language of messages: the first `Accept-Language` tag we speak.
    pub(crate) fn locale(&self) -> Locale {
        self.header(3)
            .and_then(|v| v.split([',', ';']).next().and_then(Locale::parse))
            .unwrap_or_default()
    }

    /// `Content-Type`, as sent (empty when absent).
    pub(crate) fn content_type(&self) -> &str {
        self.header(4).unwrap_or_default()
    }

    /// The media type of the body, lowercased, without parameters.
    pub(crate) fn media_type(&self) -> String {
        media_type(self.content_type())
    }

    /// The declared `Content-Length`, when it is a number.
    pub(crate) fn content_length(&self) -> Option<u64> {
        self.header(5).and_then(|v| v.trim().parse::<u64>().ok())
    }

    /// The XSRF token echoed in `X-XSRF-Token`.
    pub(crate) fn xsrf_header(&self) -> Option<&str> {
        self.header(6)
    }

    /// Whether the request carries a body.
    pub(crate) fn has_body(&self) -> bool {
        self.facts.has_body
    }

    /// Whether the body is a form the runtime reads field by field.
    pub(crate) fn is_form(&self) -> bool {
        matches!(
            self.media_type().as_str(),
            "application/x-www-form-urlencoded" | "multipart/form-data"
        )
    }
}

/// How the edge reads a form's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    /// Urlencoded or multipart, through the runtime's form parser: every
    /// entry of each named field.
    Fields,
    /// The body as text (JSON, or a form core rewrites).
    Text,
}

/// One entry of a form field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// A text value.
    Text(String),
    /// A file.
    File,
}

/// What the edge read of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormInput {
    /// Per requested name, every entry sent under it.
    Fields(Vec<Vec<FieldValue>>),
    /// The body as text.
    Text(String),
    /// The body could not be read as that kind of form.
    Unreadable,
}

/// Which reader a form the edge must check needs, or why it is refused:
/// a body without a length or too large, or a format the edge does not
/// read (the origin might read it differently).
pub(crate) fn form_reader(req: &Request) -> Result<FormKind, Refusal> {
    match req.content_length() {
        None => {
            return Err(refusal::length_required(
                "Send the form with a Content-Length.",
            ));
        }
        Some(n) if n > MAX_FORM_BYTES => {
            return Err(refusal::body_too_large("The form is too large."));
        }
        Some(_) => {}
    }
    if req.media_type() == "application/json" {
        Ok(FormKind::Text)
    } else if req.is_form() {
        Ok(FormKind::Fields)
    } else {
        Err(refusal::unsupported_body(
            "Send the form as urlencoded, multipart or JSON.",
        ))
    }
}

/// The values of `names` in what the edge read: a text value or `None`
/// per name. A field sent twice is refused (frameworks disagree on which
/// copy counts), as is a body that is not a readable form or JSON object.
pub(crate) fn checked_fields(
    input: FormInput,
    names: &[&str],
) -> Result<Vec<Option<String>>, Refusal> {
    match input {
        FormInput::Text(text) => {
            let value: Value =
                serde_json::from_str(&text).map_err(|_| refusal::malformed_form())?;
            let object = value.as_object().ok_or_else(refusal::malformed_form)?;
            Ok(names
                .iter()
                .map(|n| object.get(*n).and_then(Value::as_str).map(str::to_owned))
                .collect())
        }
        FormInput::Fields(fields) => {
            if fields.len() != names.len() {
                return Err(refusal::malformed_form());
            }
            fields
                .into_iter()
                .map(|entries| {
                    if entries.len() > 1 {
                        return Err(refusal::duplicate_field());
                    }
                    Ok(entries.into_iter().find_map(|v| match v {
                        FieldValue::Text(text) => Some(text),
                        FieldValue::File => None,
                    }))
                })
                .collect()
        }
        FormInput::Unreadable => Err(refusal::malformed_form()),
    }
}

/// The first text value of the one field read leniently (the XSRF field:
/// a form that cannot be read simply has none).
pub(crate) fn first_text(input: FormInput) -> Option<String> {
    match input {
        FormInput::Fields(fields) => {
            fields
                .into_iter()
                .next()?
                .into_iter()
                .next()
                .and_then(|v| match v {
                    FieldValue::Text(text) => Some(text),
                    FieldValue::File => None,
                })
        }
        FormInput::Text(_) | FormInput::Unreadable => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, url: &str, headers: [Option<&str>; 7]) -> Request {
        Request::new(RequestFacts {
            method: method.into(),
            url: url.into(),
            headers: headers.map(|h| h.map(str::to_owned)),
            has_body: false,
        })
    }

    #[test]
    fn paths_are_sliced_and_canonical() {
        let r = request(
            "GET",
            "https://edge.example/%6Cogin/?a=1#x",
            Default::default(),
        );
        assert_eq!(r.path(), "/%6Cogin/");
        assert_eq!(r.path_and_query(), "/%6Cogin/?a=1");
        assert_eq!(r.query(), "a=1");
        assert_eq!(r.route(), "/login");
        let bare = request("GET", "https://edge.example", Default::default());
        assert_eq!(
            (bare.path(), bare.path_and_query(), bare.route()),
            ("/", "/", "/")
        );
    }

    #[test]
    fn forms_need_a_length_and_a_known_type() {
        let mut h: [Option<&str>; 7] = Default::default();
        let code = |h: [Option<&str>; 7]| {
            form_reader(&request("POST", "https://e/login", h)).map_err(|r| r.code)
        };
        assert_eq!(code(h), Err("length_required"));
        h[5] = Some("300000");
        assert_eq!(code(h), Err("body_too_large"));
        h[5] = Some("10");
        assert_eq!(code(h), Err("unsupported_body"));
        h[4] = Some("Application/JSON; charset=utf-8");
        assert_eq!(code(h), Ok(FormKind::Text));
        h[4] = Some("application/jsonp");
        assert_eq!(code(h), Err("unsupported_body"));
        h[4] = Some("multipart/form-data; boundary=x");
        assert_eq!(code(h), Ok(FormKind::Fields));
    }

    #[test]
    fn duplicates_and_damage_are_refused() {
        let text = |s: &str| FieldValue::Text(s.into());
        let two = FormInput::Fields(vec![vec![text("a"), text("b")]]);
        assert_eq!(
            checked_fields(two, &["x"]).unwrap_err().code,
            "duplicate_field"
        );
        let file_then_text = FormInput::Fields(vec![vec![FieldValue::File], vec![text("p")]]);
        assert_eq!(
            checked_fields(file_then_text, &["u", "p"]).unwrap(),
            vec![None, Some("p".into())]
        );
        let json = FormInput::Text(r#"{"u":"alice","p":7}"#.into());
        assert_eq!(
            checked_fields(json, &["u", "p"]).unwrap(),
            vec![Some("alice".into()), None]
        );
        for bad in [
            FormInput::Text("[1]".into()),
            FormInput::Text("{".into()),
            FormInput::Unreadable,
        ] {
            let refusal = checked_fields(bad, &["u"]).unwrap_err();
            assert_eq!(
                (refusal.code, refusal.warning.is_some()),
                ("malformed_body", true)
            );
        }
    }
}
