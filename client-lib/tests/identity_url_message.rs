//! Identity / recovery password, community URL and message tests against the spec vectors
//! (`shared/spec/vectors-identity.json`, `vectors-client.json`, `vectors.json`).

// Test helpers outside `#[test]` functions unwrap too (clippy.toml only covers test bodies).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use prost::Message as _;
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};
use sogs_client::blinding::blind15_candidates;
use sogs_client::identity::{
    x25519_public_from_ed25519, x25519_secret_from_ed25519_seed, DisplayName, Identity,
    IdentityError,
};
use sogs_client::ids::{IdPrefix, SessionId};
use sogs_client::message::{
    decode_and_verify, pad, pad_legacy, sign_for_post, strip_padding, unpad, Attachment, Content,
    MessageError, OutgoingMessage, PostBody, Quote,
};
use sogs_client::mnemonic::{self, MnemonicError};
use sogs_client::url::{CommunityUrl, UrlError};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/spec/");

fn spec_file(name: &str) -> String {
    std::fs::read_to_string(format!("{SPEC}{name}"))
        .unwrap_or_else(|e| panic!("cannot read spec file {name}: {e}"))
}

fn vectors(name: &str) -> Value {
    serde_json::from_str(&spec_file(name)).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

fn seed16(hex_str: &str) -> [u8; 16] {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

fn key32(hex_str: &str) -> [u8; 32] {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Word list
// ---------------------------------------------------------------------------------------------

#[test]
fn wordlist_matches_spec() {
    let v = vectors("vectors-identity.json");
    let wl = &v["wordlist"];
    let spec_text = spec_file("mnemonic-english.txt");
    assert_eq!(
        hex::encode(Sha256::digest(spec_text.as_bytes())),
        s(&wl["sha256_of_file"])
    );
    // The embedded copy is byte-identical to the spec's file.
    let embedded = include_str!("../src/mnemonic-english.txt");
    assert_eq!(embedded, spec_text);

    let words = mnemonic::wordlist();
    assert_eq!(words.len() as u64, wl["words"].as_u64().unwrap());
    assert_eq!(
        mnemonic::PREFIX_LEN as u64,
        wl["prefix_length"].as_u64().unwrap()
    );
    assert_eq!(words[0], s(&wl["first"]));
    assert_eq!(words[words.len() - 1], s(&wl["last"]));
    for (idx, word) in wl["spot_checks"].as_object().unwrap() {
        let i: usize = idx.parse().unwrap();
        assert_eq!(words[i], s(word), "word {i}");
    }
    assert!(words
        .iter()
        .all(|w| w.len() >= 4 && w.bytes().all(|b| b.is_ascii_lowercase())));
}

// ---------------------------------------------------------------------------------------------
// Identity vectors
// ---------------------------------------------------------------------------------------------

/// Checks one full identity case (every group with seed_hex + mnemonic + keys).
fn check_identity_case(group: &str, case: &Value) {
    let ctx = format!("{group} seed {}", s(&case["seed_hex"]));
    let seed = seed16(s(&case["seed_hex"]));
    let id = Identity::from_seed(&seed);

    assert_eq!(
        hex::encode(id.ed25519_seed()),
        s(&case["ed25519_seed_hex"]),
        "{ctx}"
    );
    assert_eq!(
        hex::encode(id.ed25519_public()),
        s(&case["ed25519_pubkey_hex"]),
        "{ctx}"
    );
    assert_eq!(
        hex::encode(*id.ed25519_secret_key()),
        s(&case["ed25519_secret_key_hex"]),
        "{ctx}"
    );
    assert_eq!(
        hex::encode(id.x25519_public()),
        s(&case["x25519_pubkey_hex"]),
        "{ctx}"
    );
    assert_eq!(
        hex::encode(*id.x25519_secret()),
        s(&case["x25519_secret_key_hex"]),
        "{ctx}"
    );
    assert_eq!(id.session_id().to_string(), s(&case["session_id"]), "{ctx}");
    assert_eq!(id.session_id().prefix(), IdPrefix::Session, "{ctx}");
    assert_eq!(*id.seed_hex(), s(&case["seed_hex"]), "{ctx}");

    // x25519 secret gives the x25519 public key.
    let xpk = x25519_dalek::PublicKey::from(&id.x25519_static_secret());
    assert_eq!(xpk.to_bytes(), id.x25519_public(), "{ctx}");

    // Encoding is byte-exact.
    let phrase = s(&case["mnemonic"]);
    assert_eq!(id.mnemonic(), phrase, "{ctx}");
    assert_eq!(mnemonic::encode(&seed), phrase, "{ctx}");
    assert_eq!(id.recovery_password().as_str(), phrase, "{ctx}");

    // Word indexes and checksum details.
    let words = mnemonic::wordlist();
    let got_indexes: Vec<u64> = phrase
        .split(' ')
        .map(|w| words.iter().position(|x| x == &w).unwrap() as u64)
        .collect();
    let want_indexes: Vec<u64> = case["word_indexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(got_indexes, want_indexes, "{ctx}");
    let chunks: Vec<u64> = seed
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as u64)
        .collect();
    let want_chunks: Vec<u64> = case["chunks_u32_le"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(chunks, want_chunks, "{ctx}");
    let prefixes: String = phrase.split(' ').take(12).map(|w| &w[..3]).collect();
    assert_eq!(prefixes, s(&case["checksum_input"]), "{ctx}");
    let crc = crc32fast::hash(prefixes.as_bytes());
    assert_eq!(
        u64::from(crc),
        case["checksum_crc32"].as_u64().unwrap(),
        "{ctx}"
    );
    assert_eq!(
        u64::from(crc % 12),
        case["checksum_index"].as_u64().unwrap(),
        "{ctx}"
    );

    // Decoding restores the same account.
    let restored = Identity::from_mnemonic(phrase).unwrap();
    assert_eq!(*restored.seed(), seed, "{ctx}");
    assert_eq!(restored.session_id(), id.session_id(), "{ctx}");
    assert_eq!(*mnemonic::decode(phrase).unwrap(), seed, "{ctx}");

    // The 32-hex QR form restores it too.
    let from_hex = Identity::from_seed_hex(s(&case["seed_hex"])).unwrap();
    assert_eq!(from_hex.session_id(), id.session_id(), "{ctx}");
    let from_ed = Identity::from_ed25519_seed(&key32(s(&case["ed25519_seed_hex"]))).unwrap();
    assert_eq!(from_ed.session_id(), id.session_id(), "{ctx}");
}

fn check_identity_group(group: &str, expected_cases: usize) {
    let v = vectors("vectors-identity.json");
    let cases = v[group]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), expected_cases, "{group}");
    for case in cases {
        check_identity_case(group, case);
    }
}

#[test]
fn identity_libsession() {
    check_identity_group("identity_libsession", 2);
}

#[test]
fn mnemonic_session_android() {
    check_identity_group("mnemonic_session_android", 2);
}

#[test]
fn mnemonic_sessionjs() {
    check_identity_group("mnemonic_sessionjs", 4);
}

#[test]
fn computed_identities() {
    check_identity_group("computed_identities", 6);
}

#[test]
fn worked_example_from_identity_md() {
    let id = Identity::from_seed(&seed16("0123456789abcdef0123456789abcdef"));
    assert_eq!(
        id.session_id().to_string(),
        "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"
    );
    assert_eq!(
        id.mnemonic(),
        "vexed enjoy pigment films adept voted vexed enjoy pigment films adept voted adept"
    );
}

#[test]
fn conversion_libsession() {
    let v = vectors("vectors-identity.json");
    let conv = &v["conversion_libsession"];
    let seckey_cases = conv["seckey_cases"].as_array().unwrap();
    assert_eq!(seckey_cases.len(), 2);
    for case in seckey_cases {
        let seed = key32(s(&case["ed25519_seed_hex"]));
        let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
        assert_eq!(
            hex::encode(sk.verifying_key().to_bytes()),
            s(&case["ed25519_pubkey_hex"])
        );
        assert_eq!(
            hex::encode(*x25519_secret_from_ed25519_seed(&seed)),
            s(&case["x25519_secret_key_hex"])
        );
        assert_eq!(
            hex::encode(sk.to_scalar_bytes()),
            s(&case["sha512_seed_first32_unclamped_hex"])
        );
        assert_eq!(
            hex::encode(&Sha512::digest(seed)[..32]),
            s(&case["sha512_seed_first32_unclamped_hex"])
        );
        // Arbitrary 32-byte seeds are not Session account seeds.
        assert_eq!(
            Identity::from_ed25519_seed(&seed).unwrap_err(),
            IdentityError::NotASessionSeed
        );
    }
    let pubkey_cases = conv["pubkey_cases"].as_array().unwrap();
    assert_eq!(pubkey_cases.len(), 2);
    for case in pubkey_cases {
        let ed = key32(s(&case["ed25519_pubkey_hex"]));
        assert_eq!(
            hex::encode(x25519_public_from_ed25519(&ed).unwrap()),
            s(&case["x25519_pubkey_hex"])
        );
    }
}

// ---------------------------------------------------------------------------------------------
// decode_cases
// ---------------------------------------------------------------------------------------------

#[test]
fn decode_cases() {
    let v = vectors("vectors-identity.json");
    let cases = v["decode_cases"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 17);
    for case in cases {
        let id = s(&case["id"]);
        let input = s(&case["input"]);
        let expect = s(&case["expect"]);
        let result = mnemonic::decode(input);
        match expect {
            "ok" => {
                let seed = result.unwrap_or_else(|e| panic!("{id}: {e}"));
                assert_eq!(hex::encode(*seed), s(&case["seed_hex"]), "{id}");
                let identity = Identity::from_mnemonic(input).unwrap();
                assert_eq!(
                    identity.session_id().to_string(),
                    s(&case["session_id"]),
                    "{id}"
                );
                assert_eq!(identity.mnemonic(), s(&case["canonical_mnemonic"]), "{id}");
                // restore() takes the same path for phrases.
                let restored = Identity::restore(input).unwrap();
                assert_eq!(restored.session_id(), identity.session_id(), "{id}");
            }
            "error:wrong_word_count" => {
                let err = result.unwrap_err();
                assert!(
                    matches!(
                        err,
                        MnemonicError::WrongWordCount { .. } | MnemonicError::SessionIdGiven
                    ),
                    "{id}: {err:?}"
                );
            }
            "error:legacy_25_word_phrase" => {
                assert_eq!(result.unwrap_err(), MnemonicError::LegacyPhrase, "{id}");
            }
            "error:invalid_word" => {
                assert_eq!(
                    result.unwrap_err(),
                    MnemonicError::UnknownWord {
                        position: case["position"].as_u64().unwrap() as usize,
                        word: s(&case["word"]).to_owned(),
                    },
                    "{id}"
                );
            }
            "error:checksum" => {
                assert_eq!(result.unwrap_err(), MnemonicError::ChecksumMismatch, "{id}");
            }
            other => panic!("{id}: unknown expectation {other}"),
        }
    }
}

#[test]
fn decode_error_details() {
    let canonical =
        "sewage railway names rift wagtail duties rowboat until seismic radar custom gimmick until";
    let twelve = canonical.rsplit_once(' ').unwrap().0;
    let err = mnemonic::decode(twelve).unwrap_err();
    assert_eq!(err, MnemonicError::WrongWordCount { found: 12 });
    assert!(err.to_string().contains("13th (checksum) word is missing"));
    assert_eq!(
        mnemonic::decode(&format!("{canonical} until")).unwrap_err(),
        MnemonicError::WrongWordCount { found: 14 }
    );
    assert_eq!(
        mnemonic::decode("").unwrap_err(),
        MnemonicError::WrongWordCount { found: 0 }
    );
    assert_eq!(
        mnemonic::decode("0582e1421da6f584a4795d30b654b4f25fed860afdf081075cb26a2b997e492f14")
            .unwrap_err(),
        MnemonicError::SessionIdGiven
    );
    let legacy = mnemonic::decode(&"abbey ".repeat(25)).unwrap_err();
    assert_eq!(legacy, MnemonicError::LegacyPhrase);
    assert!(legacy.to_string().contains("25-word"));
    // An unknown 13th word is reported as such, before the checksum.
    let bad13 = format!("{twelve} qqq");
    assert_eq!(
        mnemonic::decode(&bad13).unwrap_err(),
        MnemonicError::UnknownWord {
            position: 13,
            word: "qqq".into()
        }
    );
    // The error names the word as entered (lower-cased).
    let err = mnemonic::decode(&canonical.replace("rift", "XYZZY")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "word 4 (\"xyzzy\") is not a recovery-password word"
    );
    // Commas, dots, tabs, CRLF between words are fine.
    let messy = canonical.replace(' ', ",\r\n\t. ");
    assert_eq!(
        hex::encode(*mnemonic::decode(&messy).unwrap()),
        "e37315dd45b0b0454dbb04dce662772a"
    );
}

#[test]
fn seed_hex_and_restore_inputs() {
    let id = Identity::restore("  E37315DD45B0B0454DBB04DCE662772A\n").unwrap();
    assert_eq!(
        id.session_id().to_string(),
        "0555b969220fbdfa09b6a36e6a57d4bc04ff0047461f0b4710fcb4f0ec43a2884a"
    );
    assert_eq!(
        Identity::from_seed_hex(&"ab".repeat(32)).unwrap_err(),
        IdentityError::NotASessionSeed
    );
    assert_eq!(
        Identity::restore("0582e1421da6f584a4795d30b654b4f25fed860afdf081075cb26a2b997e492f14")
            .unwrap_err(),
        IdentityError::SessionIdGiven
    );
    assert!(matches!(
        Identity::from_seed_hex("abcd").unwrap_err(),
        IdentityError::BadSeedHex { .. }
    ));
    assert!(matches!(
        Identity::from_seed_hex("zz37315dd45b0b0454dbb04dce662772a").unwrap_err(),
        IdentityError::BadSeedHex { .. }
    ));
    assert_eq!(
        Identity::restore("love love love").unwrap_err(),
        IdentityError::Mnemonic(MnemonicError::WrongWordCount { found: 3 })
    );
}

#[test]
fn random_seeds_round_trip() {
    use rand::{RngCore, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..500 {
        let mut seed = [0u8; 16];
        rng.fill_bytes(&mut seed);
        let phrase = mnemonic::encode(&seed);
        assert_eq!(phrase.split(' ').count(), 13);
        assert!(!phrase.contains('\n'));
        assert_eq!(*mnemonic::decode(&phrase).unwrap(), seed);
        // Upper case and prefixes only also decode.
        let prefixes: Vec<String> = phrase.split(' ').map(|w| w[..3].to_uppercase()).collect();
        assert_eq!(*mnemonic::decode(&prefixes.join("  ")).unwrap(), seed);
    }
    let a = Identity::generate_with(&mut rng);
    let b = Identity::generate_with(&mut rng);
    assert_ne!(a.session_id(), b.session_id());
    let g = Identity::generate();
    assert_eq!(
        Identity::from_mnemonic(&g.mnemonic()).unwrap().session_id(),
        g.session_id()
    );
}

#[test]
fn identity_file_round_trip_and_debug() {
    let id = Identity::from_seed(&seed16("e37315dd45b0b0454dbb04dce662772a"))
        .with_display_name("  Alice \u{200B}")
        .unwrap();
    assert_eq!(id.display_name().unwrap().as_str(), "Alice");
    let json = id.to_file_json();
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["seed"], "e37315dd45b0b0454dbb04dce662772a");
    assert_eq!(parsed["display_name"], "Alice");
    let back = Identity::from_file_json(&json).unwrap();
    assert_eq!(back.session_id(), id.session_id());
    assert_eq!(back.display_name(), id.display_name());

    let anon = Identity::from_seed(&[0u8; 16]);
    let json = anon.to_file_json();
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        parsed,
        serde_json::json!({"seed": "00000000000000000000000000000000"})
    );
    assert!(Identity::from_file_json(&json)
        .unwrap()
        .display_name()
        .is_none());

    // 64-hex zero-padded seeds are accepted in files; other junk is not.
    let padded = format!(
        "{{\"seed\":\"e37315dd45b0b0454dbb04dce662772a{}\"}}",
        "0".repeat(32)
    );
    assert_eq!(
        Identity::from_file_json(&padded).unwrap().session_id(),
        id.session_id()
    );
    assert!(matches!(
        Identity::from_file_json("{\"seedx\":1}").unwrap_err(),
        IdentityError::File(_)
    ));
    assert!(matches!(
        Identity::from_file_json(
            "{\"seed\":\"e37315dd45b0b0454dbb04dce662772a\",\"display_name\":\" \"}"
        )
        .unwrap_err(),
        IdentityError::DisplayName(_)
    ));

    // Debug shows the Session ID and name, never secrets.
    let dbg = format!("{id:?}");
    assert!(dbg.contains("0555b969220fbdfa09b6a36e6a57d4bc04ff0047461f0b4710fcb4f0ec43a2884a"));
    assert!(dbg.contains("Alice"));
    assert!(!dbg.contains("e37315dd"));
    assert!(!dbg.contains("sewage"));
    assert_eq!(
        format!("{:?}", id.recovery_password()),
        "RecoveryPassword(<redacted>)"
    );
    assert_eq!(DisplayName::parse("Bob").unwrap().to_string(), "Bob");
}

#[test]
fn blinded_ids_match_candidates() {
    let v = vectors("vectors.json");
    let server_pk = key32(s(&v["computed_identity"]["server_pub"]));
    for seed in [
        "0123456789abcdef0123456789abcdef",
        "e37315dd45b0b0454dbb04dce662772a",
    ] {
        let id = Identity::from_seed(&seed16(seed));
        let blinded = id.blinded15_id(&server_pk);
        assert_eq!(blinded.prefix(), IdPrefix::Blinded15);
        assert_eq!(blinded, id.blinded15(&server_pk).session_id());
        let candidates = blind15_candidates(&id.session_id(), &server_pk).unwrap();
        assert!(candidates.contains(&blinded), "{seed}");
        // Different servers give different ids.
        assert_ne!(blinded, id.blinded15_id(&[7u8; 32]));
    }
}

// ---------------------------------------------------------------------------------------------
// Community URLs
// ---------------------------------------------------------------------------------------------

#[test]
fn community_urls_libsession() {
    let v = vectors("vectors-client.json");
    let group = &v["community_urls"]["libsession_parse_full_url"];
    let inputs = group["inputs"].as_array().unwrap();
    let expected = group["expected"].as_array().unwrap();
    assert_eq!(inputs.len(), 8);
    assert_eq!(inputs.len(), expected.len());
    let key_hex = s(&group["expected_pubkey_hex_all"]);
    let canonical_room = s(&group["canonical_room_all"]);
    for (input, want) in inputs.iter().zip(expected) {
        let input = s(input);
        let url = CommunityUrl::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(url.base_url(), s(&want["base"]), "{input}");
        assert_eq!(url.room_as_given(), s(&want["room"]), "{input}");
        assert_eq!(url.room(), canonical_room, "{input}");
        assert_eq!(url.server_pubkey_hex(), key_hex, "{input}");
        let canonical = format!("{}/{canonical_room}?public_key={key_hex}", s(&want["base"]));
        assert_eq!(url.join_url(), canonical, "{input}");
        assert_eq!(url.to_string(), canonical, "{input}");
        // The canonical form parses back to the same URL.
        assert_eq!(CommunityUrl::parse(&canonical).unwrap(), url, "{input}");
    }
}

#[test]
fn community_urls_desktop_examples() {
    let v = vectors("vectors-client.json");
    let cu = &v["community_urls"];
    let inputs = cu["desktop_accepted_examples"]["inputs"]
        .as_array()
        .unwrap();
    let bases = [
        "https://sessionopengroup.co",
        "http://sessionopengroup.co",
        "http://sessionopengroup.co",
        "https://143.198.213.225",
        "http://143.198.213.255",
    ];
    assert_eq!(inputs.len(), bases.len());
    for (input, base) in inputs.iter().zip(bases) {
        let url = CommunityUrl::parse(s(input)).unwrap();
        assert_eq!(url.base_url(), base);
        assert_eq!(url.room(), "main");
        assert_eq!(
            url.server_pubkey_hex(),
            "658d29b91892a2389505596b135e76a53db6e11d613a51dbd3d0816adffb231c"
        );
    }

    let key = [0x11u8; 32];
    for pair in cu["desktop_prefixify"]["cases"].as_array().unwrap() {
        let url = CommunityUrl::new(s(&pair[0]), "room", key).unwrap();
        assert_eq!(url.base_url(), s(&pair[1]));
    }

    let official = &cu["official_server"];
    let url = CommunityUrl::parse(s(&official["default_room_url"])).unwrap();
    assert_eq!(url.base_url(), s(&official["url"]));
    assert_eq!(url.server_pubkey_hex(), s(&official["pubkey"]));
    assert_eq!(url.join_url(), s(&official["default_room_url"]));
    // Desktop rewrites the plain-http and legacy-IP forms to the https URL.
    for alt in [
        format!(
            "http://open.getsession.org/main?public_key={}",
            s(&official["pubkey"])
        ),
        format!(
            "http://{}/main?public_key={}",
            s(&official["legacy_ip"]),
            s(&official["pubkey"])
        ),
        format!(
            "{}:80/main?public_key={}",
            s(&official["legacy_ip"]),
            s(&official["pubkey"])
        ),
    ] {
        assert_eq!(CommunityUrl::parse(&alt).unwrap(), url, "{alt}");
    }
}

#[test]
fn community_urls_more_valid_forms() {
    let key = "8388de69bc0d4b6196133233ad9a46ba0473474bc67718aad96a3a33c257f726";
    let cases = [
        // Our tests' servers: IPv4 with a port.
        (
            format!("http://127.0.0.1:34567/lobby?public_key={key}"),
            "http://127.0.0.1:34567",
            "lobby",
        ),
        (
            format!("127.0.0.1:8080/r/Lobby/?public_key={key}"),
            "http://127.0.0.1:8080",
            "lobby",
        ),
        (
            format!(
                "  https://Chat.Example.org:8443/r/test-room?public_key={}  \n",
                key.to_uppercase()
            ),
            "https://chat.example.org:8443",
            "test-room",
        ),
        (
            format!("https://example.com:80/room_1?public_key={key}"),
            "https://example.com:80",
            "room_1",
        ),
        (
            format!("http://example.com:443/a?public_key={key}"),
            "http://example.com:443",
            "a",
        ),
        (
            format!("http://203.0.113.5/test-room?public_key={key}"),
            "http://203.0.113.5",
            "test-room",
        ),
        (
            format!("https://example.com/{}?public_key={key}", "x".repeat(64)),
            "https://example.com",
            &*"x".repeat(64),
        ),
    ];
    for (input, base, room) in &cases {
        let url = CommunityUrl::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(url.base_url(), *base, "{input}");
        assert_eq!(url.room(), *room, "{input}");
        assert_eq!(url.server_pubkey_hex(), key, "{input}");
        assert_eq!(url.join_url(), format!("{base}/{room}?public_key={key}"));
    }

    // Base64 with padding, URL-safe base64, percent-encoded base64, upper-case base32z.
    let want = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    for k in [
        "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=",
        "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8%3D",
        "YRTWK3HJIXG66YJDEIUAUK6P7HY1GTM8TGIH55ABRPNSXNPM3ZZO",
    ] {
        let url = CommunityUrl::parse(&format!("https://example.com/r?public_key={k}")).unwrap();
        assert_eq!(url.server_pubkey_hex(), want, "{k}");
        assert_eq!(url.room(), "r");
    }
    // 0xfb 0xff… encodes with '+' and '/' in standard base64, '-' and '_' in URL-safe.
    let bytes = [0xfbu8; 32];
    let std_b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
    let url_b64 = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE, bytes);
    assert!(std_b64.contains('+') || std_b64.contains('/'));
    for k in [std_b64.replace('+', "%2B").replace('/', "%2F"), url_b64] {
        let url = CommunityUrl::parse(&format!("https://example.com/r?public_key={k}")).unwrap();
        assert_eq!(url.server_pubkey(), &bytes, "{k}");
    }

    // serde goes through the canonical string.
    let url = CommunityUrl::parse(&cases[1].0).unwrap();
    let json = serde_json::to_string(&url).unwrap();
    assert_eq!(
        json,
        format!("\"http://127.0.0.1:8080/lobby?public_key={key}\"")
    );
    assert_eq!(serde_json::from_str::<CommunityUrl>(&json).unwrap(), url);
    assert_eq!(url.file_url(42), "http://127.0.0.1:8080/room/lobby/file/42");
    assert!(!url.is_https());
    assert_eq!("http://127.0.0.1:8080/lobby?public_key=8388de69bc0d4b6196133233ad9a46ba0473474bc67718aad96a3a33c257f726".parse::<CommunityUrl>().unwrap(), url);
}

