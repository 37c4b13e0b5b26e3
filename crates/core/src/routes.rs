//! The edge's own routes and the admin API, each a table with one line per
//! route. The edge answers its own routes before anything of the origin's;
//! the admin API runs inside the Control object, behind the application
//! key, and dispatches on [`AdminRoute`].

use crate::request::Request;

/// One of the edge's own routes under `/__portcullis/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnRoute {
    /// `GET /__portcullis/policy`: what a browser may see of the policy.
    PublicPolicy,
    /// `/__portcullis/admin/…`: the admin API.
    Admin,
    /// `/__portcullis/console/…`: the Security settings console's files.
    Console,
    /// `POST /__portcullis/csp-report`: browsers' CSP violation reports.
    CspReport,
    /// `GET /__portcullis/challenge?route=…`: a built-in CAPTCHA challenge.
    Challenge,
    /// Anything else in the edge's namespace.
    NotFound,
}

/// The admin API's prefix.
pub(crate) const ADMIN_PREFIX: &str = "/__portcullis/admin";
/// The admin route the isolate answers itself: its own counters.
pub(crate) const METRICS_PATH: &str = "/__portcullis/admin/metrics";

/// The built-in CAPTCHA's challenge route.
pub(crate) const CHALLENGE_PATH: &str = "/__portcullis/challenge";

/// The console's path (its files are under it, with a slash).
pub(crate) const CONSOLE_PATH: &str = "/__portcullis/console";

/// What a request under [`CONSOLE_PATH`] gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConsolePath {
    /// `/__portcullis/console` without its slash: a redirect to it.
    Redirect,
    /// A file of the console's assets, by its path there (`/` for the page).
    Asset(String),
    /// Anything else (`/__portcullis/consolex`, nested or odd names).
    NotFound,
}

/// The console file a raw `path` names: one plain file name (letters,
/// digits, `-`, `_`, one `.` before an extension) right under the
/// console's path, or the page itself. Nothing else of the assets is
/// reachable, and no other path reaches them.
pub(crate) fn console_path(path: &str) -> ConsolePath {
    let Some(rest) = path.strip_prefix(CONSOLE_PATH) else {
        return ConsolePath::NotFound;
    };
    let Some(name) = rest.strip_prefix('/') else {
        return if rest.is_empty() {
            ConsolePath::Redirect
        } else {
            ConsolePath::NotFound
        };
    };
    let plain = name.split_once('.').is_some_and(|(stem, ext)| {
        let ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        ok(stem) && ok(ext)
    });
    match name {
        "" => ConsolePath::Asset("/".to_owned()),
        "index.html" => ConsolePath::Redirect,
        _ if plain => ConsolePath::Asset(format!("/{name}")),
        _ => ConsolePath::NotFound,
    }
}

/// Exact paths and prefixes of the edge's own routes, first match wins.
const OWN_ROUTES: [(&str, bool, OwnRoute); 6] = [
    ("/__portcullis/policy", false, OwnRoute::PublicPolicy),
    (CHALLENGE_PATH, false, OwnRoute::Challenge),
    (crate::headers::CSP_REPORT_PATH, false, OwnRoute::CspReport),
    (ADMIN_PREFIX, true, OwnRoute::Admin),
    (CONSOLE_PATH, true, OwnRoute::Console),
    ("/__portcullis/", true, OwnRoute::NotFound),
];

/// The edge's own route `req` asks for, if any. The namespace is reached
/// only by its exact spelling: a path that means `/__portcullis…` only
/// once canonical (`/__PORTCULLIS/…`, `/x/../__portcullis/…`) is not found.
pub(crate) fn own_route(req: &Request) -> Option<OwnRoute> {
    let path = req.path();
    if req.route().starts_with("/__portcullis") && !path.starts_with("/__portcullis/") {
        return Some(OwnRoute::NotFound);
    }
    OWN_ROUTES
        .iter()
        .find(|(pattern, prefix, _)| {
            if *prefix {
                path.starts_with(pattern)
            } else {
                path == *pattern
            }
        })
        .map(|(_, _, route)| *route)
}

