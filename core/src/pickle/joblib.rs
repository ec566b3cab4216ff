//! joblib's array format. `joblib.dump` replaces every numpy array by a `NumpyArrayWrapper` and
//! writes the array into the file right after the wrapper's BUILD; `joblib.load`'s
//! `NumpyUnpickler.load_build` reads it straight from the file (joblib 1.6.0, `numpy_pickle.py`,
//! `NumpyArrayWrapper.read_array`) and puts the array where the wrapper was:
//!
//! - when the wrapper has a `numpy_array_alignment_bytes` attribute that is not None (joblib 1.2
//!   and later write 16), one byte giving a padding length, then that many padding bytes;
//! - for a dtype with `hasobject`, a whole nested pickle, loaded by a fresh plain unpickler;
//! - otherwise `prod(shape) * dtype.itemsize` raw bytes.
//!
//! Unpickling then resumes with the next opcode. The machine side of this module recognises the
//! wrapper and works out that read from the symbolic values; the stream side runs it: raw bytes
//! are skipped like a long operand, and a nested pickle is scanned by a child stream whose
//! findings land in the same report, the outer pickle resuming after it. A wrapper whose read
//! cannot be worked out is reported, and the stream goes on reading plain opcodes.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::decode::LargeKind;
use super::machine::{Break, Machine};
use super::opcodes::{INST, NEWOBJ, NEWOBJ_EX, OBJ, REDUCE};
use super::stream::{LongOperand, Outcome, PickleStream, Role, State};
use super::value::{ObjId, ObjKind, Value};
use crate::findings::Findings;
use crate::report::Severity;
use crate::rules::Rule;

/// Classes whose instances joblib's loader replaces by an array read from the file.
const WRAPPER_CLASSES: &[&str] = &[
    "joblib.numpy_pickle.NumpyArrayWrapper",
    // scikit-learn before 0.23 vendored joblib; its loader checks its own copy of the class.
    "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
];

/// `copyreg` helpers that make an instance of their first argument without its `__init__`
/// (`_reconstructor` only when its base is `object`): protocols 0 and 1 pickle plain objects
/// through `_reconstructor`, and `__newobj__` is what NEWOBJ stands for.
const CONSTRUCTORS: &[&str] = &[
    "copyreg._reconstructor",
    "copy_reg._reconstructor",
    "copyreg.__newobj__",
    "copy_reg.__newobj__",
    "copyreg.__newobj_ex__",
    "copy_reg.__newobj_ex__",
];

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

/// An outer pickle waiting for the nested pickle of an object array to end.
#[derive(Debug)]
pub(crate) struct Suspended {
    machine: Machine,
    pickle_start: u64,
}

/// What the machine remembers for joblib: wrapper instances and the arguments of numpy dtypes.
#[derive(Debug)]
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

/// What joblib reads from the file right after a wrapper's BUILD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArrayRead {
    /// Raw array bytes, after a padding-length byte and its padding when `padded`.
    Raw { padded: bool, len: u64 },
    /// A nested pickle (an array of Python objects).
    Pickled,
}

/// What joblib's loader does after a BUILD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AfterBuild {
    /// The object is not an array wrapper.
    Plain,
    /// It reads this array.
    Read(ArrayRead),
    /// It reads an array the scanner cannot delimit.
    Unreadable(Unreadable),
}

/// Why a wrapper's array cannot be delimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable {
    /// A few words, the finding's evidence.
    tag: &'static str,
    /// The whole reason, for the message.
    reason: String,
    severity: Severity,
}

