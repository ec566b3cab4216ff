//! How the HDF5 walk reports what it cannot read: broken structure and checksums
//! ([`Rule::Hdf5Malformed`]), and ranges refused by the one-pass rules or the budgets.

use alloc::format;
use alloc::string::String;

use super::regions::{MAX_REGION, MAX_TOTAL, Refused, WINDOW};
use super::walk::Ctx;
use crate::findings::Findings;
use crate::rules::Rule;

/// Reports a range that cannot be read.
pub(super) fn refused(findings: &mut Findings, what: &str, start: u64, len: u64, why: Refused) {
    match why {
        Refused::Behind(position) => malformed(
            findings,
            start,
            format!(
                "{what} at offset {start} lies in bytes the reader had already passed (it was at offset {position}, beyond the first {} KiB it keeps); modelsieve reads an HDF5 file in one forward pass and did not read it",
                WINDOW >> 10
            ),
            "backward pointer",
        ),
        Refused::TooLong => {
            findings.rule(
                Rule::ScanLimitReached,
                None,
                Some(start),
                format!("{what} at offset {start} spans {len} bytes; modelsieve reads at most {} MiB per HDF5 structure", MAX_REGION >> 20),
                Some(String::from("hdf5 structure size")),
            );
        }
        Refused::Budget => {
            findings.rule(
                Rule::ScanLimitReached,
                None,
                Some(start),
                format!("{what} at offset {start} was not read: the HDF5 structures read reach the {} MiB budget", MAX_TOTAL >> 20),
                Some(String::from("hdf5 read budget")),
            );
        }
    }
}

/// Reports a checksum that libhdf5 would reject.
pub(super) fn checksum(ctx: &mut Ctx<'_, '_>, what: &str, at: u64) {
    malformed(
        ctx.findings,
        at,
        format!(
            "the checksum of {what} at offset {at} does not match its bytes; libhdf5 refuses to read it (modelsieve judged it anyway)"
        ),
        "checksum mismatch",
    );
}

/// Reports broken or unread HDF5 structure.
pub(super) fn malformed(findings: &mut Findings, at: u64, message: String, evidence: &str) {
    findings.rule(
        Rule::Hdf5Malformed,
        None,
        Some(at),
        message,
        Some(String::from(evidence)),
    );
}