/// An admin API route; captured path parts are percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRoute {
    /// `GET /settings`: the policy, the defaults and which secrets are set.
    ReadSettings,
    /// `PATCH /settings`: a JSON merge patch.
    PatchSettings,
    /// `PUT /settings`: a whole policy document.
    ReplaceSettings,
    /// `GET /bans`.
    ListBans,
    /// `POST /bans`.
    AddBan,
    /// `DELETE /bans/<target>`.
    RemoveBan(String),
    /// `GET /accounts/locked`.
    LockedAccounts,
    /// `POST /accounts/<login>/unlock`.
    Unlock(String),
    /// `GET /accounts/<login>`: the failures counted and the gate.
    ReadAccount(String),
    /// `GET /webhooks`: the delivery log.
    Webhooks,
    /// `GET /audit`.
    Audit,
    /// `GET /audit/stats`.
    AuditStats,
    /// `GET /audit/clients`: warnings per client, most first.
    AuditClients,
    /// `POST /secrets/<name>`: rotate or set a secret.
    Secret(String),
    /// `DELETE /sessions`: end everyone's.
    EndAllSessions,
    /// `POST /reset-tokens`: mint a single-use reset link.
    MintResetToken,
    /// `GET /users/<id>`.
    ReadUser(String),
    /// `PATCH /users/<id>`.
    PatchUser(String),
    /// `DELETE /users/<id>/sessions`.
    EndUserSessions(String),
    /// Another method on `/users/<id>` or `/users/<id>/sessions` (405).
    UserMethodNotAllowed(String),
    /// `DELETE /records/<kind>/<name>`: clear a stored record (also an unreadable one).
    ClearRecord(String),
    /// `GET /vault`: whether a passphrase exists, the key id, when made.
    VaultState,
    /// `POST /vault/passphrase`: create it, or reset it.
    VaultPassphrase,
    /// `DELETE /vault/passphrase`: destroy the key pair.
    VaultDelete,
    /// `POST /vault/encrypt`: values to envelopes.
    VaultEncrypt,
    /// `POST /vault/decrypt`: envelopes to values, with the passphrase.
    VaultDecrypt,
}

/// Makes a route of the captured part (empty for routes without one).
type Build = fn(String) -> AdminRoute;

/// The admin API, one line per route: method (`*` = any), prefix, whether
/// a part follows it, suffix, and the route. First match wins.
const ADMIN_ROUTES: [(&str, &str, bool, &str, Build); 27] = [
    ("GET", "/settings", false, "", |_| AdminRoute::ReadSettings),
    ("PATCH", "/settings", false, "", |_| {
        AdminRoute::PatchSettings
    }),
    ("PUT", "/settings", false, "", |_| {
        AdminRoute::ReplaceSettings
    }),
    ("GET", "/bans", false, "", |_| AdminRoute::ListBans),
    ("POST", "/bans", false, "", |_| AdminRoute::AddBan),
    ("DELETE", "/bans/", true, "", AdminRoute::RemoveBan),
    ("GET", "/accounts/locked", false, "", |_| {
        AdminRoute::LockedAccounts
    }),
    ("POST", "/accounts/", true, "/unlock", AdminRoute::Unlock),
    ("GET", "/accounts/", true, "", AdminRoute::ReadAccount),
    ("GET", "/webhooks", false, "", |_| AdminRoute::Webhooks),
    ("GET", "/audit", false, "", |_| AdminRoute::Audit),
    ("GET", "/audit/stats", false, "", |_| AdminRoute::AuditStats),
    ("GET", "/audit/clients", false, "", |_| {
        AdminRoute::AuditClients
    }),
    ("POST", "/secrets/", true, "", AdminRoute::Secret),
    ("DELETE", "/sessions", false, "", |_| {
        AdminRoute::EndAllSessions
    }),
    ("POST", "/reset-tokens", false, "", |_| {
        AdminRoute::MintResetToken
    }),
    (
        "DELETE",
        "/users/",
        true,
        "/sessions",
        AdminRoute::EndUserSessions,
    ),
    (
        "*",
        "/users/",
        true,
        "/sessions",
        AdminRoute::UserMethodNotAllowed,
    ),
    ("GET", "/users/", true, "", AdminRoute::ReadUser),
    ("PATCH", "/users/", true, "", AdminRoute::PatchUser),
    ("*", "/users/", true, "", AdminRoute::UserMethodNotAllowed),
    ("DELETE", "/records/", true, "", AdminRoute::ClearRecord),
    ("GET", "/vault", false, "", |_| AdminRoute::VaultState),
    ("POST", "/vault/passphrase", false, "", |_| {
        AdminRoute::VaultPassphrase
    }),
    ("DELETE", "/vault/passphrase", false, "", |_| {
        AdminRoute::VaultDelete
    }),
    ("POST", "/vault/encrypt", false, "", |_| {
        AdminRoute::VaultEncrypt
    }),
    ("POST", "/vault/decrypt", false, "", |_| {
        AdminRoute::VaultDecrypt
    }),
];

