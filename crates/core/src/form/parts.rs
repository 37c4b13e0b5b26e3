//! The text fields of a multipart/form-data body, read strictly: busboy
//! (Express's multer), Werkzeug (Flask) and PHP split parts and read their
//! headers differently (a delimiter after a bare LF, a folded header line,
//! an escaped, quoted or starred name, a second boundary parameter, a
//! boundary with characters one of them ends it at), so a body that any of
//! them could read another way is refused.

use super::entry::{Entry, Read, is_utf8};
use super::params::{self, Unclear};
use crate::multipart;
use crate::paths::percent_decode;

/// The body reads more than one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ambiguous;

impl From<Unclear> for Ambiguous {
    fn from(_: Unclear) -> Self {
        Self
    }
}

/// The one boundary of a content type (parsed strictly, each parameter
/// once): letters, digits, `-`, `_` and `.` only (Werkzeug and PHP end a
/// boundary at other characters), and `boundary` nowhere else in the line
/// (PHP looks for it with `strstr`).
fn boundary(content_type: &str, type_params: &[(String, String)]) -> Result<String, Ambiguous> {
    let given = params::get(type_params, "boundary").ok_or(Ambiguous)?;
    let mentions = content_type
        .to_ascii_lowercase()
        .matches("boundary")
        .count();
    if mentions != 1
        || given.is_empty()
        || given.len() > 70
        || !given
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(Ambiguous);
    }
    Ok(given.to_owned())
}

/// The names and the doubt of one part, from its header lines.
struct Header {
    names: Vec<Entry>,
    doubtful: bool,
}

/// Reads a part's header lines: each `Name: value` on its own CRLF line
/// (no bare CR or LF, no folded line), one `Content-Disposition` of type
/// `form-data`, every parameter strictly (see `params`). Every spelling of
/// the name an origin may read is given: as sent and percent-decoded.
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
                let (_, given) = params::strict(value)?;
                doubtful |= params::get(&given, "charset").is_some_and(|c| !is_utf8(c));
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
/// file (the part's value is then doubtful).
fn disposition(value: &str) -> Result<(Vec<Entry>, bool), Ambiguous> {
    let (kind, given) = params::strict(value)?;
    if kind != "form-data" {
        return Err(Ambiguous);
    }
    let mut names = Vec::new();
    if let Some(name) = params::get(&given, "name") {
        names.push(spelling(name, true));
        let decoded = percent_decode(name);
        if decoded != name {
            names.push(spelling(&decoded, false));
        }
    }
    Ok((names, params::get(&given, "filename").is_some()))
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

/// The body with the data of the plain-named part `name` replaced by
/// `value` (the body must have passed [`multipart`] and hold that part once).
pub(crate) fn replace(
    content_type: &str,
    type_params: &[(String, String)],
    body: &[u8],
    name: &str,
    value: &str,
) -> Result<Vec<u8>, Ambiguous> {
    let boundary = boundary(content_type, type_params)?;
    let parts = multipart::parts(body, boundary.as_bytes()).map_err(|_| Ambiguous)?;
    let base = body.as_ptr() as usize;
    for part in parts {
        let header = header(part.headers)?;
        if header.doubtful
            || !header
                .names
                .iter()
                .any(|e| e.name == name && e.value != Read::Doubtful)
        {
            continue;
        }
        // `data` is a slice of `body`: where it starts and ends there.
        let start = part.data.as_ptr() as usize - base;
        let end = start + part.data.len();
        let mut out = Vec::with_capacity(body.len() + value.len());
        out.extend_from_slice(&body[..start]);
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(&body[end..]);
        return Ok(out);
    }
    Err(Ambiguous)
}

/// The fields of a multipart body, or [`Ambiguous`].
pub(crate) fn multipart(
    content_type: &str,
    type_params: &[(String, String)],
    body: &[u8],
) -> Result<Vec<Entry>, Ambiguous> {
    let boundary = boundary(content_type, type_params)?;
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
