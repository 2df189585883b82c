//! Per-room anti-abuse settings: the word filter and alphabet filter of PROTOCOL.md §12.3,
//! with look-alike folding, and new-user probation.
//!
//! Settings live as JSON in `rooms.filters` (NULL = everything off), e.g.
//! `{"words": ["spam", "scam*"], "alphabets": ["cyrillic"], "mode": "reject",
//! "filter_mods": false, "probation_secs": 600}`. The server reads them on every post, so a
//! change made with `sogs room filter` applies at once.
//!
//! The filters look at the decoded message (`sogs_client::message`: padding stripped, the
//! `Content` protobuf decoded): the word filter checks the text body and the display name,
//! the alphabet filter checks the text body.

use super::confusables::{is_invisible, leet, lookalike, regional_indicator};
use super::perms::Permissions;
use crate::db::rooms::RoomRow;
use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// What happens to a post that a filter catches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterMode {
    /// 429 `filtration rejected message (…)`.
    Reject,
    /// Stored with `filtered = true`, never shown to anyone (pysogs' default).
    #[default]
    Silent,
}

impl FilterMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reject => "reject",
            Self::Silent => "silent",
        }
    }
}

/// A room's anti-abuse settings (the JSON in `rooms.filters`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoomFilters {
    /// Word filter entries. An entry matches a whole word (or, with spaces, a run of words);
    /// a leading or trailing `*` also matches words that end or start with it (`scam*`).
    pub words: Vec<String>,
    /// Names from [`ALPHABETS`]: posts containing any letter of these scripts are caught.
    pub alphabets: Vec<String>,
    pub mode: FilterMode,
    /// Also filter moderators' and admins' posts (default: they are exempt).
    pub filter_mods: bool,
    /// New-user probation: for this many seconds after a user's first post in the room,
    /// no uploads and no links. `None`/0 = off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probation_secs: Option<u64>,
}

impl RoomFilters {
    /// The room's settings; malformed JSON counts as "nothing configured" (and is logged).
    pub fn from_room(room: &RoomRow) -> Self {
        match room.filters.as_deref() {
            None | Some("") => Self::default(),
            Some(json) => serde_json::from_str(json).unwrap_or_else(|e| {
                tracing::warn!(room = %room.token, error = %e, "ignoring malformed room filter settings");
                Self::default()
            }),
        }
    }

    /// The JSON to store; `None` when everything is off.
    pub fn to_json(&self) -> Option<String> {
        (*self != Self::default())
            .then(|| serde_json::to_string(self).ok())
            .flatten()
    }

    pub fn probation(&self) -> Option<u64> {
        self.probation_secs.filter(|s| *s > 0)
    }
}

/// Which filter caught a post; the text is what the 429 body names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterKind {
    Profanity,
    Alphabet,
}

impl FilterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Profanity => "profanity",
            Self::Alphabet => "alphabet",
        }
    }
}

/// The parts of a post the filters look at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostText {
    pub body: String,
    pub display_name: Option<String>,
    /// The post carries a link preview or a community invitation.
    pub has_link_object: bool,
}

impl PostText {
    /// Decodes posted `data` (padded `Content` protobuf) with the client library. `None` when
    /// it is not a Session message (nothing for the filters to read).
    pub fn decode(data: &[u8]) -> Option<Self> {
        use sogs_client::message::{strip_padding, DecodedMessage};
        let msg = DecodedMessage::from_content_bytes(strip_padding(data)).ok()?;
        Some(Self {
            body: msg.text.unwrap_or_default(),
            display_name: msg.display_name,
            has_link_object: !msg.previews.is_empty() || msg.invitation.is_some(),
        })
    }
}