fn unreadable(tag: &'static str, reason: impl Into<String>) -> Unreadable {
    Unreadable {
        tag,
        reason: reason.into(),
        severity: Severity::Medium,
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
    #[inline]
    pub(super) fn note_call(&mut self, opcode: u8, callee: Value, args: Value, result: Value) {
        if !self.joblib.enabled {
            return;
        }
        let (Value::Global(g), Value::Object(made)) = (callee, result) else {
            return;
        };
        let Some(path) = self.heap.global_entry(g).map(|e| e.path.as_str()) else {
            return;
        };
        if path == "numpy.dtype" {
            self.joblib.dtypes.insert(made, args);
            return;
        }
        let how = if WRAPPER_CLASSES.contains(&path) {
            // pickle's `_instantiate` (OBJ, INST) calls `__new__` alone only without arguments.
            let no_args = self.heap.items_of(args).is_some_and(<[Value]>::is_empty);
            match opcode {
                NEWOBJ | NEWOBJ_EX => Made::Bare,
                OBJ | INST if no_args => Made::Bare,
                _ => Made::Initialised,
            }
        } else if CONSTRUCTORS.contains(&path) && matches!(opcode, REDUCE | OBJ | INST) {
            let items = self.heap.items_of(args).unwrap_or_default();
            if !items.first().is_some_and(|&c| self.is_wrapper_class(c)) {
                return;
            }
            // `_reconstructor(cls, base, state)` calls `base.__new__(cls, state)` and
            // `base.__init__` unless `base` is `object`.
            let on_object = items
                .get(1)
                .and_then(|&b| self.global_path(b))
                .is_some_and(|p| matches!(p, "builtins.object" | "__builtin__.object"));
            if on_object || !path.ends_with("_reconstructor") {
                Made::Bare
            } else {
                Made::Initialised
            }
        } else {
            return;
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
        let made = self.joblib.wrappers.get(&id).copied();
        if made.is_none() && !self.is_wrapper_class(class) {
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
        self.global_path(class)
            .is_some_and(|p| WRAPPER_CLASSES.contains(&p))
    }

    fn global_path(&self, value: Value) -> Option<&str> {
        match value {
            Value::Global(g) => self.heap.global_entry(g).map(|e| e.path.as_str()),
            _ => None,
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

impl PickleStream {
    /// After a BUILD at `offset`: when joblib's loader reads an array now, starts reading it.
    pub(super) fn after_build(&mut self, offset: u64, findings: &mut Findings) {
        let read = match self.machine.joblib_after_build() {
            AfterBuild::Plain => return,
            AfterBuild::Unreadable(why) => {
                self.unreadable_array(offset, why, findings);
                return;
            }
            AfterBuild::Read(read) => read,
        };
        if self.frame_end > self.pos {
            // The pure-Python unpickler joblib uses reads a frame whole: the array would come
            // from after the frame while the frame's remaining opcodes still run.
            let reason = format!(
                "its BUILD is not the last opcode of its frame, so joblib reads the array from offset {} while {} bytes of the frame remain to run",
                self.frame_end,
                self.frame_end - self.pos
            );
            self.unreadable_array(offset, unreadable("BUILD inside a frame", reason), findings);
            return;
        }
        // The array takes the wrapper's place once read.
        self.machine.stack.pop();
        self.arrays = self.arrays.saturating_add(1);
        self.outcome = Some(Outcome::Pickle);
        match read {
            ArrayRead::Raw { padded: true, len } => {
                self.state = State::Padding {
                    at: self.pos,
                    len,
                    wrapper: offset,
                }
            }
            // Under a plain `pickle.load` the first array byte is the next opcode: sniff it.
            ArrayRead::Raw { padded: false, len } => {
                self.begin_array(self.pos, len, Sniff::From(None), offset, findings)
            }
            ArrayRead::Pickled => self.begin_nested(),
        }
    }

    fn unreadable_array(&mut self, offset: u64, why: Unreadable, findings: &mut Findings) {
        findings.push(
            Rule::JoblibUnreadableArray,
            why.severity,
            self.member.as_deref(),
            Some(offset),
            format!(
                "joblib's loader reads a NumpyArrayWrapper's array from the file after this BUILD, but {}; the bytes that follow were read as pickle opcodes",
                why.reason
            ),
            Some(String::from(why.tag)),
        );
    }

    /// Starts reading past `len` bytes of array data at `start`, the wrapper's BUILD being at
    /// `wrapper`.
    fn begin_array(
        &mut self,
        start: u64,
        len: u64,
        sniff: Sniff,
        wrapper: u64,
        findings: &mut Findings,
    ) {
        if start.checked_add(len).is_none() {
            self.broken(
                wrapper,
                Break::malformed("joblib array data runs past any possible file size"),
                findings,
            );
            return;
        }
        let mut prefix = Vec::new();
        let sniffed = match sniff {
            Sniff::From(first) => {
                prefix.extend(first);
                true
            }
            Sniff::No => false,
        };
        self.skipped_operand |= !sniffed && len > 0;
        let op = LongOperand {
            kind: LargeKind::Bytes,
            role: Role::Array,
            op_offset: wrapper,
            start,
            len,
            seen: prefix.len() as u64,
            prefix,
            child: None,
            decided: !sniffed,
        };
        let complete = op.seen >= op.len;
        self.state = State::Long(op);
        if complete {
            self.end_long(findings);
        }
    }

    /// The padding-length byte that precedes an aligned array; returns what is left of `data`.
    pub(super) fn feed_padding<'d>(&mut self, data: &'d [u8], findings: &mut Findings) -> &'d [u8] {
        let State::Padding { at, len, wrapper } = self.state else {
            return data;
        };
        let Some((&byte, rest)) = data.split_first() else {
            return data;
        };
        let padding = u64::from(byte);
        let Some(total) = len.checked_add(padding) else {
            self.broken(
                wrapper,
                Break::malformed("joblib array data runs past any possible file size"),
                findings,
            );
            return &[];
        };
        if super::opcodes::name(byte).is_some() {
            // joblib writes 1 to 16 here, never an opcode; a plain `pickle.load` would run this
            // byte next, so the whole region is sniffed for a pickle.
            let region = total.saturating_add(1);
            self.begin_array(at, region, Sniff::From(Some(byte)), wrapper, findings);
        } else {
            self.begin_array(at + 1, total, Sniff::No, wrapper, findings);
        }
        rest
    }

    /// Starts the nested pickle of an array of objects at the current offset: a fresh plain
    /// unpickler's (new stack, memo and values), with the outer pickle suspended until its STOP.
    fn begin_nested(&mut self) {
        let mut machine = Machine::new(&self.limits);
        machine.joblib.enabled = false;
        // Any break makes `joblib.load` raise: it is reported, never taken for "not a pickle".
        machine.committed = true;
        let outer = core::mem::replace(&mut self.machine, machine);
        self.suspended = Some(Box::new(Suspended {
            machine: outer,
            pickle_start: self.pickle_start,
        }));
        self.pickle_start = self.pos;
    }

    /// The nested pickle reached its STOP: the outer pickle resumes where the pure-Python
    /// unpickler leaves the file, after the nested pickle's last frame, with the array in the
    /// wrapper's place.
    pub(super) fn end_nested(&mut self, findings: &mut Findings) {
        if !self.resume_suspended(findings) {
            return;
        }
        let stop = self.pos;
        if let Err(b) = self.machine.push_value(Value::Unknown) {
            self.broken(stop, b, findings);
            return;
        }
        if self.frame_end > stop {
            self.skipped_operand = true;
            self.state = State::Long(LongOperand {
                kind: LargeKind::Bytes,
                role: Role::FrameTail,
                op_offset: stop,
                start: stop,
                len: self.frame_end - stop,
                seen: 0,
                prefix: Vec::new(),
                child: None,
                decided: true,
            });
        }
    }

    /// Retires the nested pickle's machine, judging what it still holds, and puts the
    /// suspended outer one back. False when no pickle was suspended.
    pub(super) fn resume_suspended(&mut self, findings: &mut Findings) -> bool {
        let Some(outer) = self.suspended.take() else {
            return false;
        };
        let nested = core::mem::replace(&mut self.machine, outer.machine);
        nested.settle_lookups(findings);
        self.degraded |= nested.heap_exhausted() || nested.memo_overflowed();
        self.pickle_start = outer.pickle_start;
        true
    }
}

/// Whether array bytes are sniffed for a pickle before they are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniff {
    /// Yes, from their first byte, which is given when consumed already.
    From(Option<u8>),
    /// No: a plain `pickle.load` cannot reach them.
    No,
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