#[test]
fn community_urls_invalid() {
    let key = "8388de69bc0d4b6196133233ad9a46ba0473474bc67718aad96a3a33c257f726";
    let q = format!("?public_key={key}");
    type Check = fn(&UrlError) -> bool;
    let cases: Vec<(String, Check)> = vec![
        ("   ".into(), |e| matches!(e, UrlError::Empty)),
        ("https://example.com/main".into(), |e| {
            matches!(e, UrlError::MissingPublicKey { web_page: true })
        }),
        ("https://example.com/r/main/".into(), |e| {
            matches!(e, UrlError::MissingPublicKey { web_page: true })
        }),
        ("https://example.com".into(), |e| {
            matches!(e, UrlError::MissingPublicKey { web_page: false })
        }),
        (
            "https://example.com/main?foo=bar".into(),
            |e| matches!(e, UrlError::UnexpectedQuery { param } if param == "foo"),
        ),
        (
            format!("https://example.com/main{q}&x=1"),
            |e| matches!(e, UrlError::UnexpectedQuery { param } if param == "x"),
        ),
        (
            format!("http://localhost:8080/main{q}"),
            |e| matches!(e, UrlError::BadHost { host, .. } if host == "localhost"),
        ),
        (format!("http://[::1]:8080/main{q}"), |e| {
            matches!(e, UrlError::BadHost { .. })
        }),
        (format!("http://user@example.com/main{q}"), |e| {
            matches!(e, UrlError::BadHost { .. })
        }),
        (format!("http://exa_mple.com/main{q}"), |e| {
            matches!(e, UrlError::BadHost { .. })
        }),
        (format!("http://example..com/main{q}"), |e| {
            matches!(e, UrlError::BadHost { .. })
        }),
        (format!("http://example.com./main{q}"), |e| {
            matches!(e, UrlError::BadHost { .. })
        }),
        (format!("http://a.b/main{q}"), |e| {
            matches!(e, UrlError::BadHost { .. })
        }),
        (format!("http://example.com:0/main{q}"), |e| {
            matches!(e, UrlError::BadPort { .. })
        }),
        (format!("http://example.com:70000/main{q}"), |e| {
            matches!(e, UrlError::BadPort { .. })
        }),
        (format!("http://example.com:/main{q}"), |e| {
            matches!(e, UrlError::BadPort { .. })
        }),
        (
            format!("ftp://example.com/main{q}"),
            |e| matches!(e, UrlError::UnsupportedScheme { scheme } if scheme == "ftp"),
        ),
        (format!("https://example.com/{q}"), |e| {
            matches!(e, UrlError::MissingRoom)
        }),
        (format!("https://example.com{q}"), |e| {
            matches!(e, UrlError::MissingRoom)
        }),
        (format!("https://example.com/r/{q}"), |e| {
            matches!(e, UrlError::MissingRoom)
        }),
        (format!("https://example.com/a/b{q}"), |e| {
            matches!(e, UrlError::UnexpectedPath { .. })
        }),
        (format!("https://example.com/room/main/extra{q}"), |e| {
            matches!(e, UrlError::UnexpectedPath { .. })
        }),
        (
            format!("https://example.com/ma.in{q}"),
            |e| matches!(e, UrlError::BadRoom { room, .. } if room == "ma.in"),
        ),
        (format!("https://example.com/{}{q}", "x".repeat(65)), |e| {
            matches!(e, UrlError::BadRoom { .. })
        }),
        (format!("https://example.com/main{q}#frag"), |e| {
            matches!(e, UrlError::UnexpectedFragment)
        }),
        ("https://example.com/main?public_key=".into(), |e| {
            matches!(e, UrlError::BadPublicKey { .. })
        }),
        (
            format!("https://example.com/main?public_key={}", &key[..63]),
            |e| matches!(e, UrlError::BadPublicKey { reason } if reason.contains("63")),
        ),
        (
            format!("https://example.com/main?public_key={}zz", &key[..62]),
            |e| matches!(e, UrlError::BadPublicKey { reason } if reason.contains("hex")),
        ),
        (
            format!("https://example.com/main?public_key=05{key}"),
            |e| matches!(e, UrlError::BadPublicKey { .. }),
        ),
        (
            format!("https://example.com/main?public_key={key}&public_key={key}"),
            |e| matches!(e, UrlError::BadPublicKey { .. }),
        ),
        (
            "https://example.com/main?public_key=ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrz!8"
                .into(),
            |e| matches!(e, UrlError::BadPublicKey { .. }),
        ),
        (
            format!("https://example.com/main?public_key={}", "l".repeat(52)),
            |e| matches!(e, UrlError::BadPublicKey { .. }),
        ),
    ];
    for (input, check) in &cases {
        let err = CommunityUrl::parse(input).unwrap_err();
        assert!(check(&err), "{input}: got {err:?}");
        assert!(!err.to_string().is_empty());
    }

    // Messages are actionable.
    let web = CommunityUrl::parse("https://example.com/r/main/").unwrap_err();
    assert!(web.to_string().contains("web page"), "{web}");
    assert!(web.to_string().contains("public_key"), "{web}");
    let local = CommunityUrl::parse(&format!("http://localhost/main{q}")).unwrap_err();
    assert!(local.to_string().contains("127.0.0.1"), "{local}");

    // CommunityUrl::new validates its parts too.
    assert!(CommunityUrl::new("https://example.com/extra", "main", [0; 32]).is_err());
    assert!(CommunityUrl::new("https://example.com", "bad room", [0; 32]).is_err());
    assert!(CommunityUrl::new("localhost", "main", [0; 32]).is_err());
}

