//! What the machine knows of joblib's arrays: which objects are `NumpyArrayWrapper`s and how
//! they were made, and what their dtype and shape say joblib reads after their BUILD.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{AfterBuild, ArrayRead, Unreadable, unreadable};
use crate::pickle::machine::Machine;
use crate::pickle::opcodes::{INST, NEWOBJ, NEWOBJ_EX, OBJ, REDUCE};
use crate::pickle::value::{ObjId, ObjKind, Value};
use crate::report::Severity;

/// Classes whose instances joblib's loader replaces by an array read from the file.
const WRAPPER_CLASSES: &[&str] = &[
    "joblib.numpy_pickle.NumpyArrayWrapper",
    // scikit-learn before 0.23 vendored joblib; its loader checks its own copy of the class.
    "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
];

/// What a global is to joblib's array reads, decided once when the global is interned so
/// that calls and BUILDs compare no names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoblibName {
    Other,
    /// `numpy.dtype`.
    Dtype,
    /// An array wrapper class.
    Wrapper,
    /// `copyreg.__newobj__` / `__newobj_ex__`: `cls.__new__(cls, …)`, no `__init__`.
    NewObj,
    /// `copyreg._reconstructor(cls, base, state)`, how protocols 0 and 1 make plain objects:
    /// no `__init__` of `cls` when `base` is `object`.
    Reconstructor,
    /// `object`.
    Object,
}

impl JoblibName {
    pub(crate) fn of(path: &str) -> JoblibName {
        match path {
            "numpy.dtype" => JoblibName::Dtype,
            p if WRAPPER_CLASSES.contains(&p) => JoblibName::Wrapper,
            "copyreg.__newobj__"
            | "copy_reg.__newobj__"
            | "copyreg.__newobj_ex__"
            | "copy_reg.__newobj_ex__" => JoblibName::NewObj,
            "copyreg._reconstructor" | "copy_reg._reconstructor" => JoblibName::Reconstructor,
            "builtins.object" | "__builtin__.object" => JoblibName::Object,
            _ => JoblibName::Other,
        }
    }
}

/// How deep dtypes nested in structured dtypes are followed.
const MAX_DTYPE_NESTING: u32 = 8;

/// How a wrapper instance came to be, which decides what attributes it has before BUILD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Made {
    /// `cls.__new__(cls)`: no attributes until BUILD gives them.
    Bare,
    /// The class was called, so `__init__` set attributes from arguments.
    Initialised,
    /// Its array has been read already.
    Read,
}

/// What the machine remembers for joblib: wrapper instances and the arguments of numpy dtypes.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    /// Off for pickles that joblib's loader never reads (constants, nested payloads).
    pub(crate) enabled: bool,
    wrappers: BTreeMap<ObjId, Made>,
    dtypes: BTreeMap<ObjId, Value>,
}

impl Tracker {
    pub(crate) fn new() -> Tracker {
        Tracker {
            enabled: true,
            wrappers: BTreeMap::new(),
            dtypes: BTreeMap::new(),
        }
    }
}

/// The attributes of a numpy dtype that decide how joblib reads an array of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DType {
    itemsize: u64,
    /// `dtype.hasobject`, which numpy takes from the flags in the pickled state.
    has_object: bool,
    /// The dtype holds object pointers by its structure (`O`, or fields or a subarray of `O`).
    holds_objects: bool,
}

impl Machine {
    /// Remembers what the arrays joblib reads depend on: how wrapper instances were made, and
    /// the arguments numpy dtypes were made from. Called after every REDUCE, NEWOBJ, OBJ and INST.
    #[inline(always)]
    pub(crate) fn note_call(&mut self, opcode: u8, callee: Value, args: Value, result: Value) {
        if !self.joblib.enabled {
            return;
        }
        let (Value::Global(_), Value::Object(made)) = (callee, result) else {
            return;
        };
        let name = self.name_of(callee);
        if !matches!(name, JoblibName::Other | JoblibName::Object) {
            self.note_joblib_call(name, opcode, args, made);
        }
    }

