//! Security headers added to every response, and the HTTP → HTTPS redirect.
//! The set follows what helmet (the common Node security-header library)
//! sends by default, with a CSP built from safe defaults plus the admin's
//! extra sources per directive.

use crate::policy::ResponsePolicy;

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

/// Every security header, as (name, value) pairs.
pub fn security_headers(policy: &ResponsePolicy) -> Vec<(&'static str, String)> {
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

    fn value<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
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
