//! What numpy makes of a header's `descr`: the size of one item and whether items hold Python
//! objects (numpy then pickles the whole array, and `numpy.load` unpickles it).
//!
//! This follows `numpy.lib.format.descr_to_dtype` and the `numpy.dtype` constructor it calls
//! (`_convert_from_tuple`, `_try_convert_from_inherit_tuple`, and for strings [`typestr`]), as
//! of numpy 2.4 on a 64-bit little-endian platform with 16-byte `long double` (x86-64 Linux,
//! where `l` is 8 bytes and `f16` exists). Sizes that differ on other platforms only change
//! the data-length check; a dtype that numpy might accept but this module does not model is
//! reported as [`DescrError::Unknown`], so the caller never assumes it holds no objects.

#[cfg(test)]
mod tests;
/// Type strings (`'<f8'`, `'i4,O'`).
mod typestr;

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use self::typestr::from_str;
use super::literal::{Kind, Lit};
use super::shown;

/// numpy keeps item sizes and subarray dimensions in a C `int`.
const MAX_ITEMSIZE: u64 = i32::MAX as u64;

/// Most dimensions numpy 2 allows an array or subarray (`NPY_MAXDIMS`).
pub(super) const MAX_DIMS: usize = 64;

/// How deeply descriptors may nest (structured in structured, comma strings in fields).
const MAX_DEPTH: usize = 64;

/// The parts of a dtype that decide how `numpy.load` reads the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Dtype {
    /// Bytes per item.
    pub(super) itemsize: u64,
    /// Whether items hold Python objects (`dtype.hasobject`).
    pub(super) objects: bool,
    /// Elements per item when the dtype is a subarray (`('<f4', (2, 3))` has 6), else 1.
    /// numpy expands a top-level subarray into the array's shape, so the loaded array then has
    /// this many times the items the header's shape counts, and `numpy.load` fails.
    pub(super) elements: u64,
    /// What sort of type it is, which decides what numpy's tuple forms do with it.
    form: Form,
}

/// The sorts of dtype numpy's `(base, second)` tuples and padding rules tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// A fixed-size scalar: a number, `S5`, `U3`, a datetime.
    Plain,
    /// `S`, `U` or `V` given without a size (`'S'`, `'U0'`, `'void'`), with its kind letter.
    Sizeless(u8),
    /// Raw bytes of a fixed size (`V8`), or a void view of another type (`('V', 'O')`).
    Void,
    /// The Python object type `O`.
    Object,
    /// numpy 2's `StringDType` (`T`): its strings live outside the array, so numpy pickles
    /// such arrays, and as a new-style dtype it takes no part in views.
    StringDType,
    /// A subarray, which numpy makes a void type wrapping its base.
    Subarray,
    /// Named fields.
    Structured {
        /// Exactly one field, of type `O`: the only thing numpy lets an `O` be viewed as.
        single_object: bool,
    },
    /// A non-void type viewed with another type's fields (`('O', [('a', 'O')])`).
    View,
}

impl Dtype {
    /// The Python object type.
    const OBJECT: Dtype = Dtype {
        itemsize: 8,
        objects: true,
        elements: 1,
        form: Form::Object,
    };

    /// numpy 2's `StringDType`.
    const STRING_DTYPE: Dtype = Dtype {
        itemsize: 16,
        objects: true,
        elements: 1,
        form: Form::StringDType,
    };

    /// A fixed-size scalar without objects.
    const fn plain(itemsize: u64) -> Dtype {
        Dtype {
            itemsize,
            objects: false,
            elements: 1,
            form: Form::Plain,
        }
    }

    /// A flexible type (`S`, `U` or `V`) without a size.
    const fn sizeless(kind: u8) -> Dtype {
        Dtype {
            itemsize: 0,
            objects: false,
            elements: 1,
            form: Form::Sizeless(kind),
        }
    }

    /// Raw bytes.
    const fn void(itemsize: u64) -> Dtype {
        Dtype {
            itemsize,
            objects: false,
            elements: 1,
            form: Form::Void,
        }
    }

    /// Named fields.
    const fn structured(itemsize: u64, objects: bool, single_object: bool) -> Dtype {
        Dtype {
            itemsize,
            objects,
            elements: 1,
            form: Form::Structured { single_object },
        }
    }

