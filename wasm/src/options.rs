//! Options as JavaScript passes them, checked in plain Rust so the rules are testable natively.

use modelsieve_core::{Policy, Severity};

/// Largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
pub(crate) const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// The threshold the CLI's `--fail-on` defaults to.
pub(crate) const DEFAULT_FAIL_ON: Severity = Severity::Medium;

/// A byte offset or size given as a JavaScript number: a whole number in `0..=2^53-1`.
pub(crate) fn byte_count(what: &str, value: f64) -> Result<u64, String> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= MAX_SAFE_INTEGER {
        // Exact: a whole number no larger than 2^53 - 1 converts without rounding.
        Ok(value as u64)
    } else {
        Err(format!(
            "{what} must be a whole number of bytes between 0 and 2^53-1, got {value}"
        ))
    }
}

/// A byte offset or size as a JavaScript number. Counts past 2^53 (8 PiB) are not files anyone
/// scans; they are clamped rather than rounded silently.
pub(crate) fn to_number(value: u64) -> f64 {
    value.min(MAX_SAFE_INTEGER as u64) as f64
}

/// The `failOn` option: a severity name (`info` … `critical`), `medium` when absent.
pub(crate) fn fail_on(name: Option<&str>) -> Result<Severity, String> {
    match name {
        None => Ok(DEFAULT_FAIL_ON),
        Some(name) => Severity::parse(name).ok_or_else(|| {
            format!("failOn must be one of info, low, medium, high, critical; got {name:?}")
        }),
    }
}

/// The `policy` option as policy JSON text (the CLI's `--policy` file); the default policy when
/// absent.
pub(crate) fn policy(json: Option<&str>) -> Result<Policy, String> {
    match json {
        None => Ok(Policy::default()),
        Some(text) => Policy::from_json(text).map_err(|error| error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn byte_counts_are_whole_safe_numbers() {
        assert_eq!(byte_count("offset", 0.0), Ok(0));
        assert_eq!(byte_count("offset", 65536.0), Ok(65536));
        assert_eq!(
            byte_count("size", MAX_SAFE_INTEGER),
            Ok(9_007_199_254_740_991)
        );
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, MAX_SAFE_INTEGER + 2.0] {
            assert!(byte_count("offset", bad).is_err(), "{bad}");
        }
        assert!(
            byte_count("offset", -1.0)
                .unwrap_err()
                .starts_with("offset must be")
        );
    }

    #[test]
    fn numbers_round_trip_and_clamp() {
        assert_eq!(to_number(12), 12.0);
        assert_eq!(to_number(u64::MAX), MAX_SAFE_INTEGER);
    }

    #[test]
    fn fail_on_defaults_to_medium_and_rejects_unknown_names() {
        assert_eq!(fail_on(None), Ok(Severity::Medium));
        assert_eq!(fail_on(Some("critical")), Ok(Severity::Critical));
        assert!(fail_on(Some("HIGH")).is_err());
        assert!(fail_on(Some("")).unwrap_err().contains("failOn"));
    }

    #[test]
    fn policies_parse_like_the_cli() {
        let policy = policy(Some(r#"{"severity": {"pickle.unknown-global": "low"}}"#)).unwrap();
        assert_eq!(
            policy.severity(modelsieve_core::Rule::PickleUnknownGlobal, Severity::Medium),
            Severity::Low
        );
        assert!(
            super::policy(Some("{\"nonsense\": 1}"))
                .unwrap_err()
                .contains("invalid policy")
        );
        assert!(super::policy(None).is_ok());
    }
}
