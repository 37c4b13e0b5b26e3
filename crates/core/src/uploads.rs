//! Upload rules: which paths carry uploads, which file extensions each kind
//! of user may send, and the size limit, judged from the multipart body
//! itself (a client-supplied Content-Type or file name header alone is not
//! trusted).
//!
//! The multipart body is split by `multipart.rs`.

use crate::multipart::{self, boundary, split_params};
use crate::paths::percent_decode;
use crate::policy::UploadPolicy;
use crate::roles::Role;

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

/// A declared `Content-Length` already over the limit (the edge refuses
/// those before reading a byte). Multipart framing adds a little; allow 64 KB.
pub(crate) fn declared_too_large(policy: &UploadPolicy, content_length: Option<u64>) -> bool {
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
pub(crate) fn check_upload(
    policy: &UploadPolicy,
    role: Role,
    content_type: &str,
    body: &[u8],
) -> Result<(), UploadError> {
    let allowed = match role {
        Role::Admin | Role::Staff => &policy.staff_extensions,
        Role::EndUser => &policy.end_user_extensions,
    };
    let Some(boundary) = boundary(content_type) else {
        if body.len() as u64 > policy.max_bytes {
            return Err(UploadError::TooLarge {
                limit: policy.max_bytes,
            });
        }
        // Not multipart: form fields and JSON carry no file; any other body
        // is a file whose name the edge cannot see, allowed only where any
        // extension is.
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let fileless = matches!(
            mime.as_str(),
            "application/x-www-form-urlencoded" | "application/json"
        ) || (mime.is_empty() && body.is_empty());
        if fileless || allowed.iter().any(|e| e == ".*") {
            return Ok(());
        }
        return Err(UploadError::ExtensionNotAllowed {
            filename: format!("(a {mime} body)"),
        });
    };
    let mut total: u64 = 0;
    let parts = multipart::parts(body, boundary.as_bytes()).map_err(|_| UploadError::Malformed)?;
    for part in parts {
        let len = part.data.len();
        total = total.saturating_add(len as u64);
        if len as u64 > policy.max_bytes {
            return Err(UploadError::TooLarge {
                limit: policy.max_bytes,
            });
        }
        // An optional file input left empty: browsers send `filename=""`
        // with no content.
        let filenames = disposition_filenames(part.headers);
        if filenames.iter().all(String::is_empty) && len == 0 {
            continue;
        }
        for filename in filenames {
            if !extension_allowed(allowed, &filename) {
                return Err(UploadError::ExtensionNotAllowed { filename });
            }
        }
    }
    // Many small parts must not add up past the limit either (with room
    // for ordinary form fields).
    if total > policy.max_bytes.saturating_add(64 * 1024) {
        return Err(UploadError::TooLarge {
            limit: policy.max_bytes,
        });
    }
    Ok(())
}

/// Every file name in a part's Content-Disposition lines.
fn disposition_filenames(headers: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in headers
        .split("\r\n")
        .filter(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
    {
        for param in split_params(line).into_iter().skip(1) {
            let Some((k, v)) = param.split_once('=') else {
                continue;
            };
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim();
            if k == "filename*" {
                // charset'lang'percent-encoded; the extension is what matters.
                let encoded = v.splitn(3, '\'').nth(2).unwrap_or(v);
                names.push(percent_decode(encoded.trim_matches('"')));
            } else if k == "filename" {
                names.push(v.trim_matches('"').replace("\\\"", "\""));
            }
        }
    }
    names
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
    fn every_name_must_pass_and_delimiters_are_line_anchored() {
        let p = UploadPolicy::default();
        let ct = "multipart/form-data; boundary=b";
        // A quoted `;` does not smuggle a second name past the check.
        let b = b"--b\r\nContent-Disposition: form-data; filename=\"evil.exe\"; name=\"x; filename=a.png\"\r\n\r\nxx\r\n--b--";
        assert!(matches!(
            check_upload(&p, Role::EndUser, ct, b),
            Err(UploadError::ExtensionNotAllowed { .. })
        ));
        // filename* and filename both count.
        let b = b"--b\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''a.png; filename=\"evil.exe\"\r\n\r\nxx\r\n--b--";
        assert!(matches!(
            check_upload(&p, Role::EndUser, ct, b),
            Err(UploadError::ExtensionNotAllowed { .. })
        ));
        // A delimiter-looking string inside the data does not end the part early.
        let b = b"--b\r\nContent-Disposition: form-data; name=f; filename=\"a.png\"\r\n\r\nab--b--cd\r\n--b\r\nContent-Disposition: form-data; name=g; filename=\"x.exe\"\r\n\r\nzz\r\n--b--";
        assert!(matches!(
            check_upload(&p, Role::EndUser, ct, b),
            Err(UploadError::ExtensionNotAllowed { .. })
        ));
        // A preamble that merely mentions the boundary is not a delimiter.
        let b = b"X--b--\r\n--b\r\nContent-Disposition: form-data; name=f; filename=\"x.exe\"\r\n\r\nzz\r\n--b--";
        assert!(check_upload(&p, Role::EndUser, ct, b).is_err());
        // An empty optional file input passes.
        let b = b"--b\r\nContent-Disposition: form-data; name=f; filename=\"\"\r\n\r\n\r\n--b--";
        assert_eq!(check_upload(&p, Role::EndUser, ct, b), Ok(()));
    }

    #[test]
    fn bodies_that_are_not_multipart() {
        let p = UploadPolicy::default();
        assert_eq!(
            check_upload(
                &p,
                Role::EndUser,
                "application/x-www-form-urlencoded",
                b"a=1"
            ),
            Ok(())
        );
        assert_eq!(
            check_upload(&p, Role::EndUser, "application/json", b"{}"),
            Ok(())
        );
        assert!(check_upload(&p, Role::EndUser, "application/octet-stream", b"MZ..").is_err());
        assert_eq!(
            check_upload(&p, Role::Staff, "application/octet-stream", b"MZ.."),
            Ok(())
        );
        assert!(check_upload(&p, Role::EndUser, "multipart/form-data", b"--x").is_err());
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

    proptest! {
        #[test]
        fn scanner_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300), boundary in "[a-z]{0,5}") {
            let ct = format!("multipart/form-data; boundary={boundary}");
            let _ = check_upload(&UploadPolicy::default(), Role::EndUser, &ct, &b);
        }
    }
}