// ---------------------------------------------------------------------------------------------
// Padding
// ---------------------------------------------------------------------------------------------

#[test]
fn message_padding_constants() {
    let v = vectors("vectors-client.json");
    let mp = &v["message_padding"];
    let block = mp["block_size"].as_u64().unwrap() as usize;
    assert_eq!(block, sogs_client::message::PADDING_BLOCK);
    assert_eq!(s(&mp["terminator_byte"]), "0x80");
    assert_eq!(s(&mp["fill_byte"]), "0x00");
    for n in 0..1000usize {
        let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8 + 1).collect();
        // current: 160 * (floor((n+1)/160) + 1)
        let padded = pad(&data);
        assert_eq!(padded.len(), block * ((n + 1) / block + 1), "n={n}");
        assert_eq!(padded.len() % block, 0);
        assert_eq!(&padded[..n], &data[..]);
        assert_eq!(padded[n], 0x80);
        assert!(padded[n + 1..].iter().all(|&b| b == 0));
        assert_eq!(unpad(&padded), Some(&data[..]));
        // legacy: 160 * ceil((n+2)/160) - 1
        let legacy = pad_legacy(&data);
        assert_eq!(legacy.len(), block * (n + 2).div_ceil(block) - 1, "n={n}");
        assert_eq!(legacy[n], 0x80);
        assert!(legacy[n + 1..].iter().all(|&b| b == 0));
        assert_eq!(unpad(&legacy), Some(&data[..]));
    }
    // Boundary: n+1 a multiple of 160 gets a whole extra block of zeros.
    let p = pad(&[1u8; 159]);
    assert_eq!(p.len(), 320);
    assert_eq!(p[159], 0x80);
    assert_eq!(pad(&[]).len(), 160);
    assert_eq!(pad(&[]), {
        let mut v = vec![0u8; 160];
        v[0] = 0x80;
        v
    });
}