    /// numpy's unsized types (`PyDataType_ISUNSIZED`: no bytes and no fields), which take a
    /// size rather than a shape in a tuple, with the kind letter that says how that size
    /// counts: `S`, `U` or `V` written without a size, and any zero-size subarray or void.
    fn sizeless_kind(&self) -> Option<u8> {
        if self.itemsize != 0 {
            return None;
        }
        match self.form {
            Form::Sizeless(kind) => Some(kind),
            Form::Void | Form::Subarray => Some(b'V'),
            Form::Plain => Some(b'S'),
            Form::Object | Form::StringDType | Form::Structured { .. } | Form::View => None,
        }
    }

    /// Whether this is exactly the object type `O`.
    fn is_object(&self) -> bool {
        self.form == Form::Object
    }

    /// Whether numpy's type is `numpy.void` without field names, which makes a field named
    /// `''` padding.
    fn is_unnamed_void(&self) -> bool {
        matches!(
            self.form,
            Form::Void | Form::Sizeless(b'V') | Form::Subarray
        )
    }
}

/// Why a descr does not give a [`Dtype`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DescrError {
    /// numpy rejects it: `numpy.load` fails at the header and never reads the data.
    Invalid(String),
    /// modelsieve cannot tell what numpy makes of it (it may hold objects).
    Unknown(String),
}

/// What reading a descr gives.
type Result<T> = core::result::Result<T, DescrError>;

/// A descr numpy rejects, because of `why`.
fn invalid<T>(why: impl Into<String>) -> Result<T> {
    Err(DescrError::Invalid(why.into()))
}

/// A descr modelsieve cannot judge, because of `why`.
fn unknown<T>(why: impl Into<String>) -> Result<T> {
    Err(DescrError::Unknown(why.into()))
}

/// `numpy.lib.format.descr_to_dtype(descr)`.
pub(super) fn descr_to_dtype(descr: &Lit) -> Result<Dtype> {
    from_descr(descr, 0)
}

/// [`descr_to_dtype`] at nesting `depth`.
fn from_descr(descr: &Lit, depth: usize) -> Result<Dtype> {
    if depth > MAX_DEPTH {
        return unknown("the descr nests too deeply to follow");
    }
    match &descr.kind {
        Kind::Str(s) => from_str(s, depth + 1),
        // `(base, shape)`: a subarray, written by numpy 2.4+ for subarray dtypes; numpy reads
        // only the first two items.
        Kind::Tuple(items) => match (items.first(), items.get(1)) {
            (Some(base), Some(shape)) => {
                let base = from_descr(base, depth + 1)?;
                with_shape(base, shape, depth + 1)
            }
            _ => invalid("a tuple descr needs a dtype and a shape"),
        },
        Kind::List(fields) => structured(fields, depth + 1),
        // numpy iterates whatever it is given as a list of fields; a dict yields its keys and
        // a set its items in hash order, neither of which is modelled here.
        Kind::Dict(_) | Kind::Set(_) => unknown(format!(
            "a {} descr, which numpy iterates as a list of fields",
            descr.kind.type_name()
        )),
        other => invalid(format!("a {} does not describe a dtype", other.type_name())),
    }
}

/// `numpy.dtype((base, second))` (`_convert_from_tuple`): `second` is first tried as a dtype
/// to view `base` as; failing that, a sizeless flexible `base` (`'S'`, `'U'`, `'V'`) takes it
/// as its size, and any other base as a subarray shape.
fn with_shape(base: Dtype, second: &Lit, depth: usize) -> Result<Dtype> {
    // Ints and tuples of ints (bools count, as in Python) are never tried as dtypes.
    let tuple_of_ints = matches!(&second.kind, Kind::Tuple(items)
        if items.iter().all(|i| matches!(i.kind, Kind::Int(_) | Kind::Bool(_))));
    if !matches!(second.kind, Kind::Int(_)) && !tuple_of_ints {
        let other = match &second.kind {
            // None is the default dtype, float64.
            Kind::None => Ok(Dtype::plain(8)),
            _ => from_descr(second, depth + 1),
        };
        match other {
            Ok(other) => {
                if let Some(result) = view(base, other) {
                    return result;
                }
            }
            // Only a sizeless void or an object base can come out of a view with objects.
            Err(DescrError::Unknown(why))
                if base.sizeless_kind() == Some(b'V') || base.is_object() =>
            {
                return unknown(why);
            }
            Err(DescrError::Unknown(why)) => {
                return invalid(format!("a view as a dtype numpy may not know ({why})"));
            }
            // What numpy cannot take as a dtype it tries as a size or a shape next.
            Err(DescrError::Invalid(_)) => {}
        }
    }
    if let Some(kind) = base.sizeless_kind() {
        let size = match second.kind {
            Kind::Int(Some(n)) if (0..=i64::from(i32::MAX)).contains(&n) => n.unsigned_abs(),
            _ => return invalid("a size for a sizeless type that is not an int"),
        };
        let itemsize = if kind == b'U' { size * 4 } else { size };
        if itemsize > MAX_ITEMSIZE {
            return invalid("a flexible type of more than 2147483647 bytes");
        }
        // numpy only sets the size: a zero-size subarray stays one, objects and all.
        let form = match base.form {
            Form::Sizeless(b'V') => Form::Void,
            Form::Sizeless(_) => Form::Plain,
            other => other,
        };
        return Ok(Dtype {
            itemsize,
            form,
            ..base
        });
    }
    match &second.kind {
        Kind::Int(n) => subarray(base, &[*n]),
        // `(base, ())` is `base` itself; an empty list still makes a (one-element) subarray.
        Kind::Tuple(items) if items.is_empty() => Ok(base),
        Kind::Tuple(items) | Kind::List(items) => subarray(base, &ints(items)?),
        other => invalid(format!(
            "a {} where a subarray shape belongs",
            other.type_name()
        )),
    }
}

