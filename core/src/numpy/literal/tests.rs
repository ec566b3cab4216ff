//! The literal parser against what `ast.literal_eval` accepts and refuses.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::{Encoding, Kind, Lit, LitError, Options, parse};

#[test]
fn literal_parser() {
    let opts = Options {
        encoding: Encoding::Latin1,
        python2_longs: false,
    };
    let parse_str = |s: &str| parse(s.as_bytes(), opts);
    let kind = |s: &str| parse_str(s).map(|l| l.kind);
    assert_eq!(kind("(3,)"), Ok(Kind::Tuple(vec![lit_int(3, 1, 2)])));
    assert_eq!(kind("()"), Ok(Kind::Tuple(Vec::new())));
    assert!(matches!(kind("(3)"), Ok(Kind::Int(Some(3)))));
    assert!(matches!(kind("-0b1_01"), Ok(Kind::Int(Some(-5)))));
    assert!(matches!(kind("0o17"), Ok(Kind::Int(Some(15)))));
    assert!(matches!(kind("99999999999999999999"), Ok(Kind::Int(None))));
    assert!(matches!(kind("1.5e3"), Ok(Kind::Float)));
    assert!(matches!(kind("2j"), Ok(Kind::Complex)));
    assert!(matches!(kind("..."), Ok(Kind::Ellipsis)));
    assert!(matches!(kind("set()"), Ok(Kind::Set(v)) if v.is_empty()));
    assert!(matches!(kind("{1, 2}"), Ok(Kind::Set(v)) if v.len() == 2));
    assert!(matches!(kind("b'x' b'y'"), Ok(Kind::Bytes)));
    assert_eq!(
        kind("'a\\tb' \"c\\x41\" r'\\d'"),
        Ok(Kind::Str(String::from("a\tbcA\\d")))
    );
    assert_eq!(
        kind("'\\101\\u00e9'"),
        Ok(Kind::Str(String::from("A\u{e9}")))
    );
    assert_eq!(kind("'\\q'"), Ok(Kind::Str(String::from("\\q"))));
    assert!(matches!(kind("1, 2,"), Ok(Kind::Tuple(v)) if v.len() == 2));
    for bad in [
        "",
        "(,)",
        "[1,,2]",
        "1__0",
        "1_",
        "0x",
        "0b2",
        "07",
        "'abc",
        "'a\nb'",
        "ur'x'",
        "--1",
        "-True",
        "'a' b'b'",
        "'\\x4'",
        "abc",
        "(1 2)",
        "{1: 2, 3}",
        "1e",
        "3L",
    ] {
        assert!(
            matches!(parse_str(bad), Err(LitError::Invalid { .. })),
            "{bad:?}: {:?}",
            parse_str(bad)
        );
    }
    for unsupported in ["1+2j", "-(3)", "'\\N{DIGIT ONE}'", "'\\ud800'"] {
        assert!(
            matches!(parse_str(unsupported), Err(LitError::Unsupported { .. })),
            "{unsupported:?}: {:?}",
            parse_str(unsupported)
        );
    }
    let deep = format!("{}{}", "(".repeat(40), ")".repeat(40));
    assert!(matches!(parse_str(&deep), Err(LitError::TooDeep { .. })));
    let longs = Options {
        python2_longs: true,
        ..opts
    };
    assert!(matches!(
        parse(b"(3L, 4 L)", longs).map(|l| l.kind),
        Ok(Kind::Tuple(v)) if v.len() == 2
    ));
}

fn lit_int(n: i64, start: usize, end: usize) -> Lit {
    Lit {
        kind: Kind::Int(Some(n)),
        start,
        end,
    }
}
