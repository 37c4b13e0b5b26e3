//! Request paths as the edge decides on them: the canonical form every
//! route decision uses, prepared path patterns (exact, or a prefix before
//! `*`), percent-decoding, and the media type of a `Content-Type`.

/// The media type of a `Content-Type` value, lowercased, without
/// parameters: `"Application/JSON; charset=utf-8"` → `"application/json"`.
/// Form bodies are matched on it exactly (`application/jsonp` is not JSON).
pub(crate) fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The form of a request path every route decision is made on, so that
/// `/%6Cogin`, `//login/`, `/LOGIN`, `/x/../login` and `/login;jsessionid=1`
/// all count as `/login` (origins decode, merge slashes, ignore case or
/// strip parameters in different ways; the edge assumes the widest). It
/// percent-decodes once, resolves `.` and `..`, drops empty segments and
/// `;parameters`, and lowercases. The query is not part of it. The request
/// itself is forwarded unchanged.
pub(crate) fn canonical_path(raw: &str) -> String {
    let path = raw.split(['?', '#']).next().unwrap_or(raw);
    resolve(percent_decode(path).split(['/', '\\']))
}

/// Dot segments resolved, empty segments and `;parameters` dropped,
/// lowercased. A segment of nothing but parameters (`/app/;v=1/..`) still
/// counts for the `..` after it, as it does for an origin that keeps
/// parameters.
fn resolve<S: AsRef<str>>(segments: impl Iterator<Item = S>) -> String {
    let mut kept: Vec<String> = Vec::new();
    for segment in segments {
        let segment = segment.as_ref();
        let (name, params) = segment
            .split_once(';')
            .map_or((segment, false), |(n, _)| (n, true));
        match name {
            "" if params => kept.push(String::new()),
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s.to_lowercase()),
        }
    }
    kept.retain(|s| !s.is_empty());
    format!("/{}", kept.join("/"))
}

/// The same without percent-decoding: how an origin that routes on the
/// raw path sees it (`/app/..%2Fx` stays under `/app/`; a backslash is
/// not a separator).
pub(crate) fn canonical_raw_path(raw: &str) -> String {
    resolve(raw.split(['?', '#']).next().unwrap_or(raw).split('/'))
}

/// The same decoding each segment after splitting, as a router that
/// matches decoded segments does (`/app/x%2F..` keeps `x/..` whole, and
/// `/x/%2e%2e/app` is `/app`).
pub(crate) fn canonical_segment_path(raw: &str) -> String {
    resolve(
        raw.split(['?', '#'])
            .next()
            .unwrap_or(raw)
            .split('/')
            .map(percent_decode),
    )
}

/// The canonical form of a path that has one spelling only (the common
/// case, `/app/hello`): lowercase ASCII letters, digits, `-`, `_`, `~`,
/// `.` and single slashes, no `.` or `..` segment, no query. It reads the
/// same decoded once, twice, per segment or raw, so [`canonical_path`],
/// [`canonical_raw_path`] and [`canonical_segment_path`] all give it (less
/// a trailing slash) and [`path_doubt`] finds nothing; `None` for any other
/// path, which takes the long way.
pub(crate) fn plain_route(raw: &str) -> Option<String> {
    let rest = raw.strip_prefix('/')?;
    let plain_bytes = rest
        .bytes()
        .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' | b'.' | b'/'));
    if !plain_bytes {
        return None;
    }
    let trimmed = rest.strip_suffix('/').unwrap_or(rest);
    if trimmed.is_empty() {
        return (rest.is_empty()).then(|| "/".to_owned());
    }
    let segments_plain = trimmed
        .split('/')
        .all(|segment| !matches!(segment, "" | "." | ".."));
    segments_plain.then(|| format!("/{trimmed}"))
}

/// What makes a raw path ambiguous: it reads differently when decoded
/// twice (`%252e`), or it carries an encoded separator or dot (`%2F`,
/// `%5C`, `%2E`) that origins split, or do not, before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PathDoubt {
    /// Decoding once and twice give different paths.
    pub double_encoded: bool,
    /// An encoded `/`, `\` or `.`.
    pub encoded_separator: bool,
}

/// The doubts about `raw` (the path, query excluded).
pub(crate) fn path_doubt(raw: &str) -> PathDoubt {
    let path = raw.split(['?', '#']).next().unwrap_or(raw);
    let once = percent_decode(path);
    let lower = path.to_ascii_lowercase();
    PathDoubt {
        double_encoded: percent_decode(&once) != once,
        encoded_separator: ["%2f", "%5c", "%2e"].iter().any(|e| lower.contains(e)),
    }
}