    /// [`note_call`](Self::note_call) for a call of a global that matters to joblib.
    #[inline(never)]
    fn note_joblib_call(&mut self, name: JoblibName, opcode: u8, args: Value, made: ObjId) {
        let how = match name {
            JoblibName::Other | JoblibName::Object => return,
            JoblibName::Dtype => {
                self.joblib.dtypes.insert(made, args);
                return;
            }
            JoblibName::Wrapper => {
                // pickle's `_instantiate` (OBJ, INST) calls `__new__` alone only without
                // arguments.
                let no_args = self.heap.items_of(args).is_some_and(<[Value]>::is_empty);
                match opcode {
                    NEWOBJ | NEWOBJ_EX => Made::Bare,
                    OBJ | INST if no_args => Made::Bare,
                    _ => Made::Initialised,
                }
            }
            JoblibName::NewObj | JoblibName::Reconstructor => {
                if !matches!(opcode, REDUCE | OBJ | INST) {
                    return;
                }
                let items = self.heap.items_of(args).unwrap_or_default();
                if !items.first().is_some_and(|&c| self.is_wrapper_class(c)) {
                    return;
                }
                // `_reconstructor(cls, base, state)` calls `base.__new__(cls, state)` and
                // `base.__init__` unless `base` is `object`.
                let on_object = items
                    .get(1)
                    .is_some_and(|&b| self.name_of(b) == JoblibName::Object);
                if on_object || name == JoblibName::NewObj {
                    Made::Bare
                } else {
                    Made::Initialised
                }
            }
        };
        self.joblib.wrappers.insert(made, how);
    }

    /// After a BUILD: whether joblib's loader now reads an array for the object on top of the
    /// stack, and which.
    pub(super) fn joblib_after_build(&mut self) -> AfterBuild {
        if !self.joblib.enabled {
            return AfterBuild::Plain;
        }
        let Some(&Value::Object(id)) = self.stack.last() else {
            return AfterBuild::Plain;
        };
        let Some(obj) = self.heap.obj(id) else {
            return AfterBuild::Plain;
        };
        let (ObjKind::Instance { class }, state) = (obj.kind, obj.state) else {
            return AfterBuild::Plain;
        };
        // Only a wrapper class, or a copyreg helper given one, makes wrappers.
        let name = self.name_of(class);
        if !matches!(
            name,
            JoblibName::Wrapper | JoblibName::NewObj | JoblibName::Reconstructor
        ) {
            return AfterBuild::Plain;
        }
        let made = self.joblib.wrappers.get(&id).copied();
        if made.is_none() && name != JoblibName::Wrapper {
            return AfterBuild::Plain;
        }
        self.joblib.wrappers.insert(id, Made::Read);
        let why = match made {
            Some(Made::Bare) => None,
            Some(Made::Read) => Some(unreadable(
                "wrapper built twice",
                "BUILD runs again on a wrapper whose array was read already, and joblib reads another array with the attributes of both states",
            )),
            Some(Made::Initialised) => Some(unreadable(
                "wrapper made by calling its class",
                "the wrapper was made by calling its class, whose __init__ sets attributes from arguments the scanner does not model",
            )),
            None => Some(unreadable(
                "wrapper made indirectly",
                "the wrapper was made by a call the scanner does not follow",
            )),
        };
        if let Some(why) = why {
            return AfterBuild::Unreadable(why);
        }
        match state.map(|s| self.array_read(s)) {
            Some(Ok(read)) => AfterBuild::Read(read),
            Some(Err(why)) => AfterBuild::Unreadable(why),
            None => AfterBuild::Plain,
        }
    }

