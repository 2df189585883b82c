//! Session recovery passwords ("mnemonics"): the 13-word phrase that encodes a 16-byte
//! account seed (IDENTITY.md §§4–7).
//!
//! Encoding is byte-for-byte what the Session apps produce; decoding accepts every phrase any
//! current app accepts (prefix matching, low-32-bit overflow, prefix-only checksum compare) and
//! is more forgiving about formatting (case, whitespace, punctuation between words).

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// The English word list, exactly `mnemonic-english.txt` from the spec (1626 words, LF-separated).
const WORDLIST_TEXT: &str = include_str!("mnemonic-english.txt");

/// Number of words in the list (`N` in IDENTITY.md).
pub const WORD_COUNT: usize = 1626;
/// Letters of a word that identify it.
pub const PREFIX_LEN: usize = 3;
/// Words in a current recovery password (12 data words + 1 checksum word).
pub const PHRASE_WORDS: usize = 13;
/// Words in a Loki-Messenger-era phrase that current apps refuse.
pub const LEGACY_PHRASE_WORDS: usize = 25;
/// Bytes of an account seed.
pub const SEED_LEN: usize = 16;

const N: u64 = WORD_COUNT as u64;
const DATA_WORDS: usize = 12;

/// Why a recovery password could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MnemonicError {
    /// Not 13 words. `found == 12` almost always means the checksum word was left off.
    #[error("{}", wrong_count_message(*.found))]
    WrongWordCount { found: usize },
    /// A 25-word phrase from the Loki Messenger era (IDENTITY.md §7).
    #[error(
        "this is a legacy 25-word recovery phrase (Loki Messenger era); current Session apps \
         cannot restore it and neither can this client"
    )]
    LegacyPhrase,
    /// A Session ID (`05…`, 66 hex characters) was given instead of a recovery password.
    #[error(
        "this is a Session ID, not a recovery password; the recovery password is 13 words \
         (Settings → Recovery password in the Session app)"
    )]
    SessionIdGiven,
    /// A word that is shorter than 3 letters or whose first 3 letters match no list word.
    /// `position` is 1-based; `word` is the word as entered (after lower-casing).
    #[error("word {position} ({word:?}) is not a recovery-password word")]
    UnknownWord { position: usize, word: String },
    /// The 13th word does not match the checksum of the first 12.
    #[error(
        "the recovery password's checksum does not match: a word is wrong or two words are swapped"
    )]
    ChecksumMismatch,
}

fn wrong_count_message(found: usize) -> String {
    match found {
        0 => "no recovery password given: expected 13 words".to_owned(),
        12 => "only 12 words: the 13th (checksum) word is missing".to_owned(),
        n => format!("expected 13 words, found {n}"),
    }
}

/// The 1626-word English list. Words are lowercase ASCII, strictly sorted, and their 3-letter
/// prefixes are distinct (and therefore sorted too), so a prefix is found by binary search.
struct WordList {
    words: Vec<&'static str>,
}

impl WordList {
    fn load() -> Self {
        Self {
            words: WORDLIST_TEXT.lines().collect(),
        }
    }

    fn word(&self, index: u64) -> &'static str {
        // Indexes are always reduced mod N before they get here; the fallback is unreachable.
        usize::try_from(index)
            .ok()
            .and_then(|i| self.words.get(i))
            .copied()
            .unwrap_or("")
    }

    /// Index of the word with the same first 3 letters, if `word` has at least 3.
    fn index_of_prefix(&self, word: &str) -> Option<u64> {
        let prefix = word.get(..PREFIX_LEN)?;
        let i = self
            .words
            .binary_search_by(|w| w.get(..PREFIX_LEN).unwrap_or(w).cmp(prefix))
            .ok()?;
        u64::try_from(i).ok()
    }
}

/// Returns the word list (1626 lowercase words, in order).
pub fn wordlist() -> Vec<&'static str> {
    WordList::load().words
}

/// CRC-32 (zlib/IEEE) of the concatenated 3-letter prefixes, mod 12: the 0-based position of
/// the data word the 13th word repeats.
fn checksum_position<'a>(data_words: impl IntoIterator<Item = &'a str>) -> usize {
    let mut hasher = crc32fast::Hasher::new();
    for w in data_words {
        hasher.update(w.get(..PREFIX_LEN).unwrap_or(w).as_bytes());
    }
    // 12 fits in u32, and the remainder is < 12.
    (hasher.finalize() % DATA_WORDS as u32) as usize
}