/// The key a checked route (login, logout, signup, change password,
/// reset) is matched on, from a canonical path: PHP's path info is cut
/// after the script (`/login.php/x` → `/login.php`), then the last
/// segment loses everything from its first dot (`/login.json`,
/// `/login.php`, `/login.`, `/login.a.b`, `/login.~` → `/login`). Origins route these spellings to
/// the same handler (a Rails format suffix, PHP scripts, lenient routers),
/// so the edge checks them as that route.
pub(crate) fn route_key(canonical: &str) -> String {
    let mut segments: Vec<&str> = canonical.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(script) = segments.iter().position(|s| s.ends_with(".php")) {
        segments.truncate(script + 1);
    }
    if let Some(last) = segments.last_mut() {
        // Everything from the first dot: a router's `/login.:format` takes
        // any characters but `/` and `.` (`/login.~`, `/login.a-b`).
        *last = match last.split_once('.') {
            Some((stem, _)) if !stem.is_empty() => stem,
            _ => last,
        };
    }
    format!("/{}", segments.join("/"))
}

/// The route key of the path info after a PHP script (`/index.php/login`
/// → `/login`), for front controllers that route on `PATH_INFO`; `None`
/// when no script has a path after it.
pub(crate) fn path_info_key(canonical: &str) -> Option<String> {
    let segments: Vec<&str> = canonical.split('/').filter(|s| !s.is_empty()).collect();
    let script = segments.iter().position(|s| s.ends_with(".php"))?;
    (script + 1 < segments.len())
        .then(|| route_key(&format!("/{}", segments[script + 1..].join("/"))))
}

/// Path patterns (exact, or a prefix before a trailing `*`) in canonical
/// form, prepared once so matching a request is plain string comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPatterns(Vec<(String, bool)>);

/// Whether a request (`method`, canonical `route`) is the action named by
/// `action_method` and `action_path` (a trailing `*` matches a prefix):
/// probation's actions and the unverified users' ones.
pub(crate) fn action_matches(
    action_method: &str,
    action_path: &str,
    method: &str,
    route: &str,
) -> bool {
    action_method.eq_ignore_ascii_case(method) && PathPatterns::one(action_path).matches(route)
}

impl PathPatterns {
    /// Canonicalises `patterns`.
    pub fn new(patterns: &[String]) -> Self {
        Self(patterns.iter().map(|p| Self::pattern(p)).collect())
    }

    /// One pattern, canonicalised.
    pub(crate) fn one(pattern: &str) -> Self {
        Self(vec![Self::pattern(pattern)])
    }

    /// A pattern's canonical path, and whether it is a prefix (`…*`).
    fn pattern(p: &str) -> (String, bool) {
        match p.strip_suffix('*') {
            Some(prefix) => (
                canonical_path(prefix).trim_end_matches('/').to_owned(),
                true,
            ),
            None => (canonical_path(p), false),
        }
    }

    /// Whether an already canonical path matches.
    pub fn matches(&self, canonical: &str) -> bool {
        self.0.iter().any(|(pattern, prefix)| {
            if *prefix {
                pattern.is_empty()
                    || canonical == pattern
                    || canonical
                        .strip_prefix(pattern.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            } else {
                canonical == pattern
            }
        })
    }
}

/// The bytes of `s` with every `%XX` decoded once, and whether every `%`
/// started one (an invalid escape stays as it is).
fn unescape(s: &str) -> (Vec<u8>, bool) {
    let bytes = s.as_bytes();
    let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut all_valid = true;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
            all_valid = false;
        }
        out.push(bytes[i]);
        i += 1;
    }
    (out, all_valid)
}

/// Decodes `%XX` escapes once (invalid escapes stay as they are).
pub(crate) fn percent_decode(s: &str) -> String {
    String::from_utf8_lossy(&unescape(s).0).into_owned()
}

/// A path segment as `decodeURIComponent` reads it: every `%XX` decoded,
/// or, when any `%` does not start two hex digits or the bytes are not
/// UTF-8 (where JavaScript throws), the raw text.
pub(crate) fn percent_decode_component(raw: &str) -> String {
    match unescape(raw) {
        (bytes, true) => String::from_utf8(bytes).unwrap_or_else(|_| raw.to_owned()),
        (_, false) => raw.to_owned(),
    }
}

