//! Look-alike folding for the word filter, kept as data.
//!
//! The word filter compares *skeletons* (see `filter::skeleton`): text is decomposed with NFKD
//! (which already folds fullwidth letters `ｂａｄ`, mathematical letters `𝐛𝐚𝐝`/`𝖇𝖆𝖉`, circled
//! and parenthesised letters, ligatures, superscripts), combining marks are dropped
//! (`bàd` → `bad`), invisible characters are dropped, then the two tables below are applied:
//!
//! 1. [`LOOKALIKES`] — case-sensitive, before lowercasing: letters of other scripts (Cyrillic,
//!    Greek, Armenian) and Latin extensions (small capitals, dotless i, …) that render like a
//!    basic Latin letter. Upper- and lower-case forms are listed separately because they do
//!    not always look alike in the same way (Cyrillic `Н` looks like `H`, its lower case `н`
//!    like a small capital `ʜ`; Greek `Ν` looks like `N`, `ν` like `v`). NFKD does not fold
//!    any of these: they are different letters, not compatibility variants.
//! 2. [`LEETSPEAK`] — after lowercasing: digits and symbols used as letters, and letters that
//!    are commonly swapped for each other, folded into one representative (`1`, `l` and `i`
//!    all become `i`). Both the message and the filter words are folded the same way, so a
//!    filter word `hell` matches `he11`, `HELL`, `һеll` and `ｈｅｌｌ`.
//!
//! Regional-indicator symbols (🇦 … 🇿) are folded to `a` … `z` by range in code.
//! Extending the filter to more look-alikes means adding pairs here; each entry is
//! (character as written, basic Latin letter it imitates).

/// Characters that imitate a basic Latin letter, applied before lowercasing.
#[rustfmt::skip]
pub const LOOKALIKES: &[(char, char)] = &[
    // Cyrillic capitals
    ('А', 'a'), ('В', 'b'), ('Е', 'e'), ('З', '3'), ('К', 'k'), ('М', 'm'), ('Н', 'h'),
    ('О', 'o'), ('Р', 'p'), ('С', 'c'), ('Т', 't'), ('У', 'y'), ('Х', 'x'), ('Ь', 'b'),
    ('Ѕ', 's'), ('І', 'i'), ('Ј', 'j'), ('Ԛ', 'q'), ('Ԝ', 'w'), ('Һ', 'h'), ('Ӏ', 'i'),
    ('Ү', 'y'), ('Ԁ', 'd'), ('Ԍ', 'g'), ('Ѵ', 'v'), ('Ө', 'o'), ('Ҫ', 'c'),
    // Cyrillic small letters
    ('а', 'a'), ('в', 'b'), ('г', 'r'), ('е', 'e'), ('з', '3'), ('к', 'k'), ('м', 'm'),
    ('н', 'h'), ('о', 'o'), ('п', 'n'), ('р', 'p'), ('с', 'c'), ('т', 't'), ('у', 'y'),
    ('х', 'x'), ('ь', 'b'), ('ѕ', 's'), ('і', 'i'), ('ј', 'j'), ('ԛ', 'q'), ('ԝ', 'w'),
    ('һ', 'h'), ('ӏ', 'i'), ('ү', 'y'), ('ԁ', 'd'), ('ԍ', 'g'), ('ѵ', 'v'), ('ө', 'o'),
    ('ҫ', 'c'), ('ɡ', 'g'),
    // Greek capitals
    ('Α', 'a'), ('Β', 'b'), ('Ε', 'e'), ('Ζ', 'z'), ('Η', 'h'), ('Ι', 'i'), ('Κ', 'k'),
    ('Μ', 'm'), ('Ν', 'n'), ('Ο', 'o'), ('Ρ', 'p'), ('Τ', 't'), ('Υ', 'y'), ('Χ', 'x'),
    // Greek small letters
    ('α', 'a'), ('β', 'b'), ('γ', 'y'), ('ε', 'e'), ('η', 'n'), ('ι', 'i'), ('κ', 'k'),
    ('μ', 'u'), ('ν', 'v'), ('ο', 'o'), ('π', 'n'), ('ρ', 'p'), ('σ', 'o'), ('τ', 't'),
    ('υ', 'u'), ('χ', 'x'), ('ω', 'w'), ('ϲ', 'c'), ('ϳ', 'j'),
    // Armenian
    ('օ', 'o'), ('ս', 'u'), ('ո', 'n'), ('ց', 'g'), ('հ', 'h'), ('ք', 'p'), ('Տ', 's'),
    ('Օ', 'o'),
    // Latin extensions that NFKD leaves alone
    ('ı', 'i'), ('ɩ', 'i'), ('ɪ', 'i'), ('ʟ', 'l'), ('ɑ', 'a'), ('ɢ', 'g'), ('ʜ', 'h'),
    ('ɴ', 'n'), ('ʀ', 'r'), ('ʏ', 'y'), ('ᴀ', 'a'), ('ʙ', 'b'), ('ᴄ', 'c'), ('ᴅ', 'd'),
    ('ᴇ', 'e'), ('ꜰ', 'f'), ('ᴊ', 'j'), ('ᴋ', 'k'), ('ᴍ', 'm'), ('ᴏ', 'o'), ('ᴘ', 'p'),
    ('ꜱ', 's'), ('ᴛ', 't'), ('ᴜ', 'u'), ('ᴠ', 'v'), ('ᴡ', 'w'), ('ᴢ', 'z'), ('ø', 'o'),
    ('Ø', 'o'), ('đ', 'd'), ('Đ', 'd'), ('ħ', 'h'), ('Ħ', 'h'), ('ł', 'l'), ('Ł', 'l'),
    ('ŧ', 't'), ('Ŧ', 't'), ('ƀ', 'b'), ('ð', 'd'), ('Ð', 'd'), ('ƒ', 'f'), ('ɓ', 'b'),
    ('ɗ', 'd'), ('ʋ', 'u'), ('ɵ', 'o'), ('ȷ', 'j'),
];

