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
