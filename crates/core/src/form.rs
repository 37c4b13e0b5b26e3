//! Reading the fields of a form the edge must check (login, signup, change
//! password, reset, the CAPTCHA token) from the raw body, the way every
//! origin will read them, or refusing the form. Frameworks disagree: Flask
//! and Spring read the query before the body, PHP folds spaces and dots
//! into underscores and `a[b]` into `a`, some ignore case, parsers keep the
//! first or the last of a duplicate, Express inflates gzip bodies, some
//! honour a charset or a part's own encoding. So a checked field must
//! appear once, under exactly its name, in the body only, as UTF-8 text;
//! any other spelling that could read as it is 400 `ambiguous_field` (a
//! security warning), and a plain duplicate 400 `duplicate_field`.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::multipart;
use crate::paths::percent_decode;
use crate::refusal::{self, Refusal};
use crate::request::Request;

/// One entry of a form, as read.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// The name as it came (decoded where the format encodes names).
    name: String,
    /// The value.
    value: Read,
}

/// An entry's value.
#[derive(Debug, Clone, PartialEq)]
enum Read {
    /// UTF-8 text.
    Text(String),
    /// Something an origin may read otherwise: a file, bytes that are not
    /// UTF-8 or an escape that is not one, a JSON value that is not a
    /// string, a part with its own encoding or a starred name.
    Doubtful,
}

/// The key frameworks may read `name` as: without leading spaces, before
/// any `[` (PHP arrays), spaces and dots as underscores (PHP), lowercase.
fn fold(name: &str) -> String {
    let name = name.trim_start_matches(' ');
    let name = name.split('[').next().unwrap_or(name);
    name.chars()
        .map(|c| if c == ' ' || c == '.' { '_' } else { c })
        .collect::<String>()
        .to_lowercase()
}

/// Strict `application/x-www-form-urlencoded` decoding of one name or value:
/// `+` is a space; an escape that is not `%XX`, or bytes that are not
/// UTF-8, read as `None` (origins disagree on what they mean).
fn form_decode(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    let bytes = spaced.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return None;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    let decoded = percent_decode(&spaced);
    (!decoded.contains('\u{FFFD}') || spaced.contains('\u{FFFD}')).then_some(decoded)
}

/// The pairs of an urlencoded text split on `separators`.
fn urlencoded(text: &str, separators: &[char]) -> Vec<Entry> {
    text.split(separators)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Entry {
                name: form_decode(name).unwrap_or_else(|| name.to_owned()),
                value: form_decode(value).map_or(Read::Doubtful, Read::Text),
            }
        })
        .collect()
}

/// A JSON object's members in order, duplicates kept.
struct Members(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Collect;
        impl<'de> Visitor<'de> for Collect {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    members.push((k, v));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Collect)
    }
}

fn json(body: &[u8]) -> Result<Vec<Entry>, Refusal> {
    let Members(members) =
        serde_json::from_slice::<Members>(body).map_err(|_| refusal::malformed_form())?;
    Ok(members
        .into_iter()
        .map(|(name, value)| Entry {
            name,
            value: match value {
                Value::String(text) => Read::Text(text),
                _ => Read::Doubtful,
            },
        })
        .collect())
}

/// The parameters of a header line after its value: `(name, value)`,
/// names lowercased, quotes removed.
fn params(line: &str) -> Vec<(String, String)> {
    multipart::split_params(line)
        .into_iter()
        .skip(1)
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect()
}

/// Whether a part's headers make its value doubtful: a file name, a
/// starred name (RFC 5987), its own transfer encoding, or a charset other
/// than UTF-8.
fn doubtful_part(headers: &str) -> bool {
    headers.split("\r\n").any(|line| {
        let lower = line.to_ascii_lowercase();
        let (name, _) = lower.split_once(':').unwrap_or((&lower, ""));
        match name.trim() {
            "content-disposition" => params(line)
                .iter()
                .any(|(k, _)| matches!(k.as_str(), "filename" | "filename*" | "name*")),
            "content-transfer-encoding" => true,
            "content-type" => params(line)
                .iter()
                .any(|(k, v)| k == "charset" && !is_utf8(v)),
            _ => false,
        }
    })
}