/// Encodes a 16-byte account seed as its 13-word recovery password (IDENTITY.md §4): lowercase
/// words joined by single spaces, no trailing whitespace.
pub fn encode(seed: &[u8; SEED_LEN]) -> String {
    let list = WordList::load();
    let mut words: Vec<&'static str> = Vec::with_capacity(PHRASE_WORDS);
    for chunk in seed.chunks_exact(4) {
        let mut le = [0u8; 4];
        le.copy_from_slice(chunk);
        let x = u64::from(u32::from_le_bytes(le));
        let i1 = x % N;
        let i2 = (x / N + i1) % N;
        let i3 = (x / N / N + i2) % N;
        words.extend([list.word(i1), list.word(i2), list.word(i3)]);
    }
    let k = checksum_position(words.iter().copied());
    let check = words.get(k).copied().unwrap_or("");
    words.push(check);
    words.join(" ")
}

/// Splits user input into lowercase words (IDENTITY.md §6 step 1): ASCII letters are
/// lower-cased and every run of characters other than ASCII letters, digits and `_` is one
/// separator.
fn clean_words(input: &str) -> Vec<Zeroizing<String>> {
    input
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(|w| Zeroizing::new(w.to_ascii_lowercase()))
        .collect()
}

fn looks_like_session_id(word: &str) -> bool {
    word.len() == 66 && word.starts_with("05") && word.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Decodes a recovery password into the 16-byte account seed (IDENTITY.md §§5–6).
///
/// Accepts any capitalisation, any whitespace or punctuation between words, and words given by
/// their first three letters or longer (`organism` reads as `organs`, as in every app). A data
/// triple that overflows 32 bits keeps its low 32 bits, as the apps do.
pub fn decode(phrase: &str) -> Result<Zeroizing<[u8; SEED_LEN]>, MnemonicError> {
    let words = clean_words(phrase);
    match words.len() {
        PHRASE_WORDS => {}
        LEGACY_PHRASE_WORDS => return Err(MnemonicError::LegacyPhrase),
        1 if words.first().is_some_and(|w| looks_like_session_id(w)) => {
            return Err(MnemonicError::SessionIdGiven)
        }
        found => return Err(MnemonicError::WrongWordCount { found }),
    }

    let list = WordList::load();
    let mut indexes = Zeroizing::new([0u64; PHRASE_WORDS]);
    for (pos, (slot, word)) in indexes.iter_mut().zip(&words).enumerate() {
        *slot = list
            .index_of_prefix(word)
            .ok_or_else(|| MnemonicError::UnknownWord {
                position: pos + 1,
                word: word.to_string(),
            })?;
    }

    let data = indexes.get(..DATA_WORDS).unwrap_or(&[]);
    let mut seed = Zeroizing::new([0u8; SEED_LEN]);
    for (out, triple) in seed.chunks_exact_mut(4).zip(data.chunks_exact(3)) {
        let &[i1, i2, i3] = triple else {
            continue;
        };
        let x = i1 + N * ((i2 + N - i1) % N) + N * N * ((i3 + N - i2) % N);
        // Apps keep only the low 32 bits (IDENTITY.md §5.1, "Overflow").
        let mut low = (x & 0xffff_ffff) as u32;
        out.copy_from_slice(&low.to_le_bytes());
        low.zeroize();
    }

    let k = checksum_position(data.iter().map(|&i| list.word(i)));
    let expected = data.get(k).map(|&i| list.word(i));
    let given = indexes.get(DATA_WORDS).map(|&i| list.word(i));
    if expected.is_none() || expected != given {
        return Err(MnemonicError::ChecksumMismatch);
    }
    Ok(seed)
}

/// A recovery password held in memory: zeroized on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, zeroize::ZeroizeOnDrop)]
pub struct RecoveryPassword(String);

impl RecoveryPassword {
    /// The phrase for a 16-byte seed.
    pub fn from_seed(seed: &[u8; SEED_LEN]) -> Self {
        Self(encode(seed))
    }

    /// The 13 words joined by single spaces.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RecoveryPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wordlist_shape() {
        let list = WordList::load();
        assert_eq!(list.words.len(), WORD_COUNT);
        assert_eq!(list.word(0), "abbey");
        assert_eq!(list.word(1625), "zoom");
        assert!(list
            .words
            .windows(2)
            .all(|w| w[0].get(..3).unwrap() < w[1].get(..3).unwrap()));
        for (i, w) in list.words.iter().enumerate() {
            assert_eq!(list.index_of_prefix(w), Some(i as u64));
        }
    }

    #[test]
    fn short_and_unknown_prefixes() {
        let list = WordList::load();
        assert_eq!(list.index_of_prefix("ab"), None);
        assert_eq!(list.index_of_prefix(""), None);
        assert_eq!(list.index_of_prefix("qwerty"), None);
        assert_eq!(list.index_of_prefix("zoo"), Some(1625));
    }

    #[test]
    fn debug_is_redacted() {
        let p = RecoveryPassword::from_seed(&[0u8; 16]);
        assert_eq!(format!("{p:?}"), "RecoveryPassword(<redacted>)");
        assert!(p.as_str().starts_with("abbey abbey"));
    }
}