/// Digits, symbols and easily swapped letters, applied after lowercasing.
pub const LEETSPEAK: &[(char, char)] = &[
    ('0', 'o'),
    ('1', 'i'),
    ('l', 'i'),
    ('3', 'e'),
    ('4', 'a'),
    ('5', 's'),
    ('7', 't'),
    ('8', 'b'),
    ('@', 'a'),
    ('$', 's'),
];

/// Characters that render as nothing and are used to split words invisibly.
#[rustfmt::skip]
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{E0000}'..='\u{E0FFF}')
}

/// The basic Latin letter a regional-indicator symbol stands for.
pub fn regional_indicator(c: char) -> Option<char> {
    let n = u32::from(c).checked_sub(0x1F1E6)?;
    (n < 26).then(|| char::from(b'a' + n as u8))
}

pub fn lookalike(c: char) -> Option<char> {
    LOOKALIKES
        .iter()
        .find(|(from, _)| *from == c)
        .map(|(_, to)| *to)
}

pub fn leet(c: char) -> Option<char> {
    LEETSPEAK
        .iter()
        .find(|(from, _)| *from == c)
        .map(|(_, to)| *to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_map_to_ascii_and_have_no_duplicates() {
        for table in [LOOKALIKES, LEETSPEAK] {
            let mut seen = std::collections::HashSet::new();
            for (from, to) in table {
                assert!(to.is_ascii_alphanumeric(), "{from} -> {to}");
                assert!(seen.insert(*from), "duplicate entry for {from}");
            }
        }
        assert_eq!(regional_indicator('🇦'), Some('a'));
        assert_eq!(regional_indicator('🇿'), Some('z'));
        assert_eq!(regional_indicator('a'), None);
    }
}
