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

mod entry;
mod params;
mod parts;

use entry::{Entry, Read, is_utf8};

use crate::paths::percent_decode;
use crate::refusal::{self, Refusal};
use crate::request::Request;

/// The key frameworks may read `name` as, the way PHP registers a
/// variable (everything after a NUL ignored, leading spaces dropped,
/// spaces and dots as underscores up to the first `[`; that `[` starts an
/// array when a `]` follows it, and is an underscore otherwise), then
/// lowercased (some frameworks ignore case).
pub(crate) fn fold(name: &str) -> String {
    let name = name.split('\0').next().unwrap_or_default();
    let name = name.trim_start_matches(' ');
    let mut key = String::with_capacity(name.len());
    for (i, c) in name.char_indices() {
        match c {
            ' ' | '.' => key.push('_'),
            '[' if name[i + 1..].contains(']') => break,
            '[' => {
                key.push('_');
                key.push_str(&name[i + 1..]);
                break;
            }
            _ => key.push(c),
        }
    }
    key.to_lowercase()
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
                // Origins decode a bad escape leniently (left as it is):
                // the name still folds the way theirs does.
                name: form_decode(name).unwrap_or_else(|| percent_decode(&name.replace('+', " "))),
                value: form_decode(value).map_or(Read::Doubtful, Read::Text),
            }
        })
        .collect()
}

/// Whether an origin may read `name` as the folded key `key`: as PHP
/// registers it, or cut at its first `[` as qs (Express) does even
/// without a closing `]`, or the first `[…]` of a name that starts with
/// one (qs).
fn reads_as(name: &str, key: &str) -> bool {
    let before = name.split('[').next().unwrap_or(name);
    // qs takes a leading `[a]` for `a` (`[username]x` is `username`).
    let leading = (before.trim_start_matches(' ').is_empty())
        .then(|| {
            name.split_once('[')?
                .1
                .split_once(']')
                .map(|(inner, _)| inner)
        })
        .flatten();
    // Rack 2 drops brackets around a name (`name]`, `]name`, `[[name]]`).
    let rack = name
        .trim_start_matches(['[', ']'])
        .split(['[', ']'])
        .next()
        .unwrap_or_default();
    fold(name) == key
        || fold(before) == key
        || fold(rack) == key
        || leading.is_some_and(|inner| fold(inner) == key)
}

/// The entries of `folded` names in `entries`.
fn matching<'a>(entries: &'a [Entry], folded: &'a str) -> impl Iterator<Item = &'a Entry> {
    entries.iter().filter(move |e| reads_as(&e.name, folded))
}