/// A policy path setting: starts with `/`, no whitespace or control
/// characters; the error names `field`.
pub(crate) fn check_path(field: &str, path: &str) -> Result<(), crate::error::Error> {
    if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(crate::error::Error::invalid(
            field,
            format!("must be a path starting with `/` without spaces, got `{path}`"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_decode_as_javascript_does() {
        assert_eq!(percent_decode_component("al%20ice"), "al ice");
        assert_eq!(percent_decode_component("a%20%zz"), "a%20%zz");
        assert_eq!(percent_decode_component("a%2"), "a%2");
        assert_eq!(percent_decode_component("%FF"), "%FF");
        assert_eq!(percent_decode_component("%EF%BF%BD"), "\u{FFFD}");
        assert_eq!(
            percent_decode_component("203.0.113.0%2F24"),
            "203.0.113.0/24"
        );
    }

    #[test]
    fn raw_paths_keep_encoded_separators() {
        assert_eq!(canonical_raw_path("/app/..%2Fhello"), "/app/..%2fhello");
        assert_eq!(canonical_path("/app/..%2Fhello"), "/hello");
        assert_eq!(canonical_raw_path("/x/../APP//y;a=1"), "/app/y");
    }

    #[test]
    fn doubts() {
        assert_eq!(path_doubt("/app/hello"), PathDoubt::default());
        assert!(path_doubt("/app/..%2Fhello").encoded_separator);
        assert!(path_doubt("/app/%2e%2e/x").encoded_separator);
        assert!(path_doubt("/app/..%5Cx").encoded_separator);
        assert!(path_doubt("/a%252e").double_encoded);
        assert!(!path_doubt("/a%25").double_encoded);
        assert!(!path_doubt("/caf%C3%A9").encoded_separator);
    }

    #[test]
    fn checked_route_keys() {
        for spelling in [
            "/login",
            "/login.json",
            "/login.php",
            "/login.php/x/y",
            "/login.",
            "/login.json.",
            "/login.~",
            "/login.abcdefghij",
            "/login.%C3%A9",
            "/login.a-b",
            "/login.%20",
            "/login.json%20",
            "/Login.$",
        ] {
            assert_eq!(route_key(&canonical_path(spelling)), "/login", "{spelling}");
        }
        assert_eq!(route_key("/account/password.xml"), "/account/password");
        assert_eq!(route_key("/"), "/");
        assert_eq!(route_key("/.htaccess"), "/.htaccess");
        assert_ne!(route_key("/login-help"), "/login");
        assert_eq!(
            path_info_key("/index.php/login.json"),
            Some("/login".into())
        );
        assert_eq!(
            path_info_key("/app/index.php/account/password"),
            Some("/account/password".into())
        );
        assert_eq!(path_info_key("/index.php"), None);
        assert_eq!(path_info_key("/login"), None);
    }

    /// Whether the canonical form of `path` matches one of `patterns`.
    fn path_matches(patterns: &[String], path: &str) -> bool {
        PathPatterns::new(patterns).matches(&canonical_path(path))
    }

    #[test]
    fn paths() {
        let pats = vec!["/upload".to_owned(), "/files/*".to_owned()];
        assert!(path_matches(&pats, "/upload"));
        assert!(path_matches(&pats, "/files/a/b"));
        assert!(!path_matches(&pats, "/uploads"));
        assert!(!path_matches(&pats, "/filesystem"));
        for variant in [
            "/%75pload",
            "//upload/",
            "/UPLOAD",
            "/x/../upload",
            "/upload;jsessionid=1",
            "/upload?x=1",
            "/./upload",
            "/%2e%2e/upload",
        ] {
            assert!(path_matches(&pats, variant), "{variant}");
        }
        assert!(path_matches(&pats, "/files%2Fevil.exe"));
    }

    #[test]
    fn canonical_paths() {
        assert_eq!(canonical_path("/"), "/");
        assert_eq!(canonical_path("/%6Cogin"), "/login");
        assert_eq!(canonical_path("/a//b/./c/../D/"), "/a/b/d");
        assert_eq!(canonical_path("/../../etc"), "/etc");
        assert_eq!(canonical_path("/%zz%4"), "/%zz%4");
        assert_eq!(canonical_path("/a\\b"), "/a/b");
    }

    #[test]
    fn plain_paths_take_the_short_way() {
        assert_eq!(plain_route("/"), Some("/".to_owned()));
        assert_eq!(plain_route("/app/hello"), Some("/app/hello".to_owned()));
        assert_eq!(plain_route("/app/hello/"), Some("/app/hello".to_owned()));
        assert_eq!(plain_route("/login.json"), Some("/login.json".to_owned()));
        for long_way in [
            "", "//", "/App", "/a//b", "/a/./b", "/a/../b", "/..", "/.", "/a/.", "/%6cogin",
            "/a;x=1", "/a\\b", "/a?x", "/a#x", "/ä",
        ] {
            assert_eq!(plain_route(long_way), None, "{long_way:?}");
        }
    }

    proptest::proptest! {
        /// The short way gives what every long reading gives, and no doubt.
        #[test]
        fn a_plain_route_is_every_reading_of_its_path(raw in "/[a-zA-Z0-9._~;%/\\\\-]{0,24}") {
            if let Some(route) = plain_route(&raw) {
                proptest::prop_assert_eq!(&route, &canonical_path(&raw));
                proptest::prop_assert_eq!(&route, &canonical_raw_path(&raw));
                proptest::prop_assert_eq!(&route, &canonical_segment_path(&raw));
                proptest::prop_assert_eq!(path_doubt(&raw), PathDoubt::default());
            }
        }

        #[test]
        fn plain_looking_paths_are_mostly_plain(segments in proptest::collection::vec("[a-z0-9_~-]{1,6}(\\.[a-z]{1,4})?", 0..6), slash in proptest::bool::ANY) {
            let raw = format!("/{}{}", segments.join("/"), if slash && !segments.is_empty() { "/" } else { "" });
            proptest::prop_assert_eq!(plain_route(&raw), Some(canonical_path(&raw)));
        }
    }
}
