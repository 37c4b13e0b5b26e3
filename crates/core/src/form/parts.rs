//! The text fields of a multipart/form-data body, read strictly: busboy
//! (Express's multer), Werkzeug (Flask) and PHP split parts and read their
//! headers differently (a delimiter after a bare LF, a folded header line,
//! an escaped or starred name, a second boundary parameter), so a body
//! that any of them could read another way is refused.

use super::{Entry, Read, is_utf8, params};
use crate::multipart;
use crate::paths::percent_decode;

/// The body reads more than one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ambiguous;

/// The characters RFC 2046 allows in a boundary.
fn is_bchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c)
}

/// The one boundary of `content_type`: a second `boundary` parameter, or
/// one with characters outside RFC 2046's, is refused.
fn boundary(content_type: &str) -> Result<String, Ambiguous> {
    let given: Vec<String> = params(content_type)
        .into_iter()
        .filter(|(k, _)| k == "boundary")
        .map(|(_, v)| v)
        .collect();
    match given.as_slice() {
        [one] if one.chars().all(is_bchar) && !one.ends_with(' ') => {
            multipart::boundary(content_type).ok_or(Ambiguous)
        }
        _ => Err(Ambiguous),
    }
}

/// The names and the doubt of one part, from its header lines.
struct Header {
    names: Vec<Entry>,
    doubtful: bool,
}

/// Reads a part's header lines: each `Name: value` on its own CRLF line
/// (no bare CR or LF, no folded line), one `Content-Disposition` of type
/// `form-data` with each parameter once. Every spelling of the name an
/// origin may read is given: as sent, percent-decoded, unescaped, starred.
fn header(lines: &str) -> Result<Header, Ambiguous> {
    let mut names = Vec::new();
    let mut doubtful = false;
    let mut dispositions = 0;
    for line in lines.split("\r\n") {
        let (name, value) = line.split_once(':').ok_or(Ambiguous)?;
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            || line.contains(['\r', '\n'])
        {
            return Err(Ambiguous);
        }
        match name.to_ascii_lowercase().as_str() {
            "content-disposition" => {
                dispositions += 1;
                let (names_here, file) = disposition(value)?;
                names.extend(names_here);
                doubtful |= file;
            }
            "content-type" => {
                doubtful |= params(line)
                    .iter()
                    .any(|(k, v)| k == "charset" && !is_utf8(v));
            }
            "content-transfer-encoding" => doubtful = true,
            _ => {}
        }
    }
    if dispositions > 1 {
        return Err(Ambiguous);
    }
    Ok(Header { names, doubtful })
}

/// The names a `Content-Disposition` value gives, and whether it names a
/// file or a starred name (the part's value is then doubtful).
fn disposition(value: &str) -> Result<(Vec<Entry>, bool), Ambiguous> {
    let kind = multipart::split_params(value)[0].trim();
    if !kind.eq_ignore_ascii_case("form-data") {
        return Err(Ambiguous);
    }
    let given = params(&format!("x:{value}"));
    let mut keys: Vec<&str> = given.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(Ambiguous);
    }
    let mut names = Vec::new();
    let mut doubtful = false;
    for (key, value) in &given {
        match key.as_str() {
            "name" => {
                names.push(spelling(value, true));
                for other in [percent_decode(value), value.replace('\\', "")] {
                    if other != *value {
                        names.push(spelling(&other, false));
                    }
                }
            }
            "name*" => {
                doubtful = true;
                let encoded = value.rsplit('\'').next().unwrap_or(value);
                names.push(spelling(&percent_decode(encoded), false));
            }
            "filename" | "filename*" => doubtful = true,
            _ => {}
        }
    }
    Ok((names, doubtful))
}

/// A name as read; `plain` names carry the part's value, the others are
/// doubtful spellings (any checked name among them refuses the form).
fn spelling(name: &str, plain: bool) -> Entry {
    Entry {
        name: name.to_owned(),
        value: if plain {
            Read::Text(String::new())
        } else {
            Read::Doubtful
        },
    }
}

/// The fields of a multipart body, or [`Ambiguous`].
pub(crate) fn multipart(content_type: &str, body: &[u8]) -> Result<Vec<Entry>, Ambiguous> {
    let boundary = boundary(content_type)?;
    let parts = multipart::parts(body, boundary.as_bytes()).map_err(|_| Ambiguous)?;
    // Every `--boundary` in the body must be one of the delimiters read:
    // Werkzeug and PHP also split after a bare LF or CR, and skip a preamble.
    let dashed = format!("--{boundary}");
    let occurrences = body
        .windows(dashed.len())
        .filter(|w| *w == dashed.as_bytes())
        .count();
    if occurrences != parts.len() + 1 {
        return Err(Ambiguous);
    }
    let mut entries = Vec::new();
    for part in parts {
        let header = header(part.headers)?;
        let value = match std::str::from_utf8(part.data) {
            Ok(text) if !header.doubtful => Read::Text(text.to_owned()),
            _ => Read::Doubtful,
        };
        for mut entry in header.names {
            if entry.value != Read::Doubtful {
                entry.value = value.clone();
            }
            entries.push(entry);
        }
    }
    Ok(entries)
}