fn multipart(content_type: &str, body: &[u8]) -> Result<Vec<Entry>, Refusal> {
    let boundary = multipart::boundary(content_type).ok_or_else(refusal::malformed_form)?;
    let parts =
        multipart::parts(body, boundary.as_bytes()).map_err(|_| refusal::malformed_form())?;
    let mut entries = Vec::new();
    for part in parts {
        let names: Vec<String> = part
            .headers
            .split("\r\n")
            .filter(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .flat_map(|l| {
                params(l)
                    .into_iter()
                    .filter(|(k, _)| k == "name")
                    .map(|(_, v)| v)
            })
            .collect();
        let value = match std::str::from_utf8(part.data) {
            Ok(text) if !doubtful_part(part.headers) => Read::Text(text.to_owned()),
            _ => Read::Doubtful,
        };
        // Every name a part gives (a second Content-Disposition, a
        // percent-encoded spelling) is a name an origin may read.
        for name in names {
            let decoded = percent_decode(&name);
            if decoded != name {
                entries.push(Entry {
                    name: decoded,
                    value: Read::Doubtful,
                });
            }
            entries.push(Entry {
                name,
                value: value.clone(),
            });
        }
    }
    Ok(entries)
}

fn is_utf8(charset: &str) -> bool {
    matches!(
        charset.trim().to_ascii_lowercase().as_str(),
        "utf-8" | "utf8"
    )
}

/// The charset a content type names, if any.
fn charset(content_type: &str) -> Option<String> {
    params(content_type)
        .into_iter()
        .find(|(k, _)| k == "charset")
        .map(|(_, v)| v)
}

/// The checked values of `names` in `body` (the request's whole body), or
/// the refusal. `None` for a name the form does not carry.
pub(crate) fn checked_fields(
    req: &Request,
    body: &[u8],
    names: &[&str],
) -> Result<Vec<Option<String>>, Refusal> {
    let ambiguous = refusal::ambiguous_field;
    if req
        .content_encoding()
        .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"))
        || charset(req.content_type()).is_some_and(|c| !is_utf8(&c))
    {
        return Err(ambiguous());
    }
    let folded: Vec<String> = names.iter().map(|n| fold(n)).collect();
    // A checked name in the query too: some origins read the query first.
    let query = urlencoded(req.query(), &['&', ';']);
    if query.iter().any(|e| folded.contains(&fold(&e.name))) {
        return Err(ambiguous());
    }
    let entries = match req.media_type().as_str() {
        "application/json" => json(body)?,
        "multipart/form-data" => multipart(req.content_type(), body)?,
        _ => {
            let text = std::str::from_utf8(body).map_err(|_| ambiguous())?;
            let entries = urlencoded(text, &['&']);
            // A `;` that some parsers take for `&` must not hide a field.
            let semicolons = urlencoded(text, &['&', ';']);
            let count = |es: &[Entry], f: &str| es.iter().filter(|e| fold(&e.name) == f).count();
            if folded
                .iter()
                .any(|f| count(&entries, f) != count(&semicolons, f))
            {
                return Err(ambiguous());
            }
            entries
        }
    };
    names
        .iter()
        .zip(&folded)
        .map(|(name, folded)| {
            let found: Vec<&Entry> = entries
                .iter()
                .filter(|e| fold(&e.name) == *folded)
                .collect();
            match found.as_slice() {
                [] => Ok(None),
                matched if matched.iter().any(|e| e.name != *name) => Err(ambiguous()),
                [one] => match &one.value {
                    Read::Text(text) => Ok(Some(text.clone())),
                    Read::Doubtful => Err(ambiguous()),
                },
                _ => Err(refusal::duplicate_field()),
            }
        })
        .collect()
}

/// The first text value of `name`, read leniently (the XSRF token: a form
/// that cannot be read simply has none).
pub(crate) fn first_value(req: &Request, body: &[u8], name: &str) -> Option<String> {
    let entries = match req.media_type().as_str() {
        "multipart/form-data" => multipart(req.content_type(), body).ok()?,
        "application/x-www-form-urlencoded" => urlencoded(std::str::from_utf8(body).ok()?, &['&']),
        _ => return None,
    };
    entries
        .into_iter()
        .find(|e| e.name == name)
        .and_then(|e| match e.value {
            Read::Text(text) => Some(text),
            Read::Doubtful => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::RequestFacts;

    fn request(url: &str, content_type: &str, encoding: Option<&str>) -> Request {
        let mut headers: [Option<String>; 11] = Default::default();
        headers[4] = Some(content_type.to_owned());
        headers[10] = encoding.map(str::to_owned);
        Request::new(RequestFacts {
            method: "POST".into(),
            url: format!("https://edge.example{url}"),
            headers,
            has_body: true,
        })
    }

    const URLENCODED: &str = "application/x-www-form-urlencoded";

    fn read(
        url: &str,
        content_type: &str,
        body: &str,
    ) -> Result<Vec<Option<String>>, &'static str> {
        checked_fields(
            &request(url, content_type, None),
            body.as_bytes(),
            &["username", "password"],
        )
        .map_err(|r| r.code)
    }

    #[test]
    fn plain_forms_read_their_fields() {
        assert_eq!(
            read("/login", URLENCODED, "username=al+ice&password=p%40ss&x=1"),
            Ok(vec![Some("al ice".into()), Some("p@ss".into())])
        );
        assert_eq!(
            read(
                "/login",
                "application/json",
                r#"{"username":"a","password":"b","n":1}"#
            ),
            Ok(vec![Some("a".into()), Some("b".into())])
        );
        let body = "--b\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\na\r\n--b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nb\r\n--b--\r\n";
        assert_eq!(
            read("/login", "multipart/form-data; boundary=b", body),
            Ok(vec![Some("a".into()), Some("b".into())])
        );
        assert_eq!(
            read("/login", URLENCODED, "password=x"),
            Ok(vec![None, Some("x".into())])
        );
    }

    #[test]
    fn every_other_reading_is_refused() {
        let ambiguous = Err("ambiguous_field");
        assert_eq!(
            read("/login?username=v", URLENCODED, "username=d&password=x"),
            ambiguous
        );
        assert_eq!(
            read("/login?UserName=v", URLENCODED, "password=x"),
            ambiguous
        );
        assert_eq!(
            read("/login", URLENCODED, "+username=v&username=d&password=x"),
            ambiguous
        );
        assert_eq!(
            read("/login", URLENCODED, "Username=v&password=x"),
            ambiguous
        );
        assert_eq!(
            read("/login", URLENCODED, "username[]=v&password=x"),
            ambiguous
        );
        assert_eq!(
            read("/login", URLENCODED, "username=%zz&password=x"),
            ambiguous
        );
        assert_eq!(
            read("/login", URLENCODED, "username=%ff&password=x"),
            ambiguous
        );
        assert_eq!(
            read("/login", URLENCODED, "username=d;username=v&password=x"),
            ambiguous
        );
        assert_eq!(
            read("/login", URLENCODED, "username=d&username=v&password=x"),
            Err("duplicate_field")
        );
        assert_eq!(
            read(
                "/login",
                "application/json",
                r#"{"username":"d","username":"v","password":"x"}"#
            ),
            Err("duplicate_field")
        );
        assert_eq!(
            read(
                "/login",
                "application/json",
                r#"{"username":"d","Username":"v"}"#
            ),
            ambiguous
        );
        assert_eq!(
            read("/login", "application/json", r#"{"username":["v"]}"#),
            ambiguous
        );
        assert_eq!(
            read(
                "/login",
                &format!("{URLENCODED}; charset=iso-8859-1"),
                "username=a"
            ),
            ambiguous
        );
        assert!(
            checked_fields(
                &request("/login", URLENCODED, Some("gzip")),
                b"username=a",
                &["username"]
            )
            .is_err()
        );
        let part = |headers: &str| {
            format!(
                "--b\r\nContent-Disposition: form-data; name=\"username\"{headers}\r\n\r\nv\r\n--b--\r\n"
            )
        };
        for extra in [
            "; filename=\"u.txt\"",
            "; name*=UTF-8''x",
            "\r\nContent-Transfer-Encoding: base64",
            "\r\nContent-Type: text/plain; charset=latin1",
        ] {
            assert_eq!(
                read("/login", "multipart/form-data; boundary=b", &part(extra)),
                ambiguous,
                "{extra}"
            );
        }
        let encoded_name =
            "--b\r\nContent-Disposition: form-data; name=\"user%6Eame\"\r\n\r\nv\r\n--b--\r\n";
        assert_eq!(
            read("/login", "multipart/form-data; boundary=b", encoded_name),
            ambiguous
        );
    }

    #[test]
    fn dots_fold_into_underscores() {
        let r = checked_fields(
            &request("/reset", URLENCODED, None),
            b"new.password=a&new_password=b",
            &["new_password"],
        );
        assert_eq!(r.map_err(|r| r.code), Err("ambiguous_field"));
    }
}