/// Scripts the alphabet filter knows, as inclusive code point ranges.
pub const ALPHABETS: &[(&str, &[(u32, u32)])] = &[
    (
        "arabic",
        &[
            (0x0600, 0x06FF),
            (0x0750, 0x077F),
            (0x08A0, 0x08FF),
            (0xFB50, 0xFDFF),
            (0xFE70, 0xFEFF),
        ],
    ),
    // pysogs lists Persian separately; it is written in the Arabic script.
    (
        "persian",
        &[(0x0600, 0x06FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)],
    ),
    (
        "cyrillic",
        &[
            (0x0400, 0x052F),
            (0x1C80, 0x1C8F),
            (0x2DE0, 0x2DFF),
            (0xA640, 0xA69F),
        ],
    ),
    ("greek", &[(0x0370, 0x03FF), (0x1F00, 0x1FFF)]),
    ("hebrew", &[(0x0590, 0x05FF), (0xFB1D, 0xFB4F)]),
    ("armenian", &[(0x0530, 0x058F)]),
    ("georgian", &[(0x10A0, 0x10FF), (0x2D00, 0x2D2F)]),
    ("devanagari", &[(0x0900, 0x097F)]),
    ("thai", &[(0x0E00, 0x0E7F)]),
    (
        "cjk",
        &[
            (0x3040, 0x30FF),
            (0x3400, 0x4DBF),
            (0x4E00, 0x9FFF),
            (0xF900, 0xFAFF),
            (0x20000, 0x2FA1F),
        ],
    ),
    (
        "hangul",
        &[(0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF)],
    ),
];

pub fn alphabet_names() -> Vec<&'static str> {
    ALPHABETS.iter().map(|(n, _)| *n).collect()
}

fn alphabet_ranges(name: &str) -> Option<&'static [(u32, u32)]> {
    ALPHABETS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, r)| *r)
}

/// The folded form two texts are compared in: NFKD, without combining marks and invisible
/// characters, look-alikes and leetspeak folded to basic Latin, lower case
/// (see `confusables.rs`).
pub fn skeleton(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfkd() {
        if is_combining_mark(c) || is_invisible(c) {
            continue;
        }
        let c = regional_indicator(c).or_else(|| lookalike(c)).unwrap_or(c);
        for lc in c.to_lowercase() {
            out.push(leet(lc).unwrap_or(lc));
        }
    }
    out
}

