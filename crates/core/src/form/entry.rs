//! What the form readers give: one entry per name as read, its value text
//! or doubtful.

/// One entry of a form, as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The name as it came (decoded where the format encodes names).
    pub(crate) name: String,
    /// The value.
    pub(crate) value: Read,
}

/// An entry's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Read {
    /// UTF-8 text.
    Text(String),
    /// Something an origin may read otherwise: a file, bytes that are not
    /// UTF-8 or an escape that is not one, a JSON value that is not a
    /// string, a part with its own encoding or a starred name.
    Doubtful,
}

/// Whether a charset is UTF-8.
pub(crate) fn is_utf8(charset: &str) -> bool {
    matches!(
        charset.trim().to_ascii_lowercase().as_str(),
        "utf-8" | "utf8"
    )
}
