//! Security headers added to every response, and the HTTP → HTTPS redirect.
//! The set follows what helmet (the common Node security-header library)
//! sends by default, with a CSP built from safe defaults plus the admin's
//! extra sources per directive.

use crate::policy::{HeaderMode, ResponsePolicy};

/// Where browsers send CSP violation reports (report-only mode).
pub(crate) const CSP_REPORT_PATH: &str = "/__portcullis/csp-report";

/// The `Content-Security-Policy` value for `policy`.
pub(crate) fn content_security_policy(policy: &ResponsePolicy) -> String {
    let csp = &policy.csp;
    let frame_ancestors: Vec<&str> = if policy.allow_embedding {
        let mut v = vec!["'self'"];
        v.extend(csp.frame_ancestors.iter().map(String::as_str));
        v
    } else {
        vec!["'self'"]
    };
    let directive = |name: &str, defaults: &[&str], extra: &[String]| {
        let mut parts = vec![name.to_owned()];
        parts.extend(defaults.iter().map(|s| (*s).to_owned()));
        parts.extend(extra.iter().cloned());
        parts.join(" ")
    };
    let mut directives = vec![
        "default-src 'self'".to_owned(),
        "base-uri 'self'".to_owned(),
        "form-action 'self'".to_owned(),
        "object-src 'none'".to_owned(),
        "script-src-attr 'none'".to_owned(),
        format!("frame-ancestors {}", frame_ancestors.join(" ")),
        // 'wasm-unsafe-eval' lets pages instantiate WebAssembly (the
        // Portcullis package) without allowing eval().
        directive(
            "script-src",
            &["'self'", "'wasm-unsafe-eval'"],
            &csp.script_src,
        ),
        directive("style-src", &["'self'"], &csp.style_src),
        directive("img-src", &["'self'", "data:"], &csp.img_src),
        directive("font-src", &["'self'", "data:"], &csp.font_src),
        directive("connect-src", &["'self'"], &csp.connect_src),
        directive("frame-src", &["'self'"], &csp.frame_src),
        directive("media-src", &["'self'"], &csp.media_src),
    ];
    if policy.force_https {
        directives.push("upgrade-insecure-requests".to_owned());
    }
    directives.join("; ")
}

/// What the audit log keeps of a CSP report (the `application/csp-report`
/// form or the Reporting API's list): per violation its directive, the
/// disposition, the blocked resource's origin and the document's path,
/// with no query (it may carry a token), each at most 200 characters, at
/// most 10 violations. `None`: not a report.
pub(crate) fn csp_report_summary(body: &[u8]) -> Option<serde_json::Value> {
    use serde_json::{Value, json};
    let value: Value = serde_json::from_slice(body).ok()?;
    let reports: Vec<&Value> = match &value {
        Value::Object(o) => vec![o.get("csp-report")?],
        Value::Array(items) => items.iter().filter_map(|r| r.get("body")).collect(),
        _ => return None,
    };
    let text = |r: &Value, keys: &[&str]| -> String {
        let raw = keys
            .iter()
            .find_map(|k| r.get(*k).and_then(Value::as_str))
            .unwrap_or_default();
        raw.chars().take(200).collect()
    };
    let without_query = |uri: String| -> String {
        let cut = uri.find(['?', '#']).unwrap_or(uri.len());
        uri[..cut].to_owned()
    };
    let origin_of = |uri: String| -> String {
        match uri.split_once("://") {
            Some((scheme, rest)) => {
                format!(
                    "{scheme}://{}",
                    rest.split(['/', '?', '#']).next().unwrap_or_default()
                )
            }
            None => uri
                .split([':', '?', '#'])
                .next()
                .unwrap_or_default()
                .to_owned(),
        }
    };
    let violations: Vec<Value> = reports
        .into_iter()
        .filter(|r| r.is_object())
        .take(10)
        .map(|r| {
            json!({
                "directive": text(r, &["effective-directive", "effectiveDirective", "violated-directive"]),
                "disposition": text(r, &["disposition"]),
                "blocked": origin_of(text(r, &["blocked-uri", "blockedURL"])),
                "document": without_query(text(r, &["document-uri", "documentURL"])),
            })
        })
        .collect();
    (!violations.is_empty()).then(|| json!({ "violations": violations }))
}

