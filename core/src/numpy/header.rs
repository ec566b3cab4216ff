//! The header dictionary, checked as `numpy.lib.format._read_array_header` and `read_array`
//! check it, and what `numpy.load` then does with the bytes after it.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::dtype::{self, DescrError, Dtype};
use super::literal::{self, Encoding, Kind, Lit, LitError, Options};
use super::shown;
use crate::report::Severity;
use crate::rules::Rule;

/// numpy refuses longer headers (in characters) unless `max_header_size` is raised or
/// `allow_pickle=True` is passed, which lifts the limit.
pub(super) const NUMPY_MAX_HEADER: u64 = 10_000;

/// The keys numpy requires, exactly, in the order its messages sort them.
const KEYS: [&str; 3] = ["descr", "fortran_order", "shape"];

/// Extra keys a finding names before it only counts the rest.
const MAX_LISTED_KEYS: usize = 3;

/// Bytes of header text taken for an excerpt around a problem.
const EXCERPT_BYTES: usize = 40;

/// What `numpy.load` does with the bytes after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Then {
    /// Reads `bytes` of raw array data.
    Raw {
        /// Item size × item count.
        bytes: u64,
    },
    /// Unpickles them. `certain` is false when numpy might instead fail at the header, or when
    /// modelsieve could not read the header well enough to rule a pickle out.
    Pickle {
        /// The header is valid and its dtype holds objects.
        certain: bool,
    },
    /// Nothing: numpy fails at the header.
    Nothing,
}

/// One thing wrong with the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    /// `numpy.malformed-header`, or `scan.limit-reached` when modelsieve stopped reading.
    pub(super) rule: Rule,
    /// How bad it is.
    pub(super) severity: Severity,
    /// Byte offset in the header text.
    pub(super) at: usize,
    /// What is wrong, for a person.
    pub(super) message: String,
    /// A short excerpt of the header, or the key concerned.
    pub(super) evidence: String,
}

/// The outcome of reading a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reading {
    /// What numpy does next.
    pub(super) then: Then,
    /// What is wrong, in the order numpy would trip over it.
    pub(super) problems: Vec<Problem>,
}

/// The header's format version, which decides its encoding and Python 2 leniency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Version {
    /// 1, 2 or 3.
    pub(super) major: u8,
}

/// Checks the header `text` of a file of format `version`.
pub(super) fn read(text: &[u8], version: Version) -> Reading {
    let mut reader = HeaderReader {
        text,
        encoding: if version.major >= 3 {
            Encoding::Utf8
        } else {
            Encoding::Latin1
        },
        problems: Vec::new(),
    };
    let then = reader.check(version);
    let chars = match reader.encoding {
        Encoding::Latin1 => text.len(),
        Encoding::Utf8 => text.iter().filter(|&&b| b & 0xc0 != 0x80).count(),
    } as u64;
    if chars > NUMPY_MAX_HEADER {
        // A note, not a fault: numpy writes such headers itself (a structured dtype with
        // thousands of fields), and `allow_pickle=True`, which object arrays need anyway,
        // lifts the limit.
        reader.problems.push(Problem {
            rule: Rule::NumpyMalformedHeader,
            severity: Severity::Low,
            at: 0,
            message: format!(
                "the header is {chars} characters long; numpy.load refuses headers over {NUMPY_MAX_HEADER} characters unless max_header_size is raised or allow_pickle=True is passed"
            ),
            evidence: format!("header length {chars}"),
        });
    }
    Reading {
        then,
        problems: reader.problems,
    }
}

/// Checks one header, collecting its problems.
struct HeaderReader<'a> {
    /// The header bytes.
    text: &'a [u8],
    /// How the header's bytes decode.
    encoding: Encoding,
    /// What is wrong so far.
    problems: Vec<Problem>,
}

