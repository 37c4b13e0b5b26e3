//! Header values with parameters (`Content-Type`, a part's
//! `Content-Disposition`), read strictly: `type; key=token; key="text"`.
//! Parsers disagree on everything else (a backslash inside quotes is an
//! escape to busboy, Werkzeug and PHP; PHP strips single quotes and finds
//! `boundary` anywhere in the line; RFC 2231 continuations and starred
//! keys; a parameter given twice), so anything else reads as [`Unclear`].

/// The value reads more than one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unclear;

/// RFC 9110 token characters, without the single quote (PHP strips it)
/// and the star (RFC 2231 keys).
fn is_token(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&+-.^_`|~".contains(c)
}

/// A header value's type (lowercased) and its parameters (keys lowercased,
/// each once, quotes removed), or [`Unclear`].
pub(crate) fn strict(value: &str) -> Result<(String, Vec<(String, String)>), Unclear> {
    let (kind, mut rest) = value.split_once(';').unwrap_or((value, ""));
    let kind = kind.trim();
    if kind.is_empty() || !kind.chars().all(|c| is_token(c) || c == '/') {
        return Err(Unclear);
    }
    let mut params: Vec<(String, String)> = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            break;
        }
        let (key, after) = rest.split_once('=').ok_or(Unclear)?;
        let key = key.trim_end_matches([' ', '\t']);
        if key.is_empty() || !key.chars().all(is_token) {
            return Err(Unclear);
        }
        let (text, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find(['"', '\\']).ok_or(Unclear)?;
                if quoted.as_bytes()[end] == b'\\' {
                    return Err(Unclear);
                }
                (&quoted[..end], &quoted[end + 1..])
            }
            None => {
                let end = after.find(|c: char| !is_token(c)).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        let key = key.to_ascii_lowercase();
        if params.iter().any(|(k, _)| *k == key) {
            return Err(Unclear);
        }
        params.push((key, text.to_owned()));
        let after = after.trim_start_matches([' ', '\t']);
        rest = match after.strip_prefix(';') {
            Some(next) => next,
            None if after.is_empty() => after,
            None => return Err(Unclear),
        };
    }
    Ok((kind.to_ascii_lowercase(), params))
}

/// The value of parameter `key` in `params`.
pub(crate) fn get<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_read() {
        let (kind, params) = strict("form-data; name=\"user name\"; filename=a.txt").unwrap();
        assert_eq!(kind, "form-data");
        assert_eq!(
            params,
            vec![
                ("name".to_owned(), "user name".to_owned()),
                ("filename".to_owned(), "a.txt".to_owned())
            ]
        );
        assert!(strict("Application/JSON;").is_ok());
        assert!(strict("multipart/form-data; boundary=----WebKitFormBoundaryx7").is_ok());
    }

    #[test]
    fn every_other_spelling_is_unclear() {
        for value in [
            "form-data; x=\"a\\\"; name=username; b=\\\"\"",
            "form-data; name=\"username\"x",
            "form-data; name=username x",
            "form-data; name='username'",
            "form-data; name*0=\"user\"; name*1=\"name\"",
            "form-data; name*=UTF-8''username",
            "text/plain; charset*=''iso-8859-1",
            "application/json; charset=utf-8; charset=utf-7",
            "form-data; name=\"unterminated",
            "form-data; =x",
            "form-data; name",
            "",
        ] {
            assert_eq!(strict(value), Err(Unclear), "{value}");
        }
    }
}
