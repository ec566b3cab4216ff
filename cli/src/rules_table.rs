//! `modelsieve rules`: the rule catalogue as a table.

use std::io::{self, Write};

use modelsieve_core::Rule;

/// Writes one row per rule: id, default severity, summary, under a header.
pub(crate) fn write(out: &mut dyn Write) -> io::Result<()> {
    let width = Rule::ALL
        .iter()
        .map(|rule| rule.id().len())
        .max()
        .unwrap_or(0)
        .max("RULE".len());
    writeln!(out, "{:<width$}  {:<8}  SUMMARY", "RULE", "SEVERITY")?;
    for rule in Rule::ALL {
        writeln!(
            out,
            "{:<width$}  {:<8}  {}",
            rule.id(),
            rule.default_severity().as_str(),
            rule.summary()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_rule_plus_header() {
        let mut out = Vec::new();
        write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), Rule::ALL.len() + 1);
        assert!(text.contains("pickle.dangerous-global"));
    }
}