#[test]
fn message_padding_computed() {
    let v = vectors("vectors.json");
    let cases = v["message_padding_computed"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let submitted = hex::decode(s(&case["submitted"])).unwrap();
        let stored = hex::decode(s(&case["stored_unpadded"])).unwrap();
        assert_eq!(submitted.len() as u64, case["data_size"].as_u64().unwrap());
        assert_eq!(
            strip_padding(&submitted),
            &stored[..],
            "{}",
            s(&case["submitted"])
        );
        // Only data ending in 0x80 + zeros is padded; anything else is kept whole.
        let is_padded = submitted.len() != stored.len();
        assert_eq!(unpad(&submitted).is_some(), is_padded);
        if is_padded {
            assert_eq!(unpad(&submitted), Some(&stored[..]));
        }
    }
    // Cases 1 and 2 are padded, 3 (no 0x80) and 4 (zeros after a non-0x80 byte) are not.
    let padded: Vec<bool> = cases
        .iter()
        .map(|c| unpad(&hex::decode(s(&c["submitted"])).unwrap()).is_some())
        .collect();
    assert_eq!(padded, [true, true, false, false]);
}

// ---------------------------------------------------------------------------------------------
// Protobuf and signing
// ---------------------------------------------------------------------------------------------

#[test]
fn content_encoding_exact_bytes() {
    let msg = OutgoingMessage {
        text: "hi".into(),
        display_name: Some("Alice".into()),
        timestamp_ms: 1_700_000_000_123,
        attachments: vec![],
        quote: None,
    };
    // Hand-encoded: Content{1: DataMessage{1:"hi", 101: LokiProfile{1:"Alice"}}, 12:0, 13:0,
    // 15:1700000000123}.
    let expected = hex::decode("0a0e0a026869aa06070a05416c6963656000680078fbd095ffbc31").unwrap();
    assert_eq!(msg.content().encode_to_vec(), expected);
    let encoded = msg.encode();
    assert_eq!(encoded.len(), 160);
    assert_eq!(&encoded[..expected.len()], &expected[..]);
    assert_eq!(encoded[expected.len()], 0x80);

    let room = CommunityUrl::parse(
        "http://127.0.0.1:8080/lobby?public_key=8388de69bc0d4b6196133233ad9a46ba0473474bc67718aad96a3a33c257f726",
    )
    .unwrap();
    let mut att = Attachment::uploaded(&room, 42, 1234);
    att.content_type = Some("image/png".into());
    att.file_name = Some("a.png".into());
    let author = format!("05{}", "ab".repeat(32));
    let msg = OutgoingMessage {
        text: "hello".into(),
        display_name: None,
        timestamp_ms: 1_700_000_000_123,
        attachments: vec![att],
        quote: Some(Quote {
            id: 1_699_999_999_000,
            author: author.clone(),
        }),
    };
    let expected = "0a9f010a0568656c6c6f1249092a000000000000001209696d6167652f706e6720d2093a05612e706e67aa0628687474703a2f2f3132372e302e302e313a383038302f726f6f6d2f6c6f6262792f66696c652f3432424b0898c895ffbc3112423035616261626162616261626162616261626162616261626162616261626162616261626162616261626162616261626162616261626162616261626162616261626000680078fbd095ffbc31";
    assert_eq!(hex::encode(msg.content().encode_to_vec()), expected);
}