/// The console's own headers, set over the site's: a fixed, enforced CSP
/// (its files only, never framed) whatever the site's CSP allows or
/// whether it is report-only, and `X-Frame-Options: DENY`.
pub(crate) fn console_headers() -> Vec<(&'static str, String)> {
    vec![
        (
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; \
             frame-ancestors 'none'"
                .to_owned(),
        ),
        ("X-Frame-Options", "DENY".to_owned()),
    ]
}

/// The `frame-ancestors` directive of `policy`'s CSP (enforced even in
/// report-only mode: browsers ignore it in a Report-Only header).
fn frame_ancestors(policy: &ResponsePolicy) -> String {
    content_security_policy(policy)
        .split("; ")
        .find(|d| d.starts_with("frame-ancestors "))
        .unwrap_or("frame-ancestors 'self'")
        .to_owned()
}

/// One security header the edge sends, and how it meets the origin's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityHeader {
    /// The header's name.
    pub name: &'static str,
    /// The edge's value.
    pub value: String,
    /// What happens when the origin sent the header too (never
    /// [`HeaderMode::Off`]: those are left out).
    pub mode: HeaderMode,
}

/// Every security header the edge sends, in order; a header whose mode is
/// [`HeaderMode::Off`] is left out.
pub fn security_headers(policy: &ResponsePolicy) -> Vec<SecurityHeader> {
    let csp = if policy.csp_report_only {
        (
            "Content-Security-Policy-Report-Only",
            format!(
                "{}; report-uri {CSP_REPORT_PATH}",
                content_security_policy(policy)
            ),
        )
    } else {
        ("Content-Security-Policy", content_security_policy(policy))
    };
    let mut headers = vec![
        csp,
        ("Cross-Origin-Opener-Policy", "same-origin".to_owned()),
        ("Cross-Origin-Resource-Policy", "same-origin".to_owned()),
        ("Origin-Agent-Cluster", "?1".to_owned()),
        ("Referrer-Policy", policy.referrer_policy.clone()),
        ("X-Content-Type-Options", "nosniff".to_owned()),
        ("X-DNS-Prefetch-Control", "off".to_owned()),
        ("X-Download-Options", "noopen".to_owned()),
        ("X-Permitted-Cross-Domain-Policies", "none".to_owned()),
        ("X-XSS-Protection", "0".to_owned()),
    ];
    if policy.csp_report_only {
        headers.push(("Content-Security-Policy", frame_ancestors(policy)));
    }
    if !policy.allow_embedding {
        headers.push(("X-Frame-Options", "SAMEORIGIN".to_owned()));
    }
    if policy.force_https {
        headers.push((
            "Strict-Transport-Security",
            format!("max-age={}; includeSubDomains", policy.hsts_max_age_seconds),
        ));
    }
    headers
        .into_iter()
        .map(|(name, value)| SecurityHeader {
            name,
            value,
            mode: policy.header_mode(name),
        })
        .filter(|h| h.mode != HeaderMode::Off)
        .collect()
}

/// Most nonces and hashes taken from the origin's CSP per directive.
const MAX_ADOPTED: usize = 16;

/// Whether `token` is a CSP nonce or hash source (`'nonce-…'`,
/// `'sha256-…'`, `'sha384-…'`, `'sha512-…'`, base64 or base64url inside).
fn nonce_or_hash(token: &str) -> bool {
    let Some(inner) = token.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) else {
        return false;
    };
    let lower = inner.to_ascii_lowercase();
    let value = ["nonce-", "sha256-", "sha384-", "sha512-"]
        .iter()
        .find_map(|p| lower.strip_prefix(p));
    value.is_some_and(|v| {
        !v.is_empty()
            && v.len() <= 128
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
    })
}