    /// The read joblib makes for a wrapper whose `__dict__` is `state` (joblib's `read_array`).
    fn array_read(&self, state: Value) -> Result<ArrayRead, Unreadable> {
        let attributes = match state {
            Value::Object(id) => self.heap.obj(id).filter(|o| o.kind == ObjKind::Dict),
            _ => None,
        }
        .ok_or_else(|| unreadable("wrapper state", "its state is not a dict"))?;
        if self.heap.exhausted {
            // Items past the budget were dropped: the attributes may be incomplete.
            return Err(unreadable(
                "values not retained",
                "the analysis stopped retaining values before this wrapper, so its attributes are not known in full",
            ));
        }
        let (mut dtype, mut shape, mut alignment) = (None, None, None);
        for pair in attributes.items.chunks_exact(2) {
            let (Some(&key), Some(&value)) = (pair.first(), pair.get(1)) else {
                continue;
            };
            let name = match key {
                Value::Str(_) => self.heap.str(key),
                // Not a str, and not equal to one: no attribute name.
                Value::None
                | Value::Bool(_)
                | Value::Int(_)
                | Value::BigInt
                | Value::Float
                | Value::Bytes(_)
                | Value::Tuple(_) => continue,
                _ => None,
            };
            // Later keys win, as in `dict.update`.
            match name {
                Some("dtype") => dtype = Some(value),
                Some("shape") => shape = Some(value),
                Some("numpy_array_alignment_bytes") => alignment = Some(value),
                Some(_) => {}
                None => {
                    return Err(unreadable(
                        "wrapper state key",
                        "a key of its state is not a string the scanner knows",
                    ));
                }
            }
        }
        let dtype = dtype.ok_or_else(|| unreadable("dtype", "its state sets no dtype"))?;
        let dtype = self.dtype(dtype, 0)?;
        let count = self.element_count(shape)?;
        if dtype.has_object {
            return Ok(ArrayRead::Pickled);
        }
        if dtype.holds_objects {
            return Err(Unreadable {
                tag: "object dtype without its object flag",
                reason: String::from(
                    "its dtype holds Python objects but the pickled dtype flags say it does not, so joblib would read raw file bytes as object pointers",
                ),
                severity: Severity::High,
            });
        }
        // `getattr(wrapper, 'numpy_array_alignment_bytes', None) is not None`.
        let padded = match alignment {
            None | Some(Value::None) => false,
            Some(
                Value::Bool(_)
                | Value::Int(_)
                | Value::BigInt
                | Value::Float
                | Value::Str(_)
                | Value::Bytes(_)
                | Value::Tuple(_),
            ) => true,
            Some(Value::Object(id))
                if self
                    .heap
                    .obj(id)
                    .is_some_and(|o| !matches!(o.kind, ObjKind::Instance { .. })) =>
            {
                true
            }
            Some(_) => {
                return Err(unreadable(
                    "numpy_array_alignment_bytes",
                    "whether its numpy_array_alignment_bytes is None cannot be known",
                ));
            }
        };
        let len = count
            .checked_mul(dtype.itemsize)
            .ok_or_else(|| unreadable("array size", "its shape times its item size overflows"))?;
        Ok(ArrayRead::Raw { padded, len })
    }

    /// `prod(shape)` as joblib computes it (1 for `()`), or why it cannot be known.
    fn element_count(&self, shape: Option<Value>) -> Result<u64, Unreadable> {
        let shape = shape.ok_or_else(|| unreadable("shape", "its state sets no shape"))?;
        let dims = match shape {
            Value::Tuple(_) => self.heap.items_of(shape),
            Value::Object(id) if self.heap.obj(id).is_some_and(|o| o.kind == ObjKind::List) => {
                self.heap.items_of(shape)
            }
            _ => None,
        }
        .ok_or_else(|| unreadable("shape", "its shape is not a literal tuple"))?;
        let mut count: u64 = 1;
        for &dim in dims {
            let dim = match dim {
                Value::Int(v) => u64::try_from(v).ok(),
                Value::Bool(b) => Some(u64::from(b)),
                _ => None,
            }
            .ok_or_else(|| unreadable("shape", "its shape holds something other than sizes"))?;
            // joblib multiplies int64s: a product past that makes numpy fail to shape the array.
            count = count
                .checked_mul(dim)
                .filter(|&c| i64::try_from(c).is_ok())
                .ok_or_else(|| unreadable("shape", "the product of its shape overflows int64"))?;
        }
        Ok(count)
    }