impl HeaderReader<'_> {
    /// Records a `numpy.malformed-header` problem at `at`.
    fn malformed(&mut self, at: usize, message: String, evidence: String) {
        self.problems.push(Problem {
            rule: Rule::NumpyMalformedHeader,
            severity: Severity::Medium,
            at,
            message,
            evidence,
        });
    }

    /// The source text of `lit`, shortened.
    fn quote(&self, lit: &Lit) -> String {
        excerpt(self.text, lit.start, lit.end, self.encoding)
    }

    /// Decodes, parses and checks the header in numpy's order, and says what follows it.
    fn check(&mut self, version: Version) -> Then {
        if self.encoding == Encoding::Utf8
            && let Err(e) = core::str::from_utf8(self.text)
        {
            let at = e.valid_up_to();
            self.malformed(
                at,
                format!("the format 3.0 header is not valid UTF-8 (byte {at} of the header); numpy.load fails decoding it"),
                excerpt(self.text, at, at.saturating_add(8), Encoding::Latin1),
            );
            return Then::Nothing;
        }
        let options = Options {
            encoding: self.encoding,
            python2_longs: version.major <= 2,
        };
        let top = match literal::parse(self.text, options) {
            Ok(top) => top,
            Err(e) => return self.unparsed(e),
        };
        let Kind::Dict(pairs) = &top.kind else {
            self.malformed(
                top.start,
                format!(
                    "the header is a {}, not a dict; numpy.load fails",
                    top.kind.type_name()
                ),
                self.quote(&top),
            );
            return Then::Nothing;
        };
        let mut valid = true;
        let values = self.keys(pairs, &mut valid);
        let [descr, fortran_order, shape] = values;
        let dims = shape.and_then(|s| self.shape(s));
        valid &= shape.is_none() || dims.is_some();
        if let Some(f) = fortran_order
            && !matches!(f.kind, Kind::Bool(_))
        {
            valid = false;
            self.malformed(
                f.start,
                format!(
                    "fortran_order must be True or False, not a {}; numpy.load fails",
                    f.kind.type_name()
                ),
                self.quote(f),
            );
        }
        let Some(descr) = descr else {
            return Then::Nothing;
        };
        match dtype::descr_to_dtype(descr) {
            Ok(dt) if dt.objects => Then::Pickle { certain: valid },
            Ok(_) if !valid => Then::Nothing,
            Ok(dt) => match dims {
                Some(dims) => self.data_bytes(&dims, dt, shape),
                None => Then::Nothing,
            },
            Err(DescrError::Invalid(why)) => {
                self.malformed(
                    descr.start,
                    format!("descr is not a dtype numpy accepts: {why}; numpy.load fails"),
                    self.quote(descr),
                );
                Then::Nothing
            }
            Err(DescrError::Unknown(why)) => {
                self.malformed(
                    descr.start,
                    format!("modelsieve cannot tell what dtype descr describes ({why}); if numpy accepts it, it may hold objects, so the data after the header was scanned as a possible pickle"),
                    self.quote(descr),
                );
                Then::Pickle { certain: false }
            }
        }
    }

    /// Reports a header that is not a literal modelsieve can read.
    fn unparsed(&mut self, error: LitError) -> Then {
        match error {
            LitError::Invalid { at, what } => {
                self.malformed(
                    at,
                    format!("the header is not a Python literal: {what} at byte {at} of the header; numpy.load fails parsing it"),
                    excerpt(self.text, at, at.saturating_add(EXCERPT_BYTES), self.encoding),
                );
                Then::Nothing
            }
            LitError::Unsupported { at, what } => {
                self.malformed(
                    at,
                    format!("the header uses Python syntax modelsieve does not interpret ({what}, at byte {at} of the header); numpy may accept it, so the data after the header was scanned as a possible pickle"),
                    excerpt(self.text, at, at.saturating_add(EXCERPT_BYTES), self.encoding),
                );
                Then::Pickle { certain: false }
            }
            LitError::TooDeep { at } => {
                self.problems.push(Problem {
                    rule: Rule::ScanLimitReached,
                    severity: Severity::Medium,
                    at,
                    message: format!("the header nests containers deeper than {} levels, which modelsieve does not read; the data after the header was scanned as a possible pickle", literal::MAX_DEPTH),
                    evidence: excerpt(self.text, at, at.saturating_add(EXCERPT_BYTES), self.encoding),
                });
                Then::Pickle { certain: false }
            }
        }
    }

    /// The values of `descr`, `fortran_order` and `shape` as numpy sees them (the last of
    /// repeated keys), reporting missing, extra and repeated keys.
    fn keys<'l>(&mut self, pairs: &'l [(Lit, Lit)], valid: &mut bool) -> [Option<&'l Lit>; 3] {
        let mut values: [Option<&Lit>; 3] = [None; 3];
        // Bounded lists: a hostile header can repeat a key or add keys by the hundred thousand.
        let mut extra: Vec<String> = Vec::new();
        let mut extra_count = 0usize;
        // For each key: its first value, and where it is first given again.
        let mut firsts: [Option<&Lit>; 3] = [None; 3];
        let mut repeat_at: [Option<usize>; 3] = [None; 3];
        for (key, value) in pairs {
            let slot = match &key.kind {
                Kind::Str(k) => KEYS.iter().position(|want| want == k),
                _ => None,
            };
            let Some(slot) = slot else {
                if extra.len() < MAX_LISTED_KEYS {
                    extra.push(self.quote(key));
                }
                extra_count += 1;
                continue;
            };
            if let (Some(first), Some(at)) = (firsts.get_mut(slot), repeat_at.get_mut(slot)) {
                if first.is_none() {
                    *first = Some(value);
                } else if at.is_none() {
                    *at = Some(key.start);
                }
            }
            if let Some(v) = values.get_mut(slot) {
                *v = Some(value);
            }
        }
        // numpy keeps the last value of a repeated key (a dict literal does); other readers
        // may keep the first, and then the two disagree about the array.
        for ((name, at), (first, last)) in KEYS
            .iter()
            .zip(repeat_at)
            .zip(firsts.iter().zip(values.iter()))
        {
            if let (Some(at), Some(first), Some(last)) = (at, first, last) {
                let (first, last) = (self.quote(first), self.quote(last));
                self.malformed(
                    at,
                    format!("the header gives '{name}' more than once; numpy uses the last value ({last}), a reader that takes the first sees {first}"),
                    String::from(*name),
                );
            }
        }
        let missing: Vec<&str> = KEYS
            .iter()
            .zip(values.iter())
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| *k)
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            *valid = false;
            let mut what = Vec::new();
            if !missing.is_empty() {
                what.push(format!("lacks {}", quoted_list(&missing)));
            }
            if !extra.is_empty() {
                let more = match extra_count - extra.len() {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                what.push(format!("has the extra key(s) {}{more}", extra.join(", ")));
            }
            self.malformed(
                0,
                format!(
                    "the header dict must have exactly the keys 'descr', 'fortran_order' and 'shape'; it {}; numpy.load fails",
                    what.join(" and ")
                ),
                format!(
                    "keys: missing [{}] extra [{}{}]",
                    missing.join(", "),
                    extra.join(", "),
                    if extra_count > extra.len() { ", …" } else { "" }
                ),
            );
        }
        values
    }

    /// The dimensions of a valid shape (a tuple of ints; `True` and `False` pass numpy's
    /// `isinstance(x, int)` check), or `None` after reporting an invalid one.
    fn shape(&mut self, shape: &Lit) -> Option<Vec<Dim>> {
        let dims = match &shape.kind {
            Kind::Tuple(items) => items
                .iter()
                .map(|item| match item.kind {
                    Kind::Int(n) => Some(Dim::Int(n)),
                    Kind::Bool(_) => Some(Dim::Bool),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>(),
            _ => None,
        };
        if dims.is_none() {
            let what = match &shape.kind {
                Kind::Tuple(_) => "a tuple with an item that is not an int",
                other => other.type_name(),
            };
            self.malformed(
                shape.start,
                format!("shape must be a tuple of ints, not {what}; numpy.load fails"),
                self.quote(shape),
            );
        }
        dims
    }

    /// How many bytes a numeric array of `dims` items of `dt` occupies; reports shapes numpy
    /// cannot load (it counts items in int64, failing on negative or overflowing counts, and
    /// then reshapes the data it read to the header's shape).
    fn data_bytes(&mut self, dims: &[Dim], dt: Dtype, shape: Option<&Lit>) -> Then {
        let (at, evidence) = shape.map_or((0, String::new()), |s| (s.start, self.quote(s)));
        let fail = |this: &mut Self, message: String| {
            this.malformed(at, message, evidence.clone());
            Then::Nothing
        };
        if dims.len() > dtype::MAX_DIMS {
            return fail(
                self,
                format!(
                    "shape has {} dimensions; numpy arrays have at most {}, so numpy.load fails",
                    dims.len(),
                    dtype::MAX_DIMS
                ),
            );
        }
        if dims.contains(&Dim::Bool) {
            return fail(
                self,
                String::from(
                    "shape holds a bool, which numpy.load cannot reshape the data to; it fails for an array that is not an object array",
                ),
            );
        }
        let ints: Vec<Option<i64>> = dims
            .iter()
            .map(|d| match d {
                Dim::Int(n) => *n,
                Dim::Bool => Some(0),
            })
            .collect();
        if ints.iter().any(|d| d.is_some_and(|d| d < 0)) {
            return fail(
                self,
                String::from(
                    "shape has a negative dimension; numpy.load fails for an array that is not an object array",
                ),
            );
        }
        let count = ints
            .iter()
            .try_fold(1i64, |acc, d| d.and_then(|d| acc.checked_mul(d)));
        let Some(count) = count else {
            return fail(
                self,
                String::from("shape counts more items than an int64 holds; numpy.load fails"),
            );
        };
        if dt.elements != 1 && count != 0 {
            return fail(
                self,
                format!(
                    "descr is a subarray of {} elements, which numpy.load folds into the array's shape, so the array it reads does not have the {count} items the shape says; numpy.load fails",
                    dt.elements
                ),
            );
        }
        let itemsize = dt.itemsize;
        match count.unsigned_abs().checked_mul(itemsize) {
            Some(bytes) => Then::Raw { bytes },
            None => fail(
                self,
                format!(
                    "the array needs {count} items of {itemsize} bytes, more bytes than any file holds; numpy.load fails"
                ),
            ),
        }
    }
}

/// One dimension of the header's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dim {
    /// An int (`None` past `i64`).
    Int(Option<i64>),
    /// `True` or `False`, which pass numpy's type check but not its reshape.
    Bool,
}

/// `'a', 'b'`.
fn quoted_list(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
    quoted.join(", ")
}

/// Header bytes `start..end` as text, made safe to show by [`shown`].
pub(super) fn excerpt(text: &[u8], start: usize, end: usize, encoding: Encoding) -> String {
    // Four bytes per character at most: enough for what `shown` keeps of a long value.
    let end = end.min(start.saturating_add(4 * EXCERPT_BYTES + 4));
    let bytes = text
        .get(start.min(text.len())..end.min(text.len()))
        .unwrap_or_default();
    let decoded: String = match encoding {
        Encoding::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
        Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
    };
    shown(&decoded)
}
