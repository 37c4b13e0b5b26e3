//! Upload rules: which paths carry uploads, which file extensions each kind
//! of user may send, and the size limit, judged from the multipart body
//! itself (a client-supplied Content-Type or file name header alone is not
//! trusted).
//!
//! The multipart scanner is small and hand-written: it only needs each
//! part's `filename` and length. The maintained `multer` crate is async and
//! pulls in `encoding_rs`, whose tables would cost the Worker bundle more
//! than this whole module.

use serde::Serialize;

use crate::policy::UploadPolicy;

/// Who is uploading; roles come only from the verified session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Role {
    /// An administrator.
    Admin,
    /// Staff (agents).
    Staff,
    /// Anyone else, including callers without a session.
    EndUser,
}

impl Role {
    /// The role of a verified session from the roles the origin named at
    /// login: admin wins over staff; anything else is an end user.
    pub fn from_session_roles(roles: &[String]) -> Self {
        let has = |r: &str| roles.iter().any(|x| x.trim().eq_ignore_ascii_case(r));
        if has("admin") {
            Self::Admin
        } else if has("staff") {
            Self::Staff
        } else {
            Self::EndUser
        }
    }
}

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadError {
    /// A file (or the body) exceeds `maxBytes`.
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// A file's extension is not allowed for this kind of user.
    ExtensionNotAllowed {
        /// The file name as sent.
        filename: String,
    },
    /// The body claims to be multipart but cannot be read as such.
    Malformed,
}

/// The form of a request path every route decision is made on, so that
/// `/%6Cogin`, `//login/`, `/LOGIN`, `/x/../login` and `/login;jsessionid=1`
/// all count as `/login` (origins decode, merge slashes, ignore case or
/// strip parameters in different ways; the edge assumes the widest). It
/// percent-decodes once, resolves `.` and `..`, drops empty segments and
/// `;parameters`, and lowercases. The query is not part of it. The request
/// itself is forwarded unchanged.
pub fn canonical_path(raw: &str) -> String {
    let path = raw.split(['?', '#']).next().unwrap_or(raw);
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let hex = |b: u8| (b as char).to_digit(16);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            decoded.push((h * 16 + l) as u8);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8_lossy(&decoded).replace('\\', "/");
    let mut segments: Vec<String> = Vec::new();
    for segment in decoded.split('/') {
        let segment = segment.split(';').next().unwrap_or_default();
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s.to_lowercase()),
        }
    }
    format!("/{}", segments.join("/"))
}

/// Whether the canonical form of `path` matches one of `patterns` (exact,
/// or a prefix before a trailing `*`; patterns are canonicalised too).
pub fn path_matches(patterns: &[String], path: &str) -> bool {
    let path = canonical_path(path);
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => {
            let prefix = canonical_path(prefix);
            let prefix = prefix.trim_end_matches('/');
            path == prefix || path.starts_with(&format!("{prefix}/")) || prefix.is_empty()
        }
        None => path == canonical_path(p),
    })
}

/// Whether the body of a request to `path` must be checked (on the
/// canonical path).
pub fn is_upload_path(policy: &UploadPolicy, path: &str) -> bool {
    path_matches(&policy.paths, path)
}

/// A declared `Content-Length` already over the limit (the edge refuses
/// those before reading a byte). Multipart framing adds a little; allow 64 KB.
pub fn declared_too_large(policy: &UploadPolicy, content_length: Option<u64>) -> bool {
    content_length.is_some_and(|n| n > policy.max_bytes.saturating_add(64 * 1024))
}

fn extension_allowed(allowed: &[String], filename: &str) -> bool {
    if allowed.iter().any(|e| e == ".*") {
        return true;
    }
    // The last path segment: some clients send "C:\dir\file.exe".
    let name = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return false;
    };
    let ext = ext.trim_end_matches([' ', '.']).to_ascii_lowercase();
    allowed.iter().any(|a| {
        a.strip_prefix('.')
            .is_some_and(|a| a.eq_ignore_ascii_case(&ext))
    })
}

/// Checks a buffered request body sent to an upload path.
pub fn check_upload(
    policy: &UploadPolicy,
    role: Role,
    content_type: &str,
    body: &[u8],
) -> Result<(), UploadError> {
    let allowed = match role {
        Role::Admin | Role::Staff => &policy.staff_extensions,
        Role::EndUser => &policy.end_user_extensions,
    };
    let Some(boundary) = multipart_boundary(content_type) else {
        // Not multipart: the whole body is the file, its name unknown.
        if body.len() as u64 > policy.max_bytes {
            return Err(UploadError::TooLarge {
                limit: policy.max_bytes,
            });
        }
        return Ok(());
    };
    for part in parts(body, boundary.as_bytes())? {
        let Some(filename) = part.filename else {
            continue;
        };
        if part.len as u64 > policy.max_bytes {
            return Err(UploadError::TooLarge {
                limit: policy.max_bytes,
            });
        }
        if !extension_allowed(allowed, &filename) {
            return Err(UploadError::ExtensionNotAllowed { filename });
        }
    }
    Ok(())
}

/// The `boundary` parameter of a `multipart/*` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let mime = params.next()?.trim().to_ascii_lowercase();
    if !mime.starts_with("multipart/") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary")).then(|| v.trim().trim_matches('"').to_owned())
    })
}