/// The edge's CSP `edge` for a response whose origin sent the CSP
/// `origin` (one or more policies, comma-joined), in
/// [`HeaderMode::Merge`]. Per origin policy, the source list a browser uses
/// for `<script>` elements is its `script-src-elem`, else `script-src`,
/// else `default-src`; its nonce and hash sources (at most 16) go into a
/// `script-src-elem` the edge adds: a copy of its `script-src` plus those
/// tokens. `<style>` elements likewise, into `style-src-elem`. The edge's
/// `script-src` and `style-src` stay as they were, so attributes keep the
/// edge's rules (a nonce would turn off an admin's `'unsafe-inline'`). The
/// origin's own policies stay in force beside it, so the two together never
/// allow more than the origin's policy does, and the inline elements it
/// allows still run. Nothing else of the origin's text reaches the edge's
/// header.
pub fn merge_csp(edge: &str, origin: &str) -> String {
    let mut script: Vec<&str> = Vec::new();
    let mut style: Vec<&str> = Vec::new();
    for policy in origin.split(',') {
        // The first of each directive counts, as in browsers.
        let mut lists: [Option<&str>; 5] = [None; 5];
        const NAMES: [&str; 5] = [
            "script-src-elem",
            "script-src",
            "style-src-elem",
            "style-src",
            "default-src",
        ];
        for directive in policy.split(';') {
            let directive = directive.trim();
            let name = directive
                .split_ascii_whitespace()
                .next()
                .unwrap_or_default();
            if let Some(i) = NAMES.iter().position(|n| n.eq_ignore_ascii_case(name)) {
                lists[i].get_or_insert(&directive[name.len()..]);
            }
        }
        let script_list = lists[0].or(lists[1]).or(lists[4]);
        let style_list = lists[2].or(lists[3]).or(lists[4]);
        for (list, into) in [(script_list, &mut script), (style_list, &mut style)] {
            let tokens = list.unwrap_or_default().split_ascii_whitespace();
            for token in tokens.filter(|t| nonce_or_hash(t)) {
                if into.len() < MAX_ADOPTED && !into.contains(&token) {
                    into.push(token);
                }
            }
        }
    }
    let mut out: Vec<String> = edge.split("; ").map(str::to_owned).collect();
    for (base, elem, adopted) in [
        ("script-src ", "script-src-elem", &script),
        ("style-src ", "style-src-elem", &style),
    ] {
        if adopted.is_empty() {
            continue;
        }
        let Some(sources) = out.iter().find_map(|d| d.strip_prefix(base)) else {
            continue;
        };
        let mut directive = format!("{elem} {sources}");
        for token in adopted.iter() {
            directive.push(' ');
            directive.push_str(token);
        }
        out.push(directive);
    }
    out.join("; ")
}

/// Where to redirect a plain-HTTP request when HTTPS is forced, if anywhere.
pub(crate) fn https_redirect(policy: &ResponsePolicy, url: &str) -> Option<String> {
    if !policy.force_https {
        return None;
    }
    url.strip_prefix("http://")
        .map(|rest| format!("https://{rest}"))
}