#[test]
fn protobuf_round_trip() {
    let room = CommunityUrl::parse(
        "https://example.com/lobby?public_key=8388de69bc0d4b6196133233ad9a46ba0473474bc67718aad96a3a33c257f726",
    )
    .unwrap();
    let mut att = Attachment::uploaded(&room, 7, 99);
    att.voice_message = true;
    att.width = Some(640);
    att.height = Some(480);
    att.caption = Some("cap".into());
    let msg = OutgoingMessage {
        text: "héllo 🌍".into(),
        display_name: Some("Zoë".into()),
        timestamp_ms: 1_712_345_678_901,
        attachments: vec![att.clone()],
        quote: Some(Quote {
            id: 5,
            author: "15".to_owned() + &"cd".repeat(32),
        }),
    };
    msg.validate().unwrap();
    let padded = msg.encode();
    assert_eq!(padded.len() % 160, 0);
    let content = Content::decode(strip_padding(&padded)).unwrap();
    assert_eq!(content.expiration_type, Some(0));
    assert_eq!(content.expiration_timer, Some(0));
    assert_eq!(content.sig_timestamp, Some(1_712_345_678_901));
    let dm = content.data_message.as_ref().unwrap();
    assert_eq!(dm.attachments[0].deprecated_id, 7);
    assert_eq!(dm.attachments[0].flags, Some(1));
    assert_eq!(
        dm.attachments[0].url.as_deref(),
        Some("https://example.com/room/lobby/file/7")
    );
    assert!(dm.attachments[0].key.is_none() && dm.attachments[0].digest.is_none());

    let decoded =
        sogs_client::message::DecodedMessage::from_content_bytes(strip_padding(&padded)).unwrap();
    assert_eq!(decoded.text.as_deref(), Some("héllo 🌍"));
    assert_eq!(decoded.display_name.as_deref(), Some("Zoë"));
    assert_eq!(decoded.timestamp_ms, Some(1_712_345_678_901));
    assert_eq!(decoded.attachments, vec![att]);
    assert_eq!(decoded.attachments[0].download_id(), Some(7));
    assert_eq!(decoded.quote, msg.quote);
    assert!(decoded.has_visible_content());
    assert!(decoded.timestamp_plausible(1_712_345_678_901 + 6 * 3600 * 1000));
    assert!(!decoded.timestamp_plausible(1_712_345_678_901 + 6 * 3600 * 1000 + 1));

    // Validation mirrors the apps.
    assert_eq!(
        OutgoingMessage::text("", 1).validate(),
        Err(MessageError::NoVisibleContent)
    );
    assert_eq!(
        OutgoingMessage::text("x".repeat(2001), 1).validate(),
        Err(MessageError::TooLong { chars: 2001 })
    );
    assert!(OutgoingMessage::text("é".repeat(2000), 1)
        .validate()
        .is_ok());
    // An empty text sends no body field at all.
    let content = OutgoingMessage::text("", 3).content();
    assert_eq!(content.data_message.unwrap().body, None);
}