/// An urlencoded text's entries, refused when a `;` (which some parsers
/// take for `&`) changes what a checked name reads as.
fn urlencoded_checked(text: &str, folded: &[String]) -> Result<Vec<Entry>, Refusal> {
    let entries = urlencoded(text, &['&']);
    let semicolons = urlencoded(text, &['&', ';']);
    if folded
        .iter()
        .any(|f| !matching(&entries, f).eq(matching(&semicolons, f)))
    {
        return Err(refusal::ambiguous_field());
    }
    Ok(entries)
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

/// A JSON object's members, or `None` when the body is not one (another
/// parser may still read it: Python takes `NaN` and a byte-order mark).
fn json(body: &[u8]) -> Option<Vec<Entry>> {
    let Members(members) = serde_json::from_slice::<Members>(body).ok()?;
    Some(
        members
            .into_iter()
            .map(|(name, value)| Entry {
                name,
                value: match value {
                    Value::String(text) => Read::Text(text),
                    _ => Read::Doubtful,
                },
            })
            .collect(),
    )
}

/// The checked values of `names` in `body` (the request's whole body) and
/// the query, or the refusal. `None` for a name the request does not carry.
pub(crate) fn checked_fields(
    req: &Request,
    body: &[u8],
    names: &[&str],
) -> Result<Vec<Option<String>>, Refusal> {
    let ambiguous = refusal::ambiguous_field;
    let (_, type_params) = params::strict(req.content_type()).map_err(|_| ambiguous())?;
    if req
        .content_encoding()
        .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"))
        || params::get(&type_params, "charset").is_some_and(|c| !is_utf8(c))
    {
        return Err(ambiguous());
    }
    let folded: Vec<String> = names.iter().map(|n| fold(n)).collect();
    // Some origins read the query before the body (Flask's `values`, PHP's
    // `$_REQUEST`), others only one of them.
    let query = urlencoded_checked(req.query(), &folded)?;
    let media = req.media_type();
    if media == "application/json" || media == "multipart/form-data" {
        // An origin may read any body as urlencoded, whatever the type
        // says (PHP's `parse_str(file_get_contents('php://input'))` for a
        // PUT, a parser registered for every type), and both split on `&`.
        let raw = urlencoded(&String::from_utf8_lossy(body), &['&']);
        if folded.iter().any(|f| matching(&raw, f).next().is_some()) {
            return Err(ambiguous());
        }
    }
    let entries = match media.as_str() {
        "application/json" => json(body).ok_or_else(ambiguous)?,
        "multipart/form-data" => {
            parts::multipart(req.content_type(), &type_params, body).map_err(|_| ambiguous())?
        }
        _ => {
            let text = std::str::from_utf8(body).map_err(|_| ambiguous())?;
            // An origin may read its body as JSON whatever the type says
            // (`json_decode(file_get_contents('php://input'))`), and PHP
            // reads JSON that serde does not (`1e400`, deep nesting): a
            // form never starts like JSON, nor holds a NUL or a byte-order
            // mark (JSON in UTF-16 or UTF-32, or after a BOM, which
            // Python's `json.loads` reads).
            let start = text
                .trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}' || c == '\0');
            if start.starts_with(['{', '[']) || text.contains(['\0', '\u{feff}']) {
                return Err(ambiguous());
            }
            urlencoded_checked(text, &folded)?
        }
    };
    names
        .iter()
        .zip(&folded)
        .map(|(name, folded)| pick(name, matching(&query, folded), matching(&entries, folded)))
        .collect()
}

/// The one value of `name` among its copies in the query and the body:
/// every copy under exactly that name and text; at most one in each, and
/// the same in both.
fn pick<'a>(
    name: &str,
    query: impl Iterator<Item = &'a Entry>,
    body: impl Iterator<Item = &'a Entry>,
) -> Result<Option<String>, Refusal> {
    let text = |e: &Entry| match &e.value {
        Read::Text(text) if e.name == name => Ok(text.clone()),
        _ => Err(refusal::ambiguous_field()),
    };
    let query = query.map(text).collect::<Result<Vec<_>, _>>()?;
    let body = body.map(text).collect::<Result<Vec<_>, _>>()?;
    match (query.as_slice(), body.as_slice()) {
        ([], []) => Ok(None),
        ([one], []) | ([], [one]) => Ok(Some(one.clone())),
        ([q], [b]) if q == b => Ok(Some(b.clone())),
        ([_], [_]) => Err(refusal::ambiguous_field()),
        _ => Err(refusal::duplicate_field()),
    }
}

/// The body with each of `names` that it carries replaced by what `seal`
/// makes of its value (`seal(name, value)`), every other byte as sent;
/// `None` when it carries none of them (nothing to rewrite). The form is
/// read as [`checked_fields`] reads it (one spelling, once, as text), and
/// refused when the query carries one of the names (it would reach the
/// origin as sent) or the body is not urlencoded, multipart or JSON.
pub(crate) fn seal_fields(
    req: &Request,
    body: &[u8],
    names: &[&str],
    seal: &mut dyn FnMut(&str, &str) -> Result<String, Refusal>,
) -> Result<Option<Vec<u8>>, Refusal> {
    if carried_outside_body(req, names) {
        return Err(refusal::ambiguous_field());
    }
    let media = req.media_type();
    let known = [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/json",
    ];
    if body.is_empty() {
        return Ok(None);
    }
    if !known.contains(&media.as_str()) {
        return Err(refusal::unsupported_body(
            "This route's fields are sealed by the edge: send urlencoded, multipart or JSON.",
        ));
    }
    if carries_nested(req, body, names) {
        return Err(refusal::ambiguous_field());
    }
    let values = checked_fields(req, body, names)?;
    let mut rewritten: Option<Vec<u8>> = None;
    for (name, value) in names.iter().zip(values) {
        let Some(value) = value else { continue };
        let sealed = seal(name, &value)?;
        let current = rewritten.as_deref().unwrap_or(body);
        rewritten = Some(replace_field(req, current, name, &sealed)?);
    }
    Ok(rewritten)
}

