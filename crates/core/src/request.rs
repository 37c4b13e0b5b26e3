//! The request as core sees it: the few facts the edge reads off it once
//! (method, URL, the headers the checks need, whether it has a body), the
//! path every route decision uses, and the rules for reading a form the
//! edge must check (which lengths and media types it reads, duplicates,
//! missing fields).

use crate::messages::Locale;
use crate::paths::{
    PathDoubt, PathPatterns, canonical_path, canonical_raw_path, canonical_segment_path,
    media_type, path_doubt, path_info_key, plain_route, route_key,
};
use crate::refusal::{self, Refusal};

/// The request headers core reads, in the order of [`RequestFacts::headers`].
pub const FACT_HEADERS: [&str; 11] = [
    "CF-Connecting-IP",
    "Cookie",
    "Accept",
    "Accept-Language",
    "Content-Type",
    "Content-Length",
    crate::session::XSRF_HEADER,
    "Authorization",
    "Origin",
    "Sec-Fetch-Site",
    "Content-Encoding",
];

/// What the edge reads off a request before anything is decided.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    /// The method, as sent.
    pub method: String,
    /// The whole URL, as the runtime serialised it.
    pub url: String,
    /// The values of [`FACT_HEADERS`], in that order (`None` when absent).
    pub headers: [Option<String>; 11],
    /// Whether the request carries a body.
    pub has_body: bool,
}

