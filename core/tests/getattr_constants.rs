//! `getattr(Class, 'NAME')` is how Python 3.12+ pickles enum members: ordinary when the name is
//! a public constant of a class the policy judged, dangerous as soon as anything else happens.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use modelsieve_core::{Policy, Severity, Verdict, scan_bytes};

fn policy() -> Policy {
    Policy::from_json(r#"{"allow":["mypkg.Color"]}"#).expect("policy")
}

#[test]
fn enum_member_lookup_is_info() {
    let report = scan_bytes(
        b"\x80\x04cbuiltins\ngetattr\ncmypkg\nColor\n\x8c\x03RED\x86R.",
        &policy(),
    );
    assert_eq!(report.verdict, Verdict::Clean, "{:?}", report.findings);
    assert!(report.findings.iter().all(|f| f.severity == Severity::Info));
    assert!(
        !report.findings.is_empty(),
        "the getattr import is still mentioned"
    );
}

#[test]
fn calling_the_looked_up_constant_is_not_ordinary() {
    let report = scan_bytes(
        b"\x80\x04cbuiltins\ngetattr\ncmypkg\nColor\n\x8c\x04open\x86R)R.",
        &policy(),
    );
    assert_eq!(report.verdict, Verdict::Dangerous, "{:?}", report.findings);
}

#[test]
fn private_names_modules_and_computed_names_are_not_constants() {
    for pickle in [
        &b"\x80\x04cbuiltins\ngetattr\ncmypkg\nColor\n\x8c\x08__init__\x86R."[..],
        b"\x80\x04cbuiltins\ngetattr\ncos\nsystem\n\x8c\x03foo\x86R.",
        b"\x80\x04cbuiltins\ngetattr\ncmypkg\nColor\nK\x01\x86R.",
    ] {
        let report = scan_bytes(pickle, &policy());
        assert_eq!(report.verdict, Verdict::Dangerous, "{:?}", report.findings);
    }
}

#[test]
fn getattr_passed_on_is_not_ordinary() {
    // getattr(Color, 'RED') and then getattr itself handed to partial().
    let report = scan_bytes(
        b"\x80\x04cbuiltins\ngetattr\nq\x00cmypkg\nColor\n\x8c\x03RED\x86R0cfunctools\npartial\nh\x00\x85R.",
        &policy(),
    );
    assert_eq!(report.verdict, Verdict::Dangerous, "{:?}", report.findings);
}