/// `base` viewed as `other` (`_try_convert_from_inherit_tuple`); `None` when numpy passes on
/// the view and reads `other` as a size or shape instead.
fn view(base: Dtype, other: Dtype) -> Option<Result<Dtype>> {
    if base.form == Form::StringDType || other.form == Form::StringDType {
        return None;
    }
    let other_fields = matches!(other.form, Form::Structured { .. });
    if let Some(kind) = base.sizeless_kind() {
        // A sizeless base takes the other's size unchecked; a void one takes its fields and
        // flags too, objects included: `('V', 'O')` is an object array.
        let void = kind == b'V';
        let form = match (void, other.form) {
            (true, Form::Structured { single_object }) => Form::Structured { single_object },
            (true, _) if base.form == Form::Subarray => Form::Subarray,
            (true, _) => Form::Void,
            (false, _) if other_fields => Form::View,
            (false, _) => Form::Plain,
        };
        return Some(Ok(Dtype {
            itemsize: other.itemsize,
            objects: if void { other.objects } else { base.objects },
            elements: base.elements,
            form,
        }));
    }
    if base.itemsize != other.itemsize {
        return Some(invalid(format!(
            "an (old, new) dtype view of {} bytes as {} bytes",
            base.itemsize, other.itemsize
        )));
    }
    if (base.objects || other.objects)
        && !(base.is_object()
            && other.form
                == (Form::Structured {
                    single_object: true,
                }))
    {
        return Some(invalid("an (old, new) dtype view that involves objects"));
    }
    let form = match base.form {
        _ if !other_fields => base.form,
        Form::Void | Form::Subarray | Form::Structured { .. } => other.form,
        _ => Form::View,
    };
    Some(Ok(Dtype { form, ..base }))
}

/// The integers of a shape; numpy refuses anything else, bools included.
fn ints(items: &[Lit]) -> Result<Vec<Option<i64>>> {
    items
        .iter()
        .map(|item| match item.kind {
            Kind::Int(n) => Ok(n),
            ref other => invalid(format!("a {} in a subarray shape", other.type_name())),
        })
        .collect()
}

/// A subarray of `base` with dimensions `dims`.
fn subarray(base: Dtype, dims: &[Option<i64>]) -> Result<Dtype> {
    if dims.len() > MAX_DIMS {
        return invalid("a subarray of more than 64 dimensions");
    }
    let mut itemsize = base.itemsize;
    let mut elements = base.elements;
    for dim in dims {
        let dim = match dim {
            Some(d) if *d < 0 => return invalid("a negative subarray dimension"),
            Some(d) => d.unsigned_abs(),
            None => u64::MAX,
        };
        if dim > MAX_ITEMSIZE {
            return invalid("a subarray dimension that does not fit a C int");
        }
        itemsize = itemsize.saturating_mul(dim);
        elements = elements.saturating_mul(dim);
    }
    if itemsize > MAX_ITEMSIZE || elements > MAX_ITEMSIZE {
        return invalid("a subarray of more than 2147483647 bytes or elements");
    }
    Ok(Dtype {
        itemsize,
        objects: base.objects,
        elements,
        form: Form::Subarray,
    })
}