fn test_identity_and_server() -> (Identity, [u8; 32]) {
    let v = vectors("vectors.json");
    let server_pk = key32(s(&v["computed_identity"]["server_pub"]));
    let id = Identity::from_seed(&seed16("0123456789abcdef0123456789abcdef"))
        .with_display_name("Alice")
        .unwrap();
    (id, server_pk)
}

#[test]
fn sign_verify_decode_round_trip() {
    let (id, server_pk) = test_identity_and_server();
    let kp = id.blinded15(&server_pk);
    let author = id.blinded15_id(&server_pk);
    let msg = OutgoingMessage {
        text: "hello community".into(),
        display_name: id.display_name().map(|n| n.to_string()),
        timestamp_ms: 1_700_000_000_000,
        attachments: vec![],
        quote: None,
    };
    let body: PostBody = msg.post_body(&kp);
    assert_eq!(body.timestamp, 1_700_000_000_000);
    assert!(body.files.is_empty());
    assert_eq!(body.signature.len(), 88);
    // JSON field order is desktop's.
    let json = serde_json::to_string(&body).unwrap();
    let (d, t, sg, f) = (
        json.find("\"data\"").unwrap(),
        json.find("\"timestamp\"").unwrap(),
        json.find("\"signature\"").unwrap(),
        json.find("\"files\"").unwrap(),
    );
    assert!(d < t && t < sg && sg < f, "{json}");

    let decoded = decode_and_verify(&author, &body.data, &body.signature).unwrap();
    assert_eq!(decoded.text.as_deref(), Some("hello community"));
    assert_eq!(decoded.display_name.as_deref(), Some("Alice"));
    assert_eq!(decoded.timestamp_ms, Some(1_700_000_000_000));
    assert!(decoded.attachments.is_empty());

    // sign_for_post gives the same data, and a signature that verifies.
    let signed = sign_for_post(&msg.encode(), &kp);
    assert_eq!(signed.data, body.data);
    assert!(decode_and_verify(&author, &signed.data, &signed.signature).is_ok());

    // Attachments end up in `files` as decimal strings.
    let room = CommunityUrl::new("http://127.0.0.1:9000", "lobby", server_pk).unwrap();
    let with_file = OutgoingMessage {
        attachments: vec![Attachment::uploaded(&room, 12345, 10)],
        ..msg.clone()
    };
    assert_eq!(with_file.post_body(&kp).files, vec!["12345".to_owned()]);
}