impl std::fmt::Debug for RequestFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Cookies, the XSRF token and the application key are secrets.
        f.debug_struct("RequestFacts")
            .field("method", &self.method)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// A request, with the parts core decides on worked out once.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    facts: RequestFacts,
    path_start: usize,
    path_end: usize,
    route: String,
    raw_route: String,
    /// The path with each segment decoded after splitting.
    segment_route: String,
    route_key: String,
    info_key: Option<String>,
    doubt: PathDoubt,
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
        // Route decisions use the canonical path (decoded, dot segments
        // resolved, slashes merged, lowercase), so `/%6Cogin` is `/login`;
        // protected paths also hold for the raw path an origin may route
        // on. The request itself goes to the origin unchanged.
        let (route, raw_route, segment_route, doubt) = match plain_route(path) {
            // One spelling only: every reading is the same.
            Some(route) => (route.clone(), route.clone(), route, PathDoubt::default()),
            None => (
                canonical_path(path),
                canonical_raw_path(path),
                canonical_segment_path(path),
                path_doubt(path),
            ),
        };
        let route_key = route_key(&route);
        let info_key = path_info_key(&route);
        let write = crate::bans::is_write(&facts.method);
        Self {
            facts,
            path_start,
            path_end,
            route,
            raw_route,
            segment_route,
            route_key,
            info_key,
            doubt,
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

    /// `scheme://host[:port]` of the URL (the site's own origin).
    pub(crate) fn own_origin(&self) -> &str {
        &self.facts.url[..self.path_start]
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

    /// The key the checked routes are matched on (see `paths::route_key`).
    pub(crate) fn route_key(&self) -> &str {
        &self.route_key
    }

    /// Whether the request is for the checked route keyed `key`: by its
    /// route key, or by the path info after a PHP script (a front
    /// controller's `/index.php/login`).
    pub(crate) fn is_route(&self, key: &str) -> bool {
        self.route_key == key || self.info_key.as_deref() == Some(key)
    }

    /// What makes the path ambiguous, if anything.
    pub(crate) fn path_doubt(&self) -> PathDoubt {
        self.doubt
    }

    /// Whether `patterns` hold for this request: for its decoded path, its
    /// raw path, its path decoded segment by segment, its route key
    /// (`/contact.json`, `/contact.php/x`) or the path info after a PHP
    /// script (`/index.php/contact`): any may be what the origin routes on.
    pub(crate) fn under(&self, patterns: &PathPatterns) -> bool {
        [
            &self.route,
            &self.raw_route,
            &self.segment_route,
            &self.route_key,
        ]
        .into_iter()
        .chain(self.info_key.as_ref())
        .any(|route| patterns.matches(route))
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

    /// The language of messages: the first `Accept-Language` tag, in the
    /// order sent, that we speak (`it, de;q=0.8` gives German); English
    /// when there is none.
    pub(crate) fn locale(&self) -> Locale {
        self.header(3)
            .and_then(|v| {
                v.split(',')
                    .take(32)
                    .find_map(|tag| Locale::parse(tag.split(';').next().unwrap_or_default()))
            })
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

    /// Whether an `Authorization` header came.
    pub(crate) fn has_authorization(&self) -> bool {
        self.header(7).is_some()
    }

    /// The `Authorization` header.
    pub(crate) fn authorization(&self) -> Option<&str> {
        self.header(7)
    }

    /// `Origin`.
    pub(crate) fn origin(&self) -> Option<&str> {
        self.header(8)
    }

    /// `Sec-Fetch-Site`.
    pub(crate) fn sec_fetch_site(&self) -> Option<&str> {
        self.header(9)
    }

    /// `Content-Encoding`.
    pub(crate) fn content_encoding(&self) -> Option<&str> {
        self.header(10)
    }

    /// Whether the request carries a body.
    pub(crate) fn has_body(&self) -> bool {
        self.facts.has_body
    }

    /// Whether the request submits something to a checked route: a write,
    /// or any method with a body (PHP reads `php://input` on `OPTIONS`
    /// and `GET` too).
    pub(crate) fn submits(&self) -> bool {
        self.write || self.facts.has_body
    }

    /// Whether the body is a form (urlencoded or multipart).
    pub(crate) fn is_form(&self) -> bool {
        matches!(
            self.media_type().as_str(),
            "application/x-www-form-urlencoded" | "multipart/form-data"
        )
    }
}

/// Whether an unsafe request comes from another site's page: a browser
/// says so in `Sec-Fetch-Site` (`cross-site`; `same-origin`, `same-site`
/// and `none` pass) or, without it, by an `Origin` that is `null` or
/// neither the site's own nor one of `allowed`. A request with neither
/// header (a client that is not a browser) is not cross-site.
pub(crate) fn cross_site(req: &Request, allowed: &[String]) -> bool {
    if let Some(site) = req.sec_fetch_site() {
        match site.trim().to_ascii_lowercase().as_str() {
            "same-origin" | "same-site" | "none" => return false,
            "cross-site" => return true,
            _ => {}
        }
    }
    match req.origin().map(str::trim) {
        None => false,
        Some(origin) => {
            let origin = origin.to_ascii_lowercase();
            origin == "null"
                || (origin != req.own_origin().to_ascii_lowercase() && !allowed.contains(&origin))
        }
    }
}

/// Whether a form the edge must check can be read: a body with a length
/// under the cap, in a format the edge reads (the origin might read another
/// differently).
pub(crate) fn form_readable(req: &Request) -> Result<(), Refusal> {
    match req.content_length() {
        None => Err(refusal::length_required(
            "Send the form with a Content-Length.",
        )),
        Some(n) if n > MAX_FORM_BYTES => Err(refusal::body_too_large("The form is too large.")),
        Some(_) if req.media_type() == "application/json" || req.is_form() => Ok(()),
        Some(_) => Err(refusal::unsupported_body(
            "Send the form as urlencoded, multipart or JSON.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::percent_decode;

    fn request(method: &str, url: &str, headers: &[(usize, &str)]) -> Request {
        let mut values: [Option<String>; 11] = Default::default();
        for (i, v) in headers {
            values[*i] = Some((*v).to_owned());
        }
        Request::new(RequestFacts {
            method: method.into(),
            url: url.into(),
            headers: values,
            has_body: false,
        })
    }

    #[test]
    fn paths_are_sliced_and_canonical() {
        let r = request("GET", "https://edge.example/%6Cogin/?a=1#x", &[]);
        assert_eq!(r.path(), "/%6Cogin/");
        assert_eq!(r.path_and_query(), "/%6Cogin/?a=1");
        assert_eq!(r.query(), "a=1");
        assert_eq!(r.route(), "/login");
        assert_eq!(r.own_origin(), "https://edge.example");
        let bare = request("GET", "https://edge.example", &[]);
        assert_eq!(
            (bare.path(), bare.path_and_query(), bare.route()),
            ("/", "/", "/")
        );
    }

    #[test]
    fn the_first_accept_language_tag_spoken_wins() {
        let locale = |v: &str| request("POST", "https://e/signup", &[(3, v)]).locale();
        assert_eq!(locale("de-AT,de;q=0.9,en;q=0.8"), Locale::De);
        assert_eq!(locale("it-IT, fr;q=0.7, en;q=0.5"), Locale::Fr);
        assert_eq!(locale("pl"), Locale::Pl);
        assert_eq!(locale("x-klingon, *;q=0.1"), Locale::En);
        assert_eq!(locale(""), Locale::En);
        assert_eq!(request("GET", "https://e/", &[]).locale(), Locale::En);
    }

    #[test]
    fn forms_need_a_length_and_a_known_type() {
        let code = |h: &[(usize, &str)]| {
            form_readable(&request("POST", "https://e/login", h)).map_err(|r| r.code)
        };
        assert_eq!(code(&[]), Err("length_required"));
        assert_eq!(code(&[(5, "300000")]), Err("body_too_large"));
        assert_eq!(code(&[(5, "10")]), Err("unsupported_body"));
        assert_eq!(
            code(&[(5, "10"), (4, "Application/JSON; charset=utf-8")]),
            Ok(())
        );
        assert_eq!(
            code(&[(5, "10"), (4, "application/jsonp")]),
            Err("unsupported_body")
        );
        assert_eq!(
            code(&[(5, "10"), (4, "multipart/form-data; boundary=x")]),
            Ok(())
        );
    }

    #[test]
    fn cross_site_requests() {
        let at = |h: &[(usize, &str)]| {
            cross_site(
                &request("POST", "https://site.example/login", h),
                &["https://partner.example".into()],
            )
        };
        assert!(!at(&[]));
        assert!(at(&[(9, "cross-site")]));
        assert!(!at(&[(9, "same-site"), (8, "https://evil.example")]));
        assert!(!at(&[(9, "none")]));
        assert!(at(&[(8, "null")]));
        assert!(at(&[(8, "https://evil.example")]));
        assert!(!at(&[(8, "https://site.example")]));
        assert!(!at(&[(8, "https://partner.example")]));
        assert!(at(&[(8, "https://site.example.evil")]));
    }

    /// Dot segments resolved on `segments`, then whether the first is `app`
    /// (case ignored, as Express does).
    fn routes_under_app(segments: Vec<String>) -> bool {
        let mut out: Vec<String> = Vec::new();
        for s in segments {
            match s.as_str() {
                "" | "." => {}
                ".." => {
                    out.pop();
                }
                _ => out.push(s),
            }
        }
        out.first().is_some_and(|s| s.eq_ignore_ascii_case("app"))
    }

    const PIECES: [&str; 16] = [
        "app", "APP", "x", "..", ".", "", "%2e", "%2E%2e", "%2f", "%5c", "%25", "%252e", "%61pp",
        ";v=1", "\\", "%00",
    ];

    proptest::proptest! {
        /// A path the edge does not refuse is protected whenever a model
        /// origin routes it under `/app/`: one routing on the raw path,
        /// one decoding first (backslashes as slashes), one decoding each
        /// segment after splitting; also when encoded separators are
        /// allowed (`routes.allowEncodedSeparators`).
        #[test]
        fn a_path_reads_one_way_or_is_refused(
            pieces in proptest::collection::vec(0..PIECES.len(), 1..7),
            allow_separators in proptest::bool::ANY,
        ) {
            let path = format!("/{}", pieces.iter().map(|i| PIECES[*i]).collect::<Vec<_>>().join("/"));
            let req = request("GET", &format!("https://edge.example{path}"), &[]);
            let doubt = req.path_doubt();
            if !doubt.double_encoded && (allow_separators || !doubt.encoded_separator) {
                let protected = PathPatterns::new(&["/app/*".to_owned()]);
                let raw: Vec<String> = path.split('/').map(str::to_owned).collect();
                let decoded: Vec<String> = percent_decode(&path).replace('\\', "/").split('/').map(str::to_owned).collect();
                let per_segment: Vec<String> = path.split('/').map(percent_decode).collect();
                for (name, model) in [("raw", raw), ("decoded", decoded), ("per segment", per_segment)] {
                    if routes_under_app(model) {
                        proptest::prop_assert!(req.under(&protected), "{} routes {} under /app", name, path);
                    }
                }
                proptest::prop_assert_eq!(canonical_path(&percent_decode(&path)), req.route().to_owned());
            }
        }
    }
}