impl AdminRoute {
    /// The route for `method` on `path` (after [`ADMIN_PREFIX`], without
    /// the query), or `None` (404).
    pub fn parse(method: &str, path: &str) -> Option<Self> {
        ADMIN_ROUTES
            .iter()
            .find_map(|(m, prefix, part, suffix, build)| {
                if *m != "*" && !m.eq_ignore_ascii_case(method) {
                    return None;
                }
                if !*part {
                    return (path == *prefix).then(|| build(String::new()));
                }
                let rest = path.strip_prefix(prefix)?.strip_suffix(suffix)?;
                Some(build(crate::paths::percent_decode_component(rest)))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::RequestFacts;

    #[test]
    fn only_plain_console_files_are_reachable() {
        use ConsolePath::*;
        assert_eq!(console_path("/__portcullis/console"), Redirect);
        assert_eq!(console_path("/__portcullis/console/index.html"), Redirect);
        assert_eq!(console_path("/__portcullis/console/"), Asset("/".into()));
        assert_eq!(
            console_path("/__portcullis/console/admin.js"),
            Asset("/admin.js".into())
        );
        assert_eq!(
            console_path("/__portcullis/console/admin-text.js"),
            Asset("/admin-text.js".into())
        );
        for odd in [
            "/__portcullis/consolex",
            "/__portcullis/console/a/b.js",
            "/__portcullis/console/../x.js",
            "/__portcullis/console/%2e%2e.js",
            "/__portcullis/console/.env",
            "/__portcullis/console/a.b.js",
            "/__portcullis/console/admin",
            "/__portcullis/console//admin.js",
            "/admin.js",
        ] {
            assert_eq!(console_path(odd), NotFound, "{odd}");
        }
    }

    fn own(path: &str) -> Option<OwnRoute> {
        own_route(&Request::new(RequestFacts {
            method: "GET".into(),
            url: format!("https://edge.example{path}"),
            ..RequestFacts::default()
        }))
    }

    #[test]
    fn own_routes_only_by_their_exact_spelling() {
        assert_eq!(own("/__portcullis/policy"), Some(OwnRoute::PublicPolicy));
        assert_eq!(own("/__portcullis/policy/"), Some(OwnRoute::NotFound));
        assert_eq!(own("/__portcullis/challenge"), Some(OwnRoute::Challenge));
        assert_eq!(own("/__portcullis/challenge/"), Some(OwnRoute::NotFound));
        assert_eq!(own("/__portcullis/admin/bans"), Some(OwnRoute::Admin));
        assert_eq!(own("/__PORTCULLIS/admin/bans"), Some(OwnRoute::NotFound));
        assert_eq!(own("/x/../__portcullis/policy"), Some(OwnRoute::NotFound));
        assert_eq!(own("/__portcullis/other"), Some(OwnRoute::NotFound));
        assert_eq!(own("/__portcullis/console/"), Some(OwnRoute::Console));
        assert_eq!(own("/__portcullis/csp-report"), Some(OwnRoute::CspReport));
        assert_eq!(own("/__portcullis/csp-report/x"), Some(OwnRoute::NotFound));
        assert_eq!(own("/app/hello"), None);
    }

    #[test]
    fn admin_routes_capture_their_part() {
        use AdminRoute::*;
        assert_eq!(AdminRoute::parse("GET", "/settings"), Some(ReadSettings));
        assert_eq!(AdminRoute::parse("DELETE", "/settings"), None);
        assert_eq!(
            AdminRoute::parse("DELETE", "/bans/203.0.113.0%2F24"),
            Some(RemoveBan("203.0.113.0/24".into()))
        );
        assert_eq!(
            AdminRoute::parse("DELETE", "/bans/203.0.113.0/24"),
            Some(RemoveBan("203.0.113.0/24".into()))
        );
        assert_eq!(
            AdminRoute::parse("POST", "/accounts/al%20ice/unlock"),
            Some(Unlock("al ice".into()))
        );
        assert_eq!(
            AdminRoute::parse("GET", "/accounts/al%20ice"),
            Some(ReadAccount("al ice".into()))
        );
        assert_eq!(
            AdminRoute::parse("GET", "/accounts/locked"),
            Some(LockedAccounts)
        );
        assert_eq!(
            AdminRoute::parse("GET", "/accounts/locked"),
            Some(LockedAccounts)
        );
        assert_eq!(
            AdminRoute::parse("DELETE", "/users/u-1/sessions"),
            Some(EndUserSessions("u-1".into()))
        );
        assert_eq!(
            AdminRoute::parse("GET", "/users/u-1/sessions"),
            Some(UserMethodNotAllowed("u-1".into()))
        );
        assert_eq!(
            AdminRoute::parse("GET", "/users/a/b"),
            Some(ReadUser("a/b".into()))
        );
        assert_eq!(
            AdminRoute::parse("POST", "/users/u-1"),
            Some(UserMethodNotAllowed("u-1".into()))
        );
        assert_eq!(AdminRoute::parse("GET", "/"), None);
        assert_eq!(AdminRoute::parse("GET", "/nope"), None);
    }
}