#[test]
fn tampered_posts_are_rejected() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (id, server_pk) = test_identity_and_server();
    let kp = id.blinded15(&server_pk);
    let author = id.blinded15_id(&server_pk);
    let body = OutgoingMessage::text("pay me", 1_700_000_000_000).post_body(&kp);

    // Flipped signature bit.
    let mut sig = b64.decode(&body.signature).unwrap();
    sig[10] ^= 0x01;
    assert_eq!(
        decode_and_verify(&author, &body.data, &b64.encode(&sig)).unwrap_err(),
        MessageError::BadSignature
    );
    // Changed data (even only in the padding).
    let mut data = b64.decode(&body.data).unwrap();
    let last = data.len() - 1;
    data[last] = 0x01;
    assert_eq!(
        decode_and_verify(&author, &b64.encode(&data), &body.signature).unwrap_err(),
        MessageError::BadSignature
    );
    // Padding stripped by a server: the signature no longer covers the bytes.
    let stripped = strip_padding(&b64.decode(&body.data).unwrap()).to_vec();
    assert_eq!(
        decode_and_verify(&author, &b64.encode(&stripped), &body.signature).unwrap_err(),
        MessageError::BadSignature
    );
    // Someone else as the author.
    let other = Identity::from_seed(&[9u8; 16]).blinded15_id(&server_pk);
    assert_eq!(
        decode_and_verify(&other, &body.data, &body.signature).unwrap_err(),
        MessageError::BadSignature
    );
    // The unblinded Session ID is not the signer of a blinded signature.
    assert_eq!(
        decode_and_verify(&id.session_id(), &body.data, &body.signature).unwrap_err(),
        MessageError::BadSignature
    );
    // Malformed inputs.
    assert_eq!(
        decode_and_verify(&author, "not base64!", &body.signature).unwrap_err(),
        MessageError::BadBase64 { field: "data" }
    );
    assert_eq!(
        decode_and_verify(&author, &body.data, &b64.encode([0u8; 63])).unwrap_err(),
        MessageError::BadSignatureLength { len: 63 }
    );
    // A valid signature over bytes that are not a Content with a dataMessage.
    let junk = pad(&[0x68, 0x05]); // Content{expirationTimer: 5}
    let signed = sign_for_post(&junk, &kp);
    assert_eq!(
        decode_and_verify(&author, &signed.data, &signed.signature).unwrap_err(),
        MessageError::NoDataMessage
    );
    let not_proto = sign_for_post(&[0xff, 0xff, 0xff], &kp);
    assert!(matches!(
        decode_and_verify(&author, &not_proto.data, &not_proto.signature).unwrap_err(),
        MessageError::Protobuf(_)
    ));
    // Sanity: SessionId round trip of the blinded author.
    assert_eq!(SessionId::parse(&author.to_string()).unwrap(), author);
}