    /// What joblib's reads depend on in a dtype made by `numpy.dtype(typestr, …)` and given
    /// its state by BUILD (numpy's `arraydescr_setstate`).
    fn dtype(&self, value: Value, depth: u32) -> Result<DType, Unreadable> {
        let not_known = || {
            unreadable(
                "dtype",
                "its dtype is not a numpy.dtype the scanner can read",
            )
        };
        let Value::Object(id) = value else {
            return Err(not_known());
        };
        let args = self.joblib.dtypes.get(&id).copied().ok_or_else(not_known)?;
        let args = self.heap.items_of(args).ok_or_else(not_known)?;
        let typestr = match args.first() {
            Some(&v @ Value::Str(_)) => self.heap.str(v),
            _ => None,
        }
        .ok_or_else(not_known)?;
        let (kind, size) = parse_typestr(typestr).ok_or_else(|| {
            unreadable(
                "dtype",
                format!("its dtype {typestr:?} is not one numpy writes"),
            )
        })?;
        // `numpy.dtype(obj, align=False, copy=False)`.
        let copy = match args.get(2) {
            None | Some(Value::None) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Int(v)) => *v != 0,
            Some(_) => return Err(not_known()),
        };
        let flexible = matches!(kind, b'S' | b'U' | b'V');
        // Without `copy` a builtin type is numpy's shared descriptor, whose `__setstate__`
        // does nothing: the pickled flags and size then do not apply.
        let shared = !copy && (!flexible || size == 0) && !matches!(kind, b'M' | b'm');
        let state = self.heap.obj(id).and_then(|o| o.state).filter(|_| !shared);
        let (itemsize, has_object, holds_objects) = match state {
            // numpy's constructor alone: the typestring says it all.
            None => (
                if kind == b'U' {
                    size.saturating_mul(4)
                } else {
                    size
                },
                kind == b'O',
                kind == b'O',
            ),
            Some(state) => {
                let items = match state {
                    Value::Tuple(_) => self.heap.items_of(state),
                    _ => None,
                }
                .filter(|i| matches!(i.len(), 8 | 9))
                .ok_or_else(|| {
                    unreadable(
                        "dtype state",
                        "its dtype's pickled state is not one numpy 1.7+ writes",
                    )
                })?;
                let int_at = |i: usize| match items.get(i) {
                    Some(Value::Int(v)) => Some(*v),
                    Some(Value::Bool(b)) => Some(i64::from(*b)),
                    _ => None,
                };
                let flags = int_at(7).and_then(|f| u64::try_from(f).ok());
                let (Some(3 | 4), Some(elsize), Some(_), Some(flags)) =
                    (int_at(0), int_at(5), int_at(6), flags)
                else {
                    return Err(unreadable(
                        "dtype state",
                        "its dtype's pickled state is not one numpy 1.7+ writes",
                    ));
                };
                // Only flexible types take their size from the state.
                let itemsize = if flexible {
                    u64::try_from(elsize)
                        .ok()
                        .filter(|&s| s > 0)
                        .ok_or_else(|| {
                            unreadable("dtype item size", "its dtype's item size is not positive")
                        })?
                } else {
                    size
                };
                let holds = kind == b'O' || (kind == b'V' && self.nested_objects(items, depth)?);
                // NPY_ITEM_HASOBJECT: numpy trusts the pickled flags.
                (itemsize, flags & 1 != 0, holds)
            }
        };
        if itemsize == 0 {
            // joblib divides by the item size before reading.
            return Err(unreadable("dtype item size", "its dtype's items are empty"));
        }
        Ok(DType {
            itemsize,
            has_object,
            holds_objects,
        })
    }

    /// Whether a structured or subarray dtype's state (`subarray` at 2, `fields` at 4) holds a
    /// dtype of Python objects.
    fn nested_objects(&self, state: &[Value], depth: u32) -> Result<bool, Unreadable> {
        let mut inner: Vec<Value> = Vec::new();
        // subarray: (base dtype, shape).
        if let Some(&sub) = state.get(2).filter(|v| **v != Value::None) {
            inner.extend(self.heap.items_of(sub).and_then(|i| i.first().copied()));
        }
        // fields: {name: (dtype, offset[, title])}.
        if let Some(&fields) = state.get(4).filter(|v| **v != Value::None) {
            for pair in self
                .heap
                .items_of(fields)
                .unwrap_or_default()
                .chunks_exact(2)
            {
                let field = pair.get(1).and_then(|&f| self.heap.items_of(f));
                inner.extend(field.and_then(|f| f.first().copied()));
            }
        }
        if depth >= MAX_DTYPE_NESTING {
            return Err(unreadable("dtype", "its dtype nests too deeply"));
        }
        for v in inner {
            let d = self.dtype(v, depth + 1)?;
            if d.holds_objects || d.has_object {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn is_wrapper_class(&self, class: Value) -> bool {
        self.name_of(class) == JoblibName::Wrapper
    }

    fn name_of(&self, value: Value) -> JoblibName {
        match value {
            Value::Global(g) => self
                .heap
                .global_entry(g)
                .map_or(JoblibName::Other, |e| e.joblib),
            _ => JoblibName::Other,
        }
    }
}

/// A numpy typestring as `dtype.__reduce__` writes it (`f8`, `U5`, `V16`, …): its kind and the
/// size its digits say, for the sizes numpy accepts on 64-bit platforms.
fn parse_typestr(text: &str) -> Option<(u8, u64)> {
    let (&kind, digits) = text.as_bytes().split_first()?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 12 {
        return None;
    }
    let size: u64 = core::str::from_utf8(digits).ok()?.parse().ok()?;
    let fits = match kind {
        b'b' => size == 1,
        b'i' | b'u' => matches!(size, 1 | 2 | 4 | 8),
        b'f' => matches!(size, 2 | 4 | 8 | 16),
        b'c' => matches!(size, 8 | 16 | 32),
        // An object is a pointer whatever the digits say.
        b'O' => matches!(size, 4 | 8),
        b'M' | b'm' => size == 8,
        b'S' | b'U' | b'V' => true,
        _ => false,
    };
    let size = if kind == b'O' { 8 } else { size };
    fits.then_some((kind, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typestrings_numpy_writes() {
        assert_eq!(parse_typestr("f8"), Some((b'f', 8)));
        assert_eq!(parse_typestr("u1"), Some((b'u', 1)));
        assert_eq!(parse_typestr("b1"), Some((b'b', 1)));
        assert_eq!(parse_typestr("c32"), Some((b'c', 32)));
        assert_eq!(parse_typestr("O8"), Some((b'O', 8)));
        assert_eq!(parse_typestr("O4"), Some((b'O', 8)));
        assert_eq!(parse_typestr("U5"), Some((b'U', 5)));
        assert_eq!(parse_typestr("V64"), Some((b'V', 64)));
        assert_eq!(parse_typestr("M8"), Some((b'M', 8)));
        for bad in [
            "f3",
            "f12",
            "i16",
            "<f8",
            "float64",
            "f",
            "",
            "x8",
            "f8 ",
            "b2",
            "S99999999999999",
        ] {
            assert_eq!(parse_typestr(bad), None, "{bad}");
        }
    }
}