/// Whether the query or a cookie carries one of `names` in a spelling an
/// origin may read as it (PHP's `$_REQUEST` takes cookies too, where no
/// php.ini orders it): there it would reach the origin as sent, with or
/// without a body.
pub(crate) fn carried_outside_body(req: &Request, names: &[&str]) -> bool {
    query_carries(req, names)
        || req.cookies().is_some_and(|c| {
            c.split(';')
                .any(|pair| reads_as_any(pair.split('=').next().unwrap_or_default().trim(), names))
        })
}

/// Whether `name` is one of `names` in any spelling an origin may read as it.
fn reads_as_any(name: &str, names: &[&str]) -> bool {
    let name = percent_decode(name);
    names.iter().any(|n| reads_as(&name, &fold(n)))
}

/// Whether the request carries one of `names` nested, where an application
/// that binds models or objects reads it (`payment[card_number]`,
/// `payment.card_number`, `!card_number`, a JSON member below the top):
/// only the top-level field is sealed, so any other place is refused.
fn carries_nested(req: &Request, body: &[u8], names: &[&str]) -> bool {
    let mut entries = urlencoded(req.query(), &['&', ';']);
    match req.media_type().as_str() {
        "application/json" => {
            if let Ok(value) = serde_json::from_slice::<Value>(body) {
                return nested_json(&value, names, 0);
            }
        }
        "multipart/form-data" => {
            if let Ok((_, type_params)) = params::strict(req.content_type())
                && let Ok(parts) = parts::multipart(req.content_type(), &type_params, body)
            {
                entries.extend(parts);
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(body) {
                entries.extend(urlencoded(text, &['&', ';']));
            }
        }
    }
    entries.iter().any(|e| {
        names.iter().any(|n| {
            e.name != *n
                && e.name
                    .split(['[', ']', '.', '!', ' '])
                    .any(|piece| fold(piece) == fold(n))
        })
    })
}

/// Whether a member below the top level of `value` is named as one of `names`.
fn nested_json(value: &Value, names: &[&str], depth: usize) -> bool {
    match value {
        Value::Object(members) => members.iter().any(|(key, member)| {
            (depth > 0 && names.iter().any(|n| fold(key) == fold(n)))
                || nested_json(member, names, depth + 1)
        }),
        Value::Array(items) => items.iter().any(|item| nested_json(item, names, depth + 1)),
        _ => false,
    }
}

/// `body` with the one field `name` holding `value` instead (the body
/// passed [`checked_fields`] for that name, so it holds it once).
fn replace_field(req: &Request, body: &[u8], name: &str, value: &str) -> Result<Vec<u8>, Refusal> {
    let ambiguous = refusal::ambiguous_field;
    match req.media_type().as_str() {
        "multipart/form-data" => {
            let (_, type_params) = params::strict(req.content_type()).map_err(|_| ambiguous())?;
            parts::replace(req.content_type(), &type_params, body, name, value)
                .map_err(|_| ambiguous())
        }
        "application/json" => {
            let Members(members) = serde_json::from_slice(body).map_err(|_| ambiguous())?;
            let mut out = String::from("{");
            for (i, (key, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let member = if key == name {
                    Value::String(value.to_owned())
                } else {
                    member
                };
                out.push_str(&Value::String(key).to_string());
                out.push(':');
                out.push_str(&member.to_string());
            }
            out.push('}');
            Ok(out.into_bytes())
        }
        _ => {
            let text = std::str::from_utf8(body).map_err(|_| ambiguous())?;
            let mut found = false;
            let pairs: Vec<String> = text
                .split('&')
                .map(|pair| {
                    let raw = pair.split_once('=').map_or(pair, |(n, _)| n);
                    if form_decode(raw).as_deref() == Some(name) {
                        found = true;
                        // An envelope (letters, digits, `.`, `_`, `-`) comes out as it is.
                        format!(
                            "{raw}={}",
                            form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
                        )
                    } else {
                        pair.to_owned()
                    }
                })
                .collect();
            if !found {
                return Err(ambiguous());
            }
            Ok(pairs.join("&").into_bytes())
        }
    }
}

/// The one value of query parameter `name`, read the way every origin
/// reads it (a rate limit's key): `None` when absent; refused when a
/// duplicate, a `;`, or a name PHP or qs folds into it could read as
/// another value.
pub(crate) fn checked_query_value(req: &Request, name: &str) -> Result<Option<String>, Refusal> {
    let folded = [fold(name)];
    let query = urlencoded_checked(req.query(), &folded)?;
    pick(name, matching(&query, &folded[0]), std::iter::empty())
}

/// Whether the query carries any of `names` under a spelling an origin
/// may read as it.
pub(crate) fn query_carries(req: &Request, names: &[&str]) -> bool {
    let query = urlencoded(req.query(), &['&', ';']);
    names
        .iter()
        .any(|name| matching(&query, &fold(name)).next().is_some())
}

/// The first text value of `name`, read leniently (the XSRF token: a form
/// that cannot be read simply has none).
pub(crate) fn first_value(req: &Request, body: &[u8], name: &str) -> Option<String> {
    let entries = match req.media_type().as_str() {
        "multipart/form-data" => {
            let (_, type_params) = params::strict(req.content_type()).ok()?;
            parts::multipart(req.content_type(), &type_params, body).ok()?
        }
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

    fn sealed(
        url: &str,
        content_type: &str,
        encoding: Option<&str>,
        body: &str,
    ) -> Result<Option<String>, &'static str> {
        let mut seal = |name: &str, value: &str| Ok(format!("pcv1.k.{name}-{}", value.len()));
        seal_fields(
            &request(url, content_type, encoding),
            body.as_bytes(),
            &["card_number"],
            &mut seal,
        )
        .map(|b| b.map(|b| String::from_utf8(b).unwrap()))
        .map_err(|r| r.code)
    }

    #[test]
    fn vault_fields_are_replaced_in_place_in_every_format() {
        assert_eq!(
            sealed(
                "/billing",
                URLENCODED,
                None,
                "name=Al&card_number=4111+1111&x=%41"
            ),
            Ok(Some(
                "name=Al&card_number=pcv1.k.card_number-9&x=%41".into()
            ))
        );
        assert_eq!(
            sealed(
                "/billing",
                "application/json",
                None,
                r#"{"card_number":"4111","n":[1,{"a":null}]}"#
            ),
            Ok(Some(
                r#"{"card_number":"pcv1.k.card_number-4","n":[1,{"a":null}]}"#.into()
            ))
        );
        let multipart = "--b\r\nContent-Disposition: form-data; name=\"card_number\"\r\n\r\n4111\r\n--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny\r\n--b--\r\n";
        assert_eq!(
            sealed(
                "/billing",
                "multipart/form-data; boundary=b",
                None,
                multipart
            ),
            Ok(Some(
                multipart.replace("\r\n4111\r\n", "\r\npcv1.k.card_number-4\r\n")
            ))
        );
        // Nothing to seal: the body passes as it is.
        assert_eq!(sealed("/billing", URLENCODED, None, "name=Al"), Ok(None));
        assert_eq!(sealed("/billing", "text/plain", None, ""), Ok(None));
    }

    #[test]
    fn vault_fields_in_any_other_spelling_are_refused() {
        const JSON: &str = "application/json";
        let cases: [(&str, &str, Option<&str>, &str, &str); 22] = [
            (
                "/billing?card_number=4111",
                URLENCODED,
                None,
                "x=1",
                "ambiguous_field",
            ),
            (
                "/billing?card.number=4111",
                URLENCODED,
                None,
                "x=1",
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                None,
                "card.number=4111",
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                None,
                "card_number[]=4111",
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                None,
                "Card_Number=4111",
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                None,
                "x=1;card_number=4111",
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                None,
                "card_number=1&card_number=2",
                "duplicate_field",
            ),
            (
                "/billing",
                JSON,
                None,
                r#"{"card_number":4111}"#,
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                Some("gzip"),
                "card_number=4111",
                "ambiguous_field",
            ),
            (
                "/billing",
                "application/x-www-form-urlencoded; charset=latin1",
                None,
                "card_number=4111",
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                None,
                "payment[card_number]=4111",
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                None,
                "payment.card_number=4111",
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                None,
                "!card_number=4111",
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                None,
                "card_number]=4111",
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                None,
                "]card_number=4111",
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                None,
                "\u{feff}{\"card_number\":\"4111\"}",
                "ambiguous_field",
            ),
            (
                "/billing",
                URLENCODED,
                None,
                "\0{\0\"\0c\0",
                "ambiguous_field",
            ),
            (
                "/billing",
                JSON,
                None,
                r#"{"payment":{"card_number":"4111"}}"#,
                "ambiguous_field",
            ),
            (
                "/billing",
                JSON,
                None,
                r#"{"__proto__":{"card_number":"4111"}}"#,
                "ambiguous_field",
            ),
            (
                "/billing",
                JSON,
                None,
                r#"{"note":"&card_number=4111&"}"#,
                "ambiguous_field",
            ),
            (
                "/billing",
                "text/plain",
                None,
                "card_number=4111",
                "unsupported_body",
            ),
            (
                "/billing",
                "application/xml",
                None,
                "<card_number>4111</card_number>",
                "unsupported_body",
            ),
        ];
        for (url, kind, encoding, body, code) in cases {
            assert_eq!(
                sealed(url, kind, encoding, body),
                Err(code),
                "{url} {kind} {body}"
            );
        }
    }

    #[test]
    fn vault_fields_in_a_cookie_are_refused_with_or_without_a_body() {
        let mut headers: [Option<String>; 11] = Default::default();
        headers[1] = Some("theme=dark; card%5Fnumber=4111".into());
        let req = Request::new(RequestFacts {
            method: "GET".into(),
            url: "https://edge.example/billing".into(),
            headers,
            has_body: false,
        });
        assert!(carried_outside_body(&req, &["card_number"]));
        let mut seal = |_: &str, _: &str| Ok(String::new());
        let refused = seal_fields(&req, b"", &["card_number"], &mut seal).unwrap_err();
        assert_eq!(refused.code, "ambiguous_field");
        let plain = request("/billing", URLENCODED, None);
        assert!(!carried_outside_body(&plain, &["card_number"]));
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

    #[test]
    fn one_copy_in_the_query_or_the_same_in_both_reads() {
        assert_eq!(
            read("/reset?username=v", URLENCODED, "password=x"),
            Ok(vec![Some("v".into()), Some("x".into())])
        );
        assert_eq!(
            read("/reset?username=v", URLENCODED, "username=v&password=x"),
            Ok(vec![Some("v".into()), Some("x".into())])
        );
        assert_eq!(
            read("/login?username=v&username=v", URLENCODED, "password=x"),
            Err("duplicate_field")
        );
        assert_eq!(
            read("/login?username=v;x", URLENCODED, "password=x"),
            Err("ambiguous_field")
        );
        assert_eq!(
            read("/login", URLENCODED, "username=v;x&password=x"),
            Err("ambiguous_field")
        );
    }

    #[test]
    fn names_fold_as_php_registers_them() {
        assert_eq!(fold("username\0junk"), "username");
        assert_eq!(fold("  user name"), "user_name");
        assert_eq!(fold("new[password"), "new_password");
        assert_eq!(fold("new[pass.word"), "new_pass.word");
        assert_eq!(fold("new_password[a.b]"), "new_password");
        assert_eq!(fold("UserName"), "username");
        for body in [
            "username%00x=v&password=x",
            "password=x&username[0]=v",
            "password=x&+username=v",
        ] {
            assert_eq!(read("/login", URLENCODED, body), Err("ambiguous_field"));
        }
        let r = checked_fields(
            &request("/reset", URLENCODED, None),
            b"new_password=Strong&new[password=weak",
            &["new_password"],
        );
        assert_eq!(r.map_err(|r| r.code), Err("ambiguous_field"));
    }

    #[test]
    fn a_json_body_under_another_type_is_refused() {
        assert_eq!(
            read("/login", URLENCODED, r#"{"username":"v","password":"x"}"#),
            Err("ambiguous_field")
        );
        for body in [
            r#"{"other":"v"}"#,
            r#" {"username":"D","x":"&username=R&password=pw&","n":1e400}"#,
            "[1]",
        ] {
            assert_eq!(
                read("/login", URLENCODED, body),
                Err("ambiguous_field"),
                "{body}"
            );
        }
        for body in [
            r#"{"username":"v",}"#,
            "\u{FEFF}{\"username\":\"v\"}",
            "[1]",
        ] {
            assert_eq!(
                read("/login", "application/json", body),
                Err("ambiguous_field"),
                "{body}"
            );
        }
    }

    #[test]
    fn multipart_that_splits_two_ways_is_refused() {
        let mp = "multipart/form-data; boundary=b";
        let field = |name: &str, value: &str| {
            format!("--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
        };
        let plain = format!("{}--b--\r\n", field("username", "v"));
        assert_eq!(read("/login", mp, &plain), Ok(vec![Some("v".into()), None]));
        let cases = [
            // A delimiter after a bare LF (Werkzeug, PHP split there).
            format!(
                "{}--b--\r\n",
                field("other", "x\n--b\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nv")
            ),
            // A delimiter in the preamble.
            format!("x--b\r\n{}--b--\r\n", &field("username", "v")[2..]),
            // A folded header line, a header line with a bare LF.
            "--b\r\nContent-Disposition: form-data;\r\n name=\"username\"\r\n\r\nv\r\n--b--\r\n".into(),
            "--b\r\nX: y\nContent-Disposition: form-data; name=\"username\"\r\n\r\nv\r\n--b--\r\n".into(),
            // Two dispositions, a parameter twice, another disposition type.
            "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nv\r\n--b--\r\n".into(),
            "--b\r\nContent-Disposition: form-data; name=\"a\"; name=\"username\"\r\n\r\nv\r\n--b--\r\n".into(),
            "--b\r\nContent-Disposition: attachment; name=\"username\"\r\n\r\nv\r\n--b--\r\n".into(),
            // A name escaped or starred into the checked one.
            format!("{}--b--\r\n", field("user\\name", "v")),
            "--b\r\nContent-Disposition: form-data; name*=UTF-8''user%6Eame\r\n\r\nv\r\n--b--\r\n".into(),
        ];
        for body in &cases {
            assert_eq!(read("/login", mp, body), Err("ambiguous_field"), "{body:?}");
        }
        for content_type in [
            "multipart/form-data; boundary=b; boundary=c",
            "multipart/form-data; boundary=\"b\\\"\"",
        ] {
            assert_eq!(
                read("/login", content_type, &plain),
                Err("ambiguous_field"),
                "{content_type}"
            );
        }
    }

    #[test]
    fn the_reviewers_spellings_are_refused() {
        let form = |body: &str| read("/login", URLENCODED, body);
        // qs reads a leading `[username]` as `username`.
        assert_eq!(form("%5Busername%5D=v&password=x"), Err("ambiguous_field"));
        assert_eq!(form("[username]x=v&password=x"), Err("ambiguous_field"));
        // PHP decodes `%00%zz` leniently and stops at the NUL.
        assert_eq!(
            form("username=r&password=x&username%00%zz=d"),
            Err("ambiguous_field")
        );
        // Two charsets: body-parser takes the last.
        assert_eq!(
            read(
                "/login",
                "application/json; charset=utf-8; charset=utf-7",
                r#"{"username":"v"}"#
            ),
            Err("ambiguous_field")
        );
        let body =
            "--BBB\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nr\r\n--BBB--\r\n";
        for content_type in [
            "multipart/form-data; x=\"; boundary=AAA\"; boundary=BBB",
            "multipart/form-data; boundary=BBB,C",
            "multipart/form-data; xboundary=AAA; boundary=BBB",
            "multipart/form-data; boundary=\"BBB\\\"\"",
        ] {
            assert_eq!(
                read("/login", content_type, body),
                Err("ambiguous_field"),
                "{content_type}"
            );
        }
        for disposition in [
            "form-data; x=\"a\\\"; name=username; b=\\\"\"",
            "form-data; name=\"username\"x",
            "form-data; name=username x",
            "form-data; name='username'",
            "form-data; name=\"x\"; c='\"'; name=username; d='\"'",
            "form-data; name*0=\"user\"; name*1=\"name\"",
        ] {
            let body = format!(
                "--BBB\r\nContent-Disposition: {disposition}\r\n\r\nd\r\n--BBB\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nr\r\n--BBB--\r\n"
            );
            assert_eq!(
                read("/login", "multipart/form-data; boundary=BBB", &body),
                Err("ambiguous_field"),
                "{disposition}"
            );
        }
        let part_charset = "--BBB\r\nContent-Disposition: form-data; name=\"username\"\r\nContent-Type: text/plain; charset*=''iso-8859-1\r\n\r\nr\r\n--BBB--\r\n";
        assert_eq!(
            read("/login", "multipart/form-data; boundary=BBB", part_charset),
            Err("ambiguous_field")
        );
    }

    /// What a model origin reads for a name: text, or something else (an
    /// array, an object, a number).
    #[derive(Debug, Clone, PartialEq)]
    enum Model {
        Text(String),
        Other,
    }

    /// Lenient URL decoding, as PHP, Werkzeug and qs do it: a bad escape
    /// stays as it is, bad UTF-8 is replaced.
    fn lenient(raw: &str) -> String {
        percent_decode(&raw.replace('+', " "))
    }

    fn pairs(text: &str) -> Vec<(String, String)> {
        text.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (lenient(k), lenient(v))
            })
            .collect()
    }

    /// PHP's registration of `name`: the key, and whether it is an array.
    fn php_key(name: &str) -> (String, bool) {
        let name = name
            .split('\0')
            .next()
            .unwrap_or_default()
            .trim_start_matches(' ');
        let mut key = String::new();
        for (i, c) in name.char_indices() {
            match c {
                ' ' | '.' => key.push('_'),
                '[' if name[i + 1..].contains(']') => return (key, true),
                '[' => return (format!("{key}_{}", &name[i + 1..]), false),
                _ => key.push(c),
            }
        }
        (key, false)
    }

    /// The readings of `field` by model origins: PHP's `$_POST`,
    /// `$_REQUEST` (last wins, arrays), Werkzeug's `form` and `values`
    /// (first wins), qs (brackets and duplicates make arrays) and a reader
    /// that ignores case.
    fn models(query: &str, body: &Body, field: &str) -> Vec<Option<Model>> {
        let q = pairs(query);
        let b: Vec<(String, Model)> = match body {
            Body::Form(text) => pairs(text)
                .into_iter()
                .map(|(k, v)| (k, Model::Text(v)))
                .collect(),
            Body::Json(members) => members
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let is_form = matches!(body, Body::Form(_));
        let php = |pairs: &[(String, Model)], fold_names: bool| {
            pairs.iter().fold(None, |read, (k, v)| {
                let (key, array) = if fold_names {
                    php_key(k)
                } else {
                    (k.clone(), false)
                };
                match (key == field, array) {
                    (true, true) => Some(Model::Other),
                    (true, false) => Some(v.clone()),
                    _ => read,
                }
            })
        };
        let text_q: Vec<(String, Model)> = q
            .iter()
            .map(|(k, v)| (k.clone(), Model::Text(v.clone())))
            .collect();
        let first = |pairs: &[(String, Model)], same: &dyn Fn(&str) -> bool| {
            pairs.iter().find(|(k, _)| same(k)).map(|(_, v)| v.clone())
        };
        // qs: the key before the first `[` (or a leading `[key]`), an
        // array or object when brackets follow.
        let qs_key = |k: &str| {
            let before = k.split('[').next().unwrap_or(k);
            match k.strip_prefix('[').and_then(|rest| rest.split_once(']')) {
                Some((inner, _)) if before.is_empty() => inner.to_owned(),
                _ => before.to_owned(),
            }
        };
        let qs = |pairs: &[(String, Model)]| {
            let hits: Vec<&(String, Model)> =
                pairs.iter().filter(|(k, _)| qs_key(k) == field).collect();
            match hits.as_slice() {
                [] => None,
                [(k, v)] if k == field => Some(v.clone()),
                _ => Some(Model::Other),
            }
        };
        let php_post = php(&b, is_form);
        let php_request = php(
            &[text_q.clone(), if is_form { b.clone() } else { vec![] }].concat(),
            true,
        );
        let exact = |k: &str| k == field;
        let any_case = |k: &str| k.eq_ignore_ascii_case(field);
        vec![
            php_post,
            php_request,
            php(&text_q, true),
            first(&b, &exact),
            first(
                &[text_q.clone(), if is_form { b.clone() } else { vec![] }].concat(),
                &exact,
            ),
            qs(&b),
            qs(&text_q),
            first(&b, &any_case),
            first(&text_q, &any_case),
        ]
    }

    #[derive(Debug, Clone)]
    enum Body {
        Form(String),
        Json(Vec<(String, Model)>),
    }

    const SPELLINGS: [&str; 15] = [
        "new_password[",
        "[new_password]",
        "new_password%00%zz",
        "new_password",
        "new_password",
        "New_Password",
        "new.password",
        "new password",
        " new_password",
        "new[password",
        "new_password[]",
        "new_password[x]",
        "new_password%00x",
        "new%5Fpassword",
        "other",
    ];

    fn body_of(entries: &[(usize, usize)], json_body: bool) -> Body {
        let value = |v: usize| ["a", "b", "c%20d", "%zz"][v].to_owned();
        if json_body {
            Body::Json(
                entries
                    .iter()
                    .map(|(n, v)| {
                        let name = lenient(SPELLINGS[*n]);
                        let read = if *v == 3 {
                            Model::Other
                        } else {
                            Model::Text(lenient(&value(*v)))
                        };
                        (name, read)
                    })
                    .collect(),
            )
        } else {
            Body::Form(
                entries
                    .iter()
                    .map(|(n, v)| format!("{}={}", SPELLINGS[*n], value(*v)))
                    .collect::<Vec<_>>()
                    .join("&"),
            )
        }
    }

    fn json_text(members: &[(String, Model)]) -> String {
        let items: Vec<String> = members
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Model::Text(t) => serde_json::to_string(t).unwrap(),
                    Model::Other => "[1]".into(),
                };
                format!("{}:{v}", serde_json::to_string(k).unwrap())
            })
            .collect();
        format!("{{{}}}", items.join(","))
    }

    proptest::proptest! {
        /// Whatever the placement, spelling and repetition of a checked
        /// name, the edge's reading is one value every model origin reads
        /// too (or reads nothing), or the request is refused.
        #[test]
        fn a_checked_field_reads_one_way_or_is_refused(
            query in proptest::collection::vec((0..SPELLINGS.len(), 0..4usize), 0..3),
            body in proptest::collection::vec((0..SPELLINGS.len(), 0..4usize), 0..4),
            json_body in proptest::bool::ANY,
        ) {
            let query_text = match body_of(&query, false) { Body::Form(t) => t, Body::Json(_) => unreachable!() };
            let body = body_of(&body, json_body);
            let (content_type, text) = match &body {
                Body::Form(t) => (URLENCODED, t.clone()),
                Body::Json(m) => ("application/json", json_text(m)),
            };
            let url = if query_text.is_empty() { "/reset".to_owned() } else { format!("/reset?{query_text}") };
            let read = checked_fields(&request(&url, content_type, None), text.as_bytes(), &["new_password"]);
            if let Ok(values) = read {
                let edge = values[0].clone();
                for (i, model) in models(&query_text, &body, "new_password").into_iter().enumerate() {
                    match model {
                        None => {}
                        Some(Model::Text(t)) => proptest::prop_assert_eq!(Some(t), edge.clone(), "model {} on {:?} {:?}", i, url, text),
                        Some(Model::Other) => proptest::prop_assert!(false, "model {} reads a non-string on {:?} {:?}", i, url, text),
                    }
                }
            }
        }
    }
}