/// A list of fields `(name, descr)` or `(name, descr, shape)`. Fields named `''` of unnamed
/// void type are padding: they take space, but numpy drops them, objects and all.
fn structured(fields: &[Lit], depth: usize) -> Result<Dtype> {
    let mut itemsize = 0u64;
    let mut objects = false;
    // A set, not a list: a 1 MiB header can name a hundred thousand fields.
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut kept = 0usize;
    let mut first_kept_is_object = false;
    let mut not_modelled = None;
    for field in fields {
        // A field numpy rejects fails the whole descr, whatever the others are.
        let (name, dtype) = match field_parts(field, depth) {
            Ok(parts) => parts,
            Err(DescrError::Unknown(why)) => {
                not_modelled.get_or_insert(why);
                continue;
            }
            Err(e) => return Err(e),
        };
        itemsize = itemsize.saturating_add(dtype.itemsize);
        let padding =
            matches!(&name, FieldName::Plain(n) if n.is_empty()) && dtype.is_unnamed_void();
        if padding {
            continue;
        }
        objects |= dtype.objects;
        if kept == 0 {
            first_kept_is_object = dtype.is_object();
        }
        kept += 1;
        for label in name.labels()? {
            if names.contains(&label) {
                return invalid(format!(
                    "the field name or title '{}' is used twice",
                    shown(&label)
                ));
            }
            names.insert(label);
        }
    }
    if let Some(why) = not_modelled {
        return unknown(why);
    }
    if itemsize > MAX_ITEMSIZE {
        return invalid("a structured item of more than 2147483647 bytes");
    }
    Ok(Dtype::structured(
        itemsize,
        objects,
        kept == 1 && first_kept_is_object,
    ))
}

/// A field's name as written: a string, or `(title, name)`.
enum FieldName<'a> {
    /// `'x'` (or a one-character name taken from a two-character string).
    Plain(String),
    /// `(title, name)` with its parts as written.
    Titled(&'a Lit, &'a Lit),
    /// Anything else, which numpy refuses.
    Other(&'static str),
}

impl<'a> FieldName<'a> {
    /// Reads a field's name as written.
    fn of(lit: &'a Lit) -> FieldName<'a> {
        match &lit.kind {
            Kind::Str(s) => FieldName::Plain(s.clone()),
            Kind::Tuple(parts) => match parts.as_slice() {
                [title, name] => FieldName::Titled(title, name),
                _ => FieldName::Other("a titled field name that is not (title, name)"),
            },
            _ => FieldName::Other("a field name that is not a string"),
        }
    }

    /// The strings this field claims: its name and a string title.
    fn labels(self) -> Result<Vec<String>> {
        match self {
            FieldName::Plain(n) => Ok(Vec::from([n])),
            FieldName::Titled(title, name) => {
                let Kind::Str(name) = &name.kind else {
                    return invalid("a field name that is not a string");
                };
                match &title.kind {
                    Kind::Str(t) => Ok(Vec::from([t.clone(), name.clone()])),
                    _ => Ok(Vec::from([name.clone()])),
                }
            }
            FieldName::Other(what) => invalid(what),
        }
    }
}

/// One field of a structured descr: its name and dtype.
fn field_parts(field: &Lit, depth: usize) -> Result<(FieldName<'_>, Dtype)> {
    match &field.kind {
        Kind::Tuple(parts) | Kind::List(parts) => match parts.as_slice() {
            [name, descr] => Ok((FieldName::of(name), from_descr(descr, depth + 1)?)),
            [name, descr, shape] => {
                let base = from_descr(descr, depth + 1)?;
                Ok((FieldName::of(name), with_shape(base, shape, depth + 1)?))
            }
            _ => invalid(format!(
                "a field of {} items (numpy wants (name, dtype) or (name, dtype, shape))",
                parts.len()
            )),
        },
        // numpy unpacks any sequence, so 'xO' is a field named 'x' holding objects.
        Kind::Str(s) => {
            let chars: Vec<String> = s.chars().map(|c| c.to_string()).collect();
            match chars.as_slice() {
                [name, descr] => Ok((FieldName::Plain(name.clone()), from_str(descr, depth + 1)?)),
                [name, descr, second] => {
                    let base = from_str(descr, depth + 1)?;
                    let second = Lit {
                        kind: Kind::Str(second.clone()),
                        start: field.start,
                        end: field.end,
                    };
                    Ok((
                        FieldName::Plain(name.clone()),
                        with_shape(base, &second, depth + 1)?,
                    ))
                }
                _ => invalid(format!(
                    "a field given as a {}-character string",
                    chars.len()
                )),
            }
        }
        Kind::Dict(_) | Kind::Set(_) => {
            unknown(format!("a field given as a {}", field.kind.type_name()))
        }
        other => invalid(format!(
            "a field given as a {} (numpy wants a (name, dtype) tuple)",
            other.type_name()
        )),
    }
}