/// Words of a skeleton: runs of letters and digits.
fn words(skel: &str) -> Vec<&str> {
    skel.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

/// One word filter entry, folded.
#[derive(Debug)]
struct Pattern {
    words: Vec<String>,
    /// `*` before: the first word may end with the pattern's first word.
    any_start: bool,
    /// `*` after: the last word may start with the pattern's last word.
    any_end: bool,
}

impl Pattern {
    fn parse(entry: &str) -> Option<Self> {
        let entry = entry.trim();
        let any_start = entry.starts_with('*');
        let any_end = entry.ends_with('*');
        let skel = skeleton(entry.trim_matches('*'));
        let words: Vec<String> = words(&skel).into_iter().map(str::to_owned).collect();
        (!words.is_empty()).then_some(Self {
            words,
            any_start,
            any_end,
        })
    }

    fn word_matches(&self, i: usize, word: &str) -> bool {
        let Some(p) = self.words.get(i) else {
            return false;
        };
        let first = i == 0;
        let last = i + 1 == self.words.len();
        match (first && self.any_start, last && self.any_end) {
            (false, false) => word == p,
            (false, true) => word.starts_with(p.as_str()),
            (true, false) => word.ends_with(p.as_str()),
            (true, true) => word.contains(p.as_str()),
        }
    }

    /// Whether the pattern occurs in the words of a text. Runs of single characters
    /// (`b a d`, `b.a.d`) are also tried joined together.
    fn found_in(&self, text_words: &[&str]) -> bool {
        let n = self.words.len();
        let phrase_hit = text_words.windows(n).any(|w| {
            w.iter()
                .enumerate()
                .all(|(i, word)| self.word_matches(i, word))
        });
        if phrase_hit {
            return true;
        }
        if n != 1 {
            return false;
        }
        let mut run = String::new();
        let mut run_len = 0;
        for w in text_words.iter().chain(std::iter::once(&"")) {
            if w.chars().count() == 1 {
                run.push_str(w);
                run_len += 1;
                continue;
            }
            if run_len > 1 && self.word_matches(0, &run) {
                return true;
            }
            run.clear();
            run_len = 0;
        }
        false
    }
}

/// Whether any word filter entry occurs in `text`.
pub fn has_filtered_word(entries: &[String], text: &str) -> bool {
    let skel = skeleton(text);
    let text_words = words(&skel);
    entries
        .iter()
        .filter_map(|e| Pattern::parse(e))
        .any(|p| p.found_in(&text_words))
}

/// Whether `text` contains a letter of any of the named scripts.
pub fn has_filtered_alphabet(alphabets: &[String], text: &str) -> bool {
    let ranges: Vec<(u32, u32)> = alphabets
        .iter()
        .filter_map(|a| alphabet_ranges(a))
        .flatten()
        .copied()
        .collect();
    text.chars().any(|c| {
        let c = u32::from(c);
        ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
    })
}

/// Runs the room's content filters on a post; `None` = nothing caught.
pub fn check(filters: &RoomFilters, post: &PostText) -> Option<FilterKind> {
    if !filters.alphabets.is_empty() && has_filtered_alphabet(&filters.alphabets, &post.body) {
        return Some(FilterKind::Alphabet);
    }
    if !filters.words.is_empty() {
        let name = post.display_name.as_deref().unwrap_or("");
        if has_filtered_word(&filters.words, &post.body) || has_filtered_word(&filters.words, name)
        {
            return Some(FilterKind::Profanity);
        }
    }
    None
}

/// Whether the filters apply to a caller with these permissions.
pub fn applies_to(filters: &RoomFilters, perms: &Permissions) -> bool {
    filters.filter_mods || !perms.moderator
}

/// Top-level domains the link detector recognises in bare `name.tld` words (anything with a
/// scheme `x://` or starting with `www.` counts regardless).
const TLDS: &[&str] = &[
    "com", "net", "org", "io", "co", "me", "ru", "xyz", "info", "biz", "app", "dev", "gg", "ly",
    "to", "tk", "ml", "ga", "cf", "gq", "top", "site", "online", "link", "click", "live", "shop",
    "store", "tv", "cc", "us", "uk", "de", "fr", "in", "cn", "eu", "ai", "so", "su", "pw", "ws",
    "la", "sh", "im", "fm", "gl", "be", "nl", "ch", "at", "ca", "au", "br", "jp", "kr", "es", "it",
    "pl", "se", "no", "fi", "dk", "cz", "onion", "loki", "xxx", "vip", "win", "bid", "club", "fun",
    "icu", "cyou", "buzz", "today", "gov", "edu", "ir", "ua",
];

fn looks_like_domain(word: &str) -> bool {
    let host = word.split(['/', ':', '?', '#']).next().unwrap_or("");
    let host = host.trim_end_matches('.');
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let valid_label = |l: &str| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-');
    labels.iter().all(|l| valid_label(l)) && labels.last().is_some_and(|tld| TLDS.contains(tld))
}

/// Whether a post contains a link: a URL scheme, `www.`, a `name.tld` word, a link preview
/// or a community invitation. Checked on the NFKC, lower-cased text (so fullwidth
/// `ｈｔｔｐｓ：／／` counts).
pub fn contains_link(post: &PostText) -> bool {
    if post.has_link_object {
        return true;
    }
    let norm: String = post
        .body
        .nfkc()
        .filter(|c| !is_invisible(*c))
        .flat_map(char::to_lowercase)
        .collect();
    if norm.contains("://") || norm.contains("www.") {
        return true;
    }
    norm.split(|c: char| c.is_whitespace() || "<>()[]{}\"'`,;!?|*".contains(c))
        .map(|w| w.trim_end_matches(['.', ':']))
        .any(looks_like_domain)
}

/// Whether a user is in their probation period in a room: probation is on, the user is not a
/// moderator, and less than `probation_secs` passed since their first post there (a user who
/// never posted is at the very start of it). `first_post` comes from `Db::first_post_at`.
pub fn under_probation(
    filters: &RoomFilters,
    perms: &Permissions,
    first_post: Option<f64>,
    now: f64,
) -> bool {
    let Some(secs) = filters.probation() else {
        return false;
    };
    !perms.moderator && now < first_post.unwrap_or(now) + secs as f64
}

/// Text of the 403 for a link posted during probation.
pub const PROBATION_LINK: &str = "New members of this room cannot post links yet; try again later";
/// Text of the 403 for an upload during probation.
pub const PROBATION_UPLOAD: &str =
    "New members of this room cannot upload files yet; try again later";

/// For the upload route: whether probation forbids this upload (answer 403
/// [`PROBATION_UPLOAD`]). `first_post` = `Db::first_post_at(room.id, user.id)`.
pub fn probation_blocks_upload(
    room: &RoomRow,
    perms: &Permissions,
    first_post: Option<f64>,
    now: f64,
) -> bool {
    under_probation(&RoomFilters::from_room(room), perms, first_post, now)
}

/// For posts and edits: whether probation forbids this content (it contains a link).
pub fn probation_blocks_post(
    filters: &RoomFilters,
    perms: &Permissions,
    first_post: Option<f64>,
    now: f64,
    post: &PostText,
) -> bool {
    under_probation(filters, perms, first_post, now) && contains_link(post)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn skeleton_folds_lookalikes() {
        assert_eq!(skeleton("ВАD"), "bad");
        assert_eq!(skeleton("ｂａｄ"), "bad");
        assert_eq!(skeleton("𝐛𝐚𝐝"), "bad");
        assert_eq!(skeleton("bàd"), "bad");
        assert_eq!(skeleton("b\u{200B}ad"), "bad");
        assert_eq!(skeleton("b@d"), "bad");
        assert_eq!(skeleton("🇧🇦🇩"), "bad");
        assert_eq!(skeleton("ѕрам"), "spam");
        assert_eq!(skeleton("HELL"), skeleton("he11"));
    }

    #[test]
    fn word_filter_matches_words_not_substrings() {
        let list = words_of(&["spam", "scam*", "buy now"]);
        assert!(has_filtered_word(&list, "this is SPAM!"));
        assert!(has_filtered_word(&list, "ѕрам"));
        assert!(has_filtered_word(&list, "s p a m"));
        assert!(has_filtered_word(&list, "s.p.a.m"));
        assert!(has_filtered_word(&list, "sp\u{00AD}am"));
        assert!(has_filtered_word(&list, "scammers everywhere"));
        assert!(has_filtered_word(&list, "Buy   NOW"));
        assert!(!has_filtered_word(&list, "spammy"));
        assert!(!has_filtered_word(&list, "a spa m"));
        assert!(!has_filtered_word(&list, "buy later, now"));
        assert!(!has_filtered_word(&list, "hello"));
        assert!(!has_filtered_word(
            &words_of(&["", "*", "!!"]),
            "anything !!"
        ));
    }

    #[test]
    fn alphabet_filter() {
        let cyr = words_of(&["cyrillic"]);
        assert!(has_filtered_alphabet(&cyr, "привет"));
        assert!(!has_filtered_alphabet(&cyr, "hello"));
        assert!(has_filtered_alphabet(&words_of(&["Arabic"]), "مرحبا"));
        assert!(!has_filtered_alphabet(&words_of(&["klingon"]), "привет"));
    }

    #[test]
    fn links() {
        let post = |t: &str| PostText {
            body: t.into(),
            ..PostText::default()
        };
        for yes in [
            "see https://x.y",
            "go to www.example",
            "visit example.com now",
            "EXAMPLE.COM/path?q",
            "ｈｔｔｐｓ：／／x",
            "(scam.xyz)",
            "sub.domain.io:8080",
        ] {
            assert!(contains_link(&post(yes)), "{yes}");
        }
        for no in [
            "hello",
            "e.g. this",
            "end.then",
            "3.14",
            "a..com",
            "file.txt",
        ] {
            assert!(!contains_link(&post(no)), "{no}");
        }
        assert!(contains_link(&PostText {
            has_link_object: true,
            ..PostText::default()
        }));
    }

    #[test]
    fn probation_window() {
        let f = RoomFilters {
            probation_secs: Some(60),
            ..RoomFilters::default()
        };
        let user = Permissions::default();
        let moderator = Permissions {
            moderator: true,
            ..Permissions::default()
        };
        assert!(under_probation(&f, &user, None, 1000.0));
        assert!(under_probation(&f, &user, Some(1000.0), 1059.0));
        assert!(!under_probation(&f, &user, Some(1000.0), 1060.0));
        assert!(!under_probation(&f, &moderator, None, 1000.0));
        assert!(!under_probation(&RoomFilters::default(), &user, None, 1.0));
    }

    #[test]
    fn settings_json_round_trip() {
        assert_eq!(RoomFilters::default().to_json(), None);
        let f = RoomFilters {
            words: words_of(&["a"]),
            mode: FilterMode::Reject,
            ..RoomFilters::default()
        };
        let json = f.to_json().unwrap();
        assert_eq!(serde_json::from_str::<RoomFilters>(&json).unwrap(), f);
    }
}