/// Request headers a client may not send the origin: frameworks take them
/// to override the path (`X-Original-URL`, `X-Rewrite-URL`), the host or
/// prefix (`X-Forwarded-Host`, `X-Forwarded-Prefix`, `Forwarded`), the
/// scheme, the method (`X-HTTP-Method-Override` and its kin) or the
/// client's address (`X-Forwarded-For`: the edge names the client in
/// `CF-Connecting-IP`). Lowercase; the edge drops them from every request.
pub const DROPPED_REQUEST_HEADERS: [&str; 21] = [
    "x-original-url",
    "x-rewrite-url",
    "x-original-uri",
    "x-forwarded-host",
    "x-forwarded-prefix",
    "x-forwarded-path",
    "x-forwarded-uri",
    "x-forwarded-proto",
    "x-forwarded-scheme",
    "x-forwarded-port",
    "x-forwarded-server",
    "x-forwarded-for",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "x-host",
    "x-original-host",
    "forwarded",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(headers: &'a [SecurityHeader], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.as_str())
    }

    fn mode(headers: &[SecurityHeader], name: &str) -> Option<HeaderMode> {
        headers.iter().find(|h| h.name == name).map(|h| h.mode)
    }

    #[test]
    fn modes_per_header() {
        let mut p = ResponsePolicy::default();
        let h = security_headers(&p);
        assert_eq!(mode(&h, "Content-Security-Policy"), Some(HeaderMode::Merge));
        assert_eq!(mode(&h, "Referrer-Policy"), Some(HeaderMode::Set));
        p.headers.insert("referrer-policy".into(), HeaderMode::Keep);
        p.headers.insert("X-Frame-Options".into(), HeaderMode::Off);
        p.headers
            .insert("Content-Security-Policy".into(), HeaderMode::Set);
        let h = security_headers(&p);
        assert_eq!(mode(&h, "Referrer-Policy"), Some(HeaderMode::Keep));
        assert_eq!(value(&h, "X-Frame-Options"), None, "off: not sent");
        assert_eq!(mode(&h, "Content-Security-Policy"), Some(HeaderMode::Set));
        p.csp_report_only = true;
        let h = security_headers(&p);
        assert_eq!(
            mode(&h, "Content-Security-Policy-Report-Only"),
            Some(HeaderMode::Set),
            "the CSP's mode governs its report-only form"
        );
        p.headers
            .insert("Content-Security-Policy".into(), HeaderMode::Off);
        let h = security_headers(&p);
        assert!(
            h.iter()
                .all(|h| !h.name.starts_with("Content-Security-Policy"))
        );
    }

    #[test]
    fn every_header_sent_can_be_named_in_the_policy() {
        let mut p = ResponsePolicy {
            force_https: true,
            ..ResponsePolicy::default()
        };
        for report_only in [false, true] {
            p.csp_report_only = report_only;
            for h in security_headers(&p) {
                let name = h.name.strip_suffix("-Report-Only").unwrap_or(h.name);
                assert!(
                    crate::policy::SECURITY_HEADER_NAMES.contains(&name),
                    "{} is sent but responses.headers cannot name it",
                    h.name
                );
            }
        }
    }

    #[test]
    fn merge_adopts_nonces_and_hashes_only() {
        let edge = content_security_policy(&ResponsePolicy::default());
        let origin = "script-src 'nonce-r4nd0m+/=' 'strict-dynamic' https://evil.example 'unsafe-inline'; \
                      style-src 'sha256-abc_-' 'unsafe-inline'; img-src *; script-src 'nonce-second', \
                      default-src 'NONCE-Two'; script-src 'nonce-bad;x' 'nonce-' nonce-bare";
        let merged = merge_csp(&edge, origin);
        let directive = |name: &str| {
            merged
                .split("; ")
                .find(|d| d.starts_with(&format!("{name} ")))
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            directive("script-src-elem"),
            "script-src-elem 'self' 'wasm-unsafe-eval' 'nonce-r4nd0m+/='",
            "the second policy has a script-src, so its default-src does not count for scripts; a repeated directive is ignored"
        );
        assert_eq!(
            directive("style-src-elem"),
            "style-src-elem 'self' 'sha256-abc_-' 'NONCE-Two'",
            "the second policy's styles fall back to its default-src"
        );
        assert_eq!(
            directive("script-src"),
            "script-src 'self' 'wasm-unsafe-eval'",
            "attributes keep the edge's rules"
        );
        assert_eq!(directive("style-src"), "style-src 'self'");
        assert!(
            merged.starts_with(&edge),
            "the edge's directives come first, unchanged"
        );
        for bad in [
            "evil",
            "strict-dynamic",
            "unsafe-inline",
            "bare",
            "*",
            "second",
        ] {
            assert!(
                !merged.contains(bad),
                "{bad} must not reach the edge's CSP: {merged}"
            );
        }
        assert_eq!(
            merge_csp(&edge, "default-src 'self'"),
            edge,
            "nothing to adopt"
        );
        let many: String = (0..40).map(|i| format!("'nonce-n{i}' ")).collect();
        let merged = merge_csp(&edge, &format!("script-src {many}"));
        assert_eq!(merged.matches("'nonce-").count(), MAX_ADOPTED);
    }

    proptest::proptest! {
        /// Whatever the origin sends, the merged CSP is the edge's,
        /// unchanged, followed at most by `-elem` copies of its
        /// `script-src` and `style-src` with nonce and hash sources added.
        #[test]
        fn merge_only_adds_nonces_and_hashes(origin in "[a-zA-Z0-9 ;,'*:/+=_-]{0,200}|script-src '(nonce|sha256)-[a-zA-Z0-9;, ']{0,12}'") {
            let edge = content_security_policy(&ResponsePolicy::default());
            let merged = merge_csp(&edge, &origin);
            let added = merged.strip_prefix(&edge);
            proptest::prop_assert!(added.is_some(), "the edge's own directives changed: {}", merged);
            for directive in added.unwrap_or_default().split("; ").filter(|d| !d.is_empty()) {
                let rest = directive
                    .strip_prefix("script-src-elem 'self' 'wasm-unsafe-eval' ")
                    .or_else(|| directive.strip_prefix("style-src-elem 'self' "));
                proptest::prop_assert!(rest.is_some(), "unexpected directive {}", directive);
                for token in rest.unwrap_or_default().split(' ') {
                    proptest::prop_assert!(nonce_or_hash(token), "{} added", token);
                }
            }
            proptest::prop_assert!(!merged.contains(','));
        }
    }

    #[test]
    fn safe_defaults() {
        let h = security_headers(&ResponsePolicy::default());
        let csp = value(&h, "Content-Security-Policy").unwrap();
        assert!(csp.contains("default-src 'self'"));
        assert!(csp.contains("object-src 'none'"));
        assert!(csp.contains("frame-ancestors 'self'"));
        assert!(!csp.contains("upgrade-insecure-requests"));
        assert_eq!(value(&h, "X-Frame-Options"), Some("SAMEORIGIN"));
        assert_eq!(value(&h, "X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(value(&h, "Referrer-Policy"), Some("no-referrer"));
        assert_eq!(value(&h, "Strict-Transport-Security"), None);
    }

    #[test]
    fn extra_sources_and_embedding() {
        let mut p = ResponsePolicy::default();
        p.csp.script_src = vec!["*.gstatic.com/recaptcha/".into()];
        p.csp.frame_ancestors = vec!["https://partner.example".into()];
        let csp = content_security_policy(&p);
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' *.gstatic.com/recaptcha/"));
        assert!(
            csp.contains("frame-ancestors 'self';"),
            "extra ancestors need allowEmbedding: {csp}"
        );
        p.allow_embedding = true;
        let h = security_headers(&p);
        assert!(
            value(&h, "Content-Security-Policy")
                .unwrap()
                .contains("frame-ancestors 'self' https://partner.example")
        );
        assert_eq!(value(&h, "X-Frame-Options"), None);
    }

    #[test]
    fn forced_https() {
        let mut p = ResponsePolicy::default();
        assert_eq!(https_redirect(&p, "http://a.example/x?y"), None);
        p.force_https = true;
        assert_eq!(
            https_redirect(&p, "http://a.example/x?y").as_deref(),
            Some("https://a.example/x?y")
        );
        assert_eq!(https_redirect(&p, "https://a.example/"), None);
        let h = security_headers(&p);
        assert_eq!(
            value(&h, "Strict-Transport-Security"),
            Some("max-age=31536000; includeSubDomains")
        );
        assert!(
            value(&h, "Content-Security-Policy")
                .unwrap()
                .ends_with("upgrade-insecure-requests")
        );
    }
}