struct Part {
    filename: Option<String>,
    len: usize,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

fn parts(body: &[u8], boundary: &[u8]) -> Result<Vec<Part>, UploadError> {
    if boundary.is_empty() || boundary.len() > 200 {
        return Err(UploadError::Malformed);
    }
    let delimiter = [b"--".as_slice(), boundary].concat();
    let mut at = find(body, &delimiter, 0).ok_or(UploadError::Malformed)?;
    let mut parts = Vec::new();
    loop {
        at += delimiter.len();
        if body[at..].starts_with(b"--") {
            return Ok(parts); // closing delimiter
        }
        let headers_start = at + 2; // CRLF after the delimiter
        let headers_end = find(body, b"\r\n\r\n", headers_start).ok_or(UploadError::Malformed)?;
        let headers = std::str::from_utf8(&body[headers_start..headers_end])
            .map_err(|_| UploadError::Malformed)?;
        let data_start = headers_end + 4;
        let next_delim = [b"\r\n".as_slice(), &delimiter].concat();
        let data_end = find(body, &next_delim, data_start).ok_or(UploadError::Malformed)?;
        parts.push(Part {
            filename: disposition_filename(headers),
            len: data_end - data_start,
        });
        at = data_end + 2;
    }
}

/// The file name of a part, from `filename*=` (RFC 5987) or `filename=`.
fn disposition_filename(headers: &str) -> Option<String> {
    let line = headers
        .split("\r\n")
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    let mut plain = None;
    for param in line.split(';').skip(1) {
        let Some((k, v)) = param.split_once('=') else {
            continue;
        };
        let k = k.trim().to_ascii_lowercase();
        let v = v.trim();
        if k == "filename*" {
            // charset'lang'percent-encoded; the extension is what matters.
            let encoded = v.splitn(3, '\'').nth(2).unwrap_or(v);
            return Some(percent_decode(encoded));
        }
        if k == "filename" {
            plain = Some(v.trim_matches('"').to_owned());
        }
    }
    plain
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn body(files: &[(&str, usize)]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n",
        );
        for (name, len) in files {
            b.extend_from_slice(
                format!("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
            );
            b.extend(std::iter::repeat_n(b'x', *len));
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(b"--XyZ--\r\n");
        b
    }

    const CT: &str = "multipart/form-data; boundary=XyZ";

    #[test]
    fn end_users_get_their_list_staff_any() {
        let p = UploadPolicy::default();
        assert_eq!(
            check_upload(&p, Role::EndUser, CT, &body(&[("cat.PNG", 10)])),
            Ok(())
        );
        assert_eq!(
            check_upload(
                &p,
                Role::EndUser,
                CT,
                &body(&[("cat.png", 1), ("run.exe", 10)])
            ),
            Err(UploadError::ExtensionNotAllowed {
                filename: "run.exe".into()
            })
        );
        assert_eq!(
            check_upload(&p, Role::Staff, CT, &body(&[("run.exe", 10)])),
            Ok(())
        );
        assert!(check_upload(&p, Role::EndUser, CT, &body(&[("noext", 1)])).is_err());
        assert!(check_upload(&p, Role::EndUser, CT, &body(&[("C:\\x\\evil.exe", 1)])).is_err());
        assert!(check_upload(&p, Role::EndUser, CT, &body(&[("double.png.exe", 1)])).is_err());
    }

    #[test]
    fn size_limit_per_file() {
        let p = UploadPolicy {
            max_bytes: 100,
            ..UploadPolicy::default()
        };
        assert_eq!(
            check_upload(&p, Role::EndUser, CT, &body(&[("a.png", 100)])),
            Ok(())
        );
        assert_eq!(
            check_upload(&p, Role::EndUser, CT, &body(&[("a.png", 101)])),
            Err(UploadError::TooLarge { limit: 100 })
        );
        assert!(declared_too_large(&p, Some(200_000)));
        assert!(!declared_too_large(&p, Some(1000)));
    }

    #[test]
    fn rfc5987_names_and_malformed_bodies() {
        let p = UploadPolicy::default();
        let b = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''%C3%BAdaj.exe\r\n\r\nxx\r\n--b--";
        assert!(matches!(
            check_upload(&p, Role::EndUser, "multipart/form-data; boundary=b", b),
            Err(UploadError::ExtensionNotAllowed { .. })
        ));
        assert_eq!(
            check_upload(
                &p,
                Role::EndUser,
                "multipart/form-data; boundary=b",
                b"garbage"
            ),
            Err(UploadError::Malformed)
        );
    }

    #[test]
    fn roles_from_the_session() {
        assert_eq!(
            Role::from_session_roles(&["staff".into(), "Admin".into()]),
            Role::Admin
        );
        assert_eq!(Role::from_session_roles(&["staff".into()]), Role::Staff);
        assert_eq!(Role::from_session_roles(&[]), Role::EndUser);
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

    proptest! {
        #[test]
        fn scanner_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300), boundary in "[a-z]{0,5}") {
            let ct = format!("multipart/form-data; boundary={boundary}");
            let _ = check_upload(&UploadPolicy::default(), Role::EndUser, &ct, &b);
        }
    }
}
