//! The multipart/form-data reader the upload rules and the form reading
//! share: parts split on line-anchored delimiters (RFC 2046, RFC 7578),
//! each with its header lines and its data, and header parameters split on
//! `;` outside quotes. Small and hand-written: the maintained `multer`
//! crate is async and pulls in `encoding_rs`, whose tables would cost the
//! Worker bundle more than this whole module.

/// The body is not a multipart body this reader can split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The `boundary` parameter of a `multipart/*` content type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
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

/// One part of a multipart body: its header lines and where its data is.
pub(crate) struct Part<'a> {
    /// The header lines, as sent.
    pub(crate) headers: &'a str,
    /// The part's data.
    pub(crate) data: &'a [u8],
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

/// Whether a delimiter found at `at` is a real one: followed by `--`
/// (the close), or by optional white space and CRLF.
fn delimiter_ends_line(body: &[u8], at: usize) -> bool {
    let rest = &body[at..];
    if rest.starts_with(b"--") {
        return true;
    }
    let trimmed = rest
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .map_or(rest, |i| &rest[i..]);
    trimmed.starts_with(b"\r\n")
}

pub(crate) fn parts<'a>(body: &'a [u8], boundary: &[u8]) -> Result<Vec<Part<'a>>, Malformed> {
    if boundary.is_empty() || boundary.len() > 70 {
        return Err(Malformed);
    }
    // Delimiters count only at the start of a line (RFC 2046).
    let delimiter = [b"\r\n--".as_slice(), boundary].concat();
    let first = if body.starts_with(&delimiter[2..]) {
        delimiter.len() - 2
    } else {
        find(body, &delimiter, 0).ok_or(Malformed)? + delimiter.len()
    };
    let mut at = first;
    let mut parts = Vec::new();
    loop {
        if !delimiter_ends_line(body, at) {
            return Err(Malformed);
        }
        if body[at..].starts_with(b"--") {
            return Ok(parts); // closing delimiter
        }
        let headers_start = find(body, b"\r\n", at).ok_or(Malformed)? + 2;
        let headers_end =
            find(body, b"\r\n\r\n", headers_start.saturating_sub(2)).ok_or(Malformed)?;
        let headers = std::str::from_utf8(&body[headers_start.min(headers_end)..headers_end])
            .map_err(|_| Malformed)?;
        let data_start = headers_end + 4;
        let mut search = data_start;
        let data_end = loop {
            let candidate = find(body, &delimiter, search).ok_or(Malformed)?;
            if delimiter_ends_line(body, candidate + delimiter.len()) {
                break candidate;
            }
            search = candidate + 1;
        };
        parts.push(Part {
            headers,
            data: &body[data_start..data_end],
        });
        at = data_end + delimiter.len();
    }
}

/// Splits header parameters on `;` outside double quotes.
pub(crate) fn split_params(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&line[start..]);
    out
}
