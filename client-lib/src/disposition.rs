//! `Content-Disposition` filenames (PROTOCOL.md §8.5): the header a client sends with an
//! upload and a server sends with a download, and the filename read back from one. The single
//! implementation of both directions: the server uses it for uploads and downloads, the
//! client for the same headers the other way round.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// RFC 5987 `attr-char`s stay as they are; everything else is percent-encoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename*=UTF-8''<percent-encoded name>`, or `attachment` without a name (or
/// with an empty one).
pub fn content_disposition(filename: Option<&str>) -> String {
    match filename.filter(|n| !n.is_empty()) {
        Some(name) => format!(
            "attachment; filename*=UTF-8''{}",
            utf8_percent_encode(name, ATTR_CHAR)
        ),
        None => "attachment".into(),
    }
}

/// The filename a `Content-Disposition` value carries: `filename*=charset''…` (RFC 5987,
/// UTF-8 or ISO-8859-1; preferred wherever it stands) or `filename="…"` / `filename=…`
/// (quoted strings unescaped). Returned as sent: the server applies its own storage rules.
pub fn filename_from_content_disposition(value: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for (key, val) in disposition_params(value) {
        match key.to_ascii_lowercase().as_str() {
            "filename*" => extended = extended.or_else(|| decode_ext_value(&val)),
            "filename" => plain = plain.or(Some(val)),
            _ => {}
        }
    }
    extended.or(plain)
}

/// `key=value` parameters after the disposition type; quoted values are unescaped.
fn disposition_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    // Skip the disposition type.
    for c in chars.by_ref() {
        if c == ';' {
            break;
        }
    }
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ';') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ';' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() && chars.peek().is_none() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => val.extend(chars.next()),
                        c => val.push(c),
                    }
                }
                // Anything after the closing quote up to the next ';' is ignored.
                for c in chars.by_ref() {
                    if c == ';' {
                        break;
                    }
                }
            } else {
                for c in chars.by_ref() {
                    if c == ';' {
                        break;
                    }
                    val.push(c);
                }
                val = val.trim_end().to_owned();
            }
        }
        out.push((key.trim().to_owned(), val));
        if chars.peek().is_none() {
            break;
        }
    }
    out
}

/// RFC 5987 `charset'language'percent-encoded`: UTF-8 (invalid bytes replaced) or ISO-8859-1.
fn decode_ext_value(v: &str) -> Option<String> {
    let mut parts = v.splitn(3, '\'');
    let (charset, _lang, encoded) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes: Vec<u8> = percent_decode_str(encoded).collect();
    match charset.to_ascii_lowercase().as_str() {
        "utf-8" => Some(String::from_utf8_lossy(&bytes).into_owned()),
        "iso-8859-1" => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms() {
        let d = content_disposition(Some("my 🎂 (1).txt"));
        assert_eq!(
            d,
            "attachment; filename*=UTF-8''my%20%F0%9F%8E%82%20%281%29.txt"
        );
        assert_eq!(content_disposition(None), "attachment");
        assert_eq!(content_disposition(Some("")), "attachment");
    }

    #[test]
    fn filenames_read_back() {
        let f = filename_from_content_disposition;
        assert_eq!(
            f(&content_disposition(Some("my 🎂 (1).txt"))).as_deref(),
            Some("my 🎂 (1).txt")
        );
        assert_eq!(
            f("attachment; filename=\"a \\\"b\\\"; c.txt\"").as_deref(),
            Some("a \"b\"; c.txt")
        );
        assert_eq!(
            f("attachment; filename=plain.bin").as_deref(),
            Some("plain.bin")
        );
        assert_eq!(
            f("attachment; filename=\"fallback.txt\"; filename*=utf-8''real%2Fname").as_deref(),
            Some("real/name")
        );
        assert_eq!(
            f("attachment; filename*=iso-8859-1''caf%E9").as_deref(),
            Some("café")
        );
        assert_eq!(f("inline; FILENAME=x").as_deref(), Some("x"));
        assert_eq!(f("attachment; filename=\"\"").as_deref(), Some(""));
        assert_eq!(f("attachment"), None);
    }
}
