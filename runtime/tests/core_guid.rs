//! GUID layout, parsing, formatting, const construction and uuid interop.

use core::mem::offset_of;
use std::collections::HashSet;

use comidl_runtime::{CLSID, GUID, GUID_NULL, IID, ParseGuidError, guid};

mod common;
use common::Rng;

const IUNKNOWN_TEXT: &str = "00000000-0000-0000-C000-000000000046";
const IUNKNOWN: GUID = GUID::from_values(0, 0, 0, [0xC0, 0, 0, 0, 0, 0, 0, 0x46]);
/// IClassFactory's IID, an asymmetric value that catches byte-order slips.
const ICLASSFACTORY: GUID = GUID::from_u128(0x00000001_0000_0000_C000_000000000046);
const SAMPLE_TEXT: &str = "6B29FC40-CA47-1067-B31D-00DD010662DA";
const SAMPLE: GUID = GUID {
    data1: 0x6B29_FC40,
    data2: 0xCA47,
    data3: 0x1067,
    data4: [0xB3, 0x1D, 0x00, 0xDD, 0x01, 0x06, 0x62, 0xDA],
};

#[test]
fn layout_matches_c() {
    assert_eq!(size_of::<GUID>(), 16);
    assert_eq!(align_of::<GUID>(), 4);
    assert_eq!(offset_of!(GUID, data1), 0);
    assert_eq!(offset_of!(GUID, data2), 4);
    assert_eq!(offset_of!(GUID, data3), 6);
    assert_eq!(offset_of!(GUID, data4), 8);
    let _: IID = IUNKNOWN;
    let _: CLSID = IUNKNOWN;
}

#[test]
fn memory_image_is_native_endian() {
    // SAFETY: GUID is repr(C), 16 bytes, no padding; every byte is initialised.
    let bytes: [u8; 16] = unsafe { core::mem::transmute(SAMPLE) };
    if cfg!(target_endian = "little") {
        assert_eq!(bytes, SAMPLE.to_bytes_le());
    }
    assert_eq!(
        SAMPLE.to_bytes_le(),
        [
            0x40, 0xFC, 0x29, 0x6B, 0x47, 0xCA, 0x67, 0x10, 0xB3, 0x1D, 0x00, 0xDD, 0x01, 0x06,
            0x62, 0xDA
        ]
    );
    assert_eq!(GUID::from_bytes_le(SAMPLE.to_bytes_le()), SAMPLE);
}

#[test]
fn u128_is_textual_order() {
    assert_eq!(
        GUID::from_u128(0x00000000_0000_0000_C000_000000000046),
        IUNKNOWN
    );
    assert_eq!(IUNKNOWN.to_u128(), 0xC000_0000_0000_0046);
    assert_eq!(SAMPLE.to_u128(), 0x6B29FC40_CA47_1067_B31D_00DD010662DA);
    assert_eq!(GUID::from_u128(SAMPLE.to_u128()), SAMPLE);
    assert_eq!(ICLASSFACTORY.data1, 1);
    assert_eq!(GUID::zeroed(), GUID::default());
    assert_eq!(GUID_NULL, GUID::zeroed());
    assert!(GUID_NULL.is_zero() && !IUNKNOWN.is_zero());
}

#[test]
fn format() {
    assert_eq!(SAMPLE.to_string(), format!("{{{SAMPLE_TEXT}}}"));
    assert_eq!(format!("{SAMPLE:?}"), format!("{{{SAMPLE_TEXT}}}"));
    assert_eq!(SAMPLE.to_string_no_braces(), SAMPLE_TEXT);
    assert_eq!(
        IUNKNOWN.to_string(),
        "{00000000-0000-0000-C000-000000000046}"
    );
    assert_eq!(GUID_NULL.to_string().len(), 38);
}

#[test]
fn parse_accepts_both_forms_and_cases() {
    assert_eq!(GUID::parse(SAMPLE_TEXT), Ok(SAMPLE));
    assert_eq!(GUID::parse(&format!("{{{SAMPLE_TEXT}}}")), Ok(SAMPLE));
    assert_eq!(GUID::parse(&SAMPLE_TEXT.to_lowercase()), Ok(SAMPLE));
    assert_eq!(IUNKNOWN_TEXT.parse::<GUID>(), Ok(IUNKNOWN));
    for g in [IUNKNOWN, ICLASSFACTORY, SAMPLE, GUID::from_u128(u128::MAX)] {
        assert_eq!(GUID::parse(&g.to_string()), Ok(g));
        assert_eq!(GUID::parse(&g.to_string_no_braces()), Ok(g));
    }
}

#[test]
fn parse_reports_the_first_problem() {
    use ParseGuidError::*;
    let cases: &[(&str, ParseGuidError)] = &[
        ("", InvalidLength { len: 0 }),
        ("{}", InvalidLength { len: 2 }),
        (
            "6B29FC40-CA47-1067-B31D-00DD010662D",
            InvalidLength { len: 35 },
        ),
        (
            "{6B29FC40-CA47-1067-B31D-00DD010662DA",
            InvalidLength { len: 37 },
        ),
        (
            "6B29FC40-CA47-1067-B31D-00DD010662DA}",
            InvalidLength { len: 37 },
        ),
        (
            "6B29FC4G-CA47-1067-B31D-00DD010662DA",
            InvalidCharacter {
                index: 7,
                found: 'G',
                expected: "a hex digit",
            },
        ),
        (
            "6B29FC40:CA47-1067-B31D-00DD010662DA",
            InvalidCharacter {
                index: 8,
                found: ':',
                expected: "'-'",
            },
        ),
        (
            "6B29FC40-CA47-1067-B31D000DD010662DA",
            InvalidCharacter {
                index: 23,
                found: '0',
                expected: "'-'",
            },
        ),
        (
            "[6B29FC40-CA47-1067-B31D-00DD010662DA]",
            InvalidCharacter {
                index: 0,
                found: '[',
                expected: "'{'",
            },
        ),
        (
            "{6B29FC40-CA47-1067-B31D-00DD010662DA]",
            InvalidCharacter {
                index: 37,
                found: ']',
                expected: "'}'",
            },
        ),
        // Both a bad body and a bad closing brace: the body comes first.
        (
            "{6B29FC40-CA47-1067-B31D-00DD010662DX]",
            InvalidCharacter {
                index: 36,
                found: 'X',
                expected: "a hex digit",
            },
        ),
        (
            "{6B29FC40-CA47-1067-B31D-00DD010662DA}".trim_start_matches('{'),
            InvalidLength { len: 37 },
        ),
        // 36 bytes of multi-byte characters.
        (
            "€€€€€€€€€€€€",
            InvalidCharacter {
                index: 0,
                found: '€',
                expected: "a hex digit",
            },
        ),
        (
            "6B29FC40-CA47-1067-B31D-00DD010662é",
            InvalidCharacter {
                index: 34,
                found: 'é',
                expected: "a hex digit",
            },
        ),
        (
            " 6B29FC40-CA47-1067-B31D-00DD010662D",
            InvalidCharacter {
                index: 0,
                found: ' ',
                expected: "a hex digit",
            },
        ),
        (
            "+B29FC40-CA47-1067-B31D-00DD010662DA",
            InvalidCharacter {
                index: 0,
                found: '+',
                expected: "a hex digit",
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(GUID::parse(input), Err(*want), "input {input:?}");
        let message = want.to_string();
        assert!(!message.is_empty());
    }
    assert_eq!(
        GUID::parse("x").map_err(|e| e.to_string()),
        Err("invalid GUID string length 1: expected 36 bytes, or 38 with braces".to_string())
    );
    assert_eq!(
        GUID::parse("6B29FC4G-CA47-1067-B31D-00DD010662DA").map_err(|e| e.to_string()),
        Err("invalid character 'G' at byte 7 of GUID string: expected a hex digit".to_string())
    );
    let err: Box<dyn std::error::Error> = Box::new(ParseGuidError::InvalidLength { len: 3 });
    assert!(err.to_string().contains('3'));
}

#[test]
fn const_construction() {
    const A: GUID = GUID::from_str_const("{00000000-0000-0000-C000-000000000046}");
    const B: GUID = GUID::from_str_const("6b29fc40-ca47-1067-b31d-00dd010662da");
    static TABLE: [IID; 2] = [A, B];
    assert_eq!(A, IUNKNOWN);
    assert_eq!(B, SAMPLE);
    assert_eq!(TABLE[1], SAMPLE);
    assert_eq!(guid!("00000001-0000-0000-C000-000000000046"), ICLASSFACTORY);
    assert_eq!(guid!("{6B29FC40-CA47-1067-B31D-00DD010662DA}"), SAMPLE);
}

#[test]
#[should_panic(expected = "malformed GUID string")]
fn const_constructor_panics_at_run_time_on_bad_input() {
    let text = String::from("not a guid");
    let _ = GUID::from_str_const(&text);
}

#[test]
fn uuid_interop() {
    let u = uuid::Uuid::parse_str(SAMPLE_TEXT).expect("valid uuid text");
    let g: GUID = u.into();
    assert_eq!(g, SAMPLE);
    assert_eq!(
        g.to_string_no_braces(),
        u.hyphenated().to_string().to_uppercase()
    );
    let back: uuid::Uuid = SAMPLE.into();
    assert_eq!(back, u);
    assert_eq!(back.to_string(), SAMPLE_TEXT.to_lowercase());
    assert_eq!(
        back.as_fields(),
        (SAMPLE.data1, SAMPLE.data2, SAMPLE.data3, &SAMPLE.data4)
    );
    assert_eq!(back.to_bytes_le(), SAMPLE.to_bytes_le());
    let iunknown: uuid::Uuid = IUNKNOWN.into();
    assert_eq!(iunknown.to_string(), IUNKNOWN_TEXT.to_lowercase());
    assert_eq!(GUID::from(iunknown), IUNKNOWN);
}

#[test]
fn random_guids_are_version_4() {
    let mut seen = HashSet::new();
    for _ in 0..1000 {
        let g = GUID::new_v4();
        assert_eq!(g.data3 >> 12, 4, "version nibble of {g}");
        assert_eq!(g.data4[0] & 0xC0, 0x80, "variant bits of {g}");
        assert!(seen.insert(g), "duplicate random GUID {g}");
        assert_eq!(uuid::Uuid::from(g).get_version_num(), 4);
    }
    assert!(GUID::try_new_v4().is_ok());
}

#[test]
fn ordering_and_hashing_are_usable() {
    let mut v = vec![SAMPLE, IUNKNOWN, ICLASSFACTORY];
    v.sort();
    assert_eq!(v, [IUNKNOWN, ICLASSFACTORY, SAMPLE]);
    let set: HashSet<GUID> = v.into_iter().collect();
    assert!(set.contains(&IUNKNOWN));
}

/// Checks the parser's contract for one input: never panics, the error (if
/// any) is precise, and success round-trips.
fn check_input(s: &str) {
    match GUID::parse(s) {
        Ok(g) => {
            assert!(s.len() == 36 || s.len() == 38, "{s:?}");
            assert_eq!(
                g.to_string_no_braces(),
                s.trim_matches(['{', '}']).to_uppercase()
            );
        }
        Err(ParseGuidError::InvalidLength { len }) => {
            assert_eq!(len, s.len());
            assert!(len != 36 && len != 38, "{s:?}");
        }
        Err(ParseGuidError::InvalidCharacter { index, found, .. }) => {
            assert!(s.is_char_boundary(index), "{s:?} at {index}");
            assert_eq!(s[index..].chars().next(), Some(found), "{s:?}");
            assert!(s[..index].is_ascii(), "{s:?}");
        }
    }
}

#[test]
fn parse_never_panics_on_random_input() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let alphabet: Vec<char> = "0123456789abcdefABCDEFgG-{}() \0\u{7f}é€😀\u{FFFD}"
        .chars()
        .collect();
    for i in 0..10_000 {
        let s = match i % 3 {
            // Random bytes (lossily made UTF-8) of lengths around the real ones.
            0 => {
                let len = rng.below(48);
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            // Random characters from a GUID-ish alphabet.
            1 => {
                let len = 30 + rng.below(12);
                (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect()
            }
            // A valid GUID with one character replaced.
            _ => {
                let mut chars: Vec<char> =
                    GUID::from_u128(u128::from(rng.next()) << 64 | u128::from(rng.next()))
                        .to_string()
                        .chars()
                        .collect();
                let at = rng.below(chars.len());
                chars[at] = alphabet[rng.below(alphabet.len())];
                let s: String = chars.into_iter().collect();
                if rng.below(2) == 0 {
                    s.trim_matches(['{', '}']).to_string()
                } else {
                    s
                }
            }
        };
        check_input(&s);
    }
}
