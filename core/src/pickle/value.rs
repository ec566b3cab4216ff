//! Symbolic values and the heap they live in.
//!
//! A [`Value`] is 16 bytes and `Copy`: strings, tuples and containers are handles into arenas
//! owned by one [`Heap`] per scanned pickle stream, so pushing, memoizing and duplicating never
//! allocates. The arenas are bounded by [`Limits`](crate::Limits): past a budget, new strings and
//! tuples keep only their length, which loses precision for the analysis but never soundness,
//! because every import is judged where it happens, whatever its arguments were.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::limits::Limits;
use crate::policy::GlobalClass;

/// Marks a handle whose content was not retained.
const NOT_RETAINED: u32 = u32::MAX;

/// One symbolic Python value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    BigInt,
    Float,
    Str(TextId),
    Bytes(TextId),
    /// An imported (or indirectly resolved) name.
    Global(GlobalId),
    /// `attrgetter`, `methodcaller` or `partial` objects.
    Callable(CallableId),
    Tuple(Items),
    /// A list, dict, set or instance: mutable, shared by reference like in Python.
    Object(ObjId),
    /// An out-of-band buffer (NEXT_BUFFER) or a view of one.
    Buffer,
    /// What `persistent_load` returned for a PERSID/BINPERSID.
    Persistent,
    /// A value the analysis could not model (a forgotten memo slot, an exhausted budget).
    Unknown,
}

/// Handle to a string or bytes constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextId(u32);

/// Handle to an entry of the globals table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GlobalId(pub(crate) u32);

/// Handle to a callable object built by the pickle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallableId(u32);

/// Handle to a list, dict, set or instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ObjId(u32);

/// A tuple's items: a run of the item arena, or only a length when not retained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Items {
    start: u32,
    len: u32,
}

/// A string or bytes constant: where its retained prefix lives and its full length.
#[derive(Debug, Clone, Copy)]
struct Text {
    start: u32,
    retained: u32,
    len: u64,
    /// Index into the scanner's embedded-payload table when the constant holds a pickle.
    embedded: Option<u32>,
}

/// What a global handle stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GlobalEntry {
    /// Dotted path as the loader would resolve it (`os.system`, `builtins.getattr`).
    pub(crate) path: String,
    /// The policy's judgement of `path`.
    pub(crate) class: GlobalClass,
    /// The finding reported for this global, for enrichment when it is called.
    pub(crate) finding: Option<usize>,
    /// Calls through it that its settle rule covers: for `getattr`, lookups of a constant
    /// attribute of an allowlisted class; for `functools.partial`, partial objects wrapping an
    /// import that is judged on its own.
    pub(crate) benign_lookups: u32,
    /// Used other than its settle rule covers: passed on, stored, or called otherwise.
    pub(crate) escaped: bool,
    /// Instances rebuilt from it with `cls.__new__` alone: NEWOBJ, NEWOBJ_EX, or OBJ/INST without
    /// arguments (pickle's `_instantiate` then skips `__init__`).
    pub(crate) rebuilt: u32,
    /// Called with its constructor (REDUCE, or OBJ/INST with arguments).
    pub(crate) constructed: bool,
    /// Set on a constant looked up by `getattr` on an allowlisted class: the getattr it came
    /// from, so that calling the constant withdraws the benefit of the doubt.
    pub(crate) looked_up_by: Option<GlobalId>,
    /// What it is to joblib's array reads.
    pub(crate) joblib: super::joblib::JoblibName,
}

impl GlobalEntry {
    pub(crate) fn new(path: String, class: GlobalClass, finding: Option<usize>) -> GlobalEntry {
        GlobalEntry {
            joblib: super::joblib::JoblibName::of(&path),
            path,
            class,
            finding,
            benign_lookups: 0,
            escaped: false,
            rebuilt: 0,
            constructed: false,
            looked_up_by: None,
        }
    }
}

/// Callable objects whose behaviour the analysis follows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Callable {
    /// `operator.attrgetter(*names)`.
    AttrGetter(Vec<String>),
    /// `operator.methodcaller(name, …)`.
    MethodCaller { name: String, args: Value },
    /// `functools.partial(func, …)`, made by the `partial` import `made_by`.
    Partial {
        func: Value,
        args: Value,
        made_by: GlobalId,
    },
}

/// The kind of a mutable object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ObjKind {
    List,
    Dict,
    Set,
    /// What calling `class` (a global or other value) returned.
    Instance {
        class: Value,
    },
}

/// A mutable object: its kind, retained items (dict items are flattened key, value pairs) and
/// the state BUILD gave it.
#[derive(Debug, Clone)]
pub(crate) struct Obj {
    pub(crate) kind: ObjKind,
    pub(crate) items: Vec<Value>,
    pub(crate) state: Option<Value>,
    /// The embedded payload this object was made from (`BytesIO(b'…')`, `b64decode('…')`).
    pub(crate) embedded: Option<u32>,
}

/// Arenas for one pickle stream, with their budgets.
#[derive(Debug, Clone)]
pub(crate) struct Heap {
    bytes: Vec<u8>,
    texts: Vec<Text>,
    items: Vec<Value>,
    objects: Vec<Obj>,
    globals: Vec<GlobalEntry>,
    global_index: BTreeMap<String, u32>,
    callables: Vec<Callable>,
    max_bytes: usize,
    max_items: usize,
    max_globals: usize,
    /// Set once any budget ran out, so the scanner can say the analysis was degraded.
    pub(crate) exhausted: bool,
}

/// Longest constant whose content is retained; longer ones keep a prefix for evidence.
const MAX_RETAINED_TEXT: usize = 4096;

impl Heap {
    pub(crate) fn new(limits: &Limits) -> Heap {
        Heap {
            bytes: Vec::new(),
            texts: Vec::new(),
            items: Vec::new(),
            objects: Vec::new(),
            globals: Vec::new(),
            global_index: BTreeMap::new(),
            callables: Vec::new(),
            max_bytes: limits.max_retained_bytes,
            max_items: limits.max_retained_items,
            max_globals: limits.max_distinct_imports,
            exhausted: false,
        }
    }

    /// Stores a constant, retaining up to [`MAX_RETAINED_TEXT`] bytes of it within budget.
    pub(crate) fn text(&mut self, content: &[u8], len: u64, embedded: Option<u32>) -> TextId {
        if self.texts.len() >= self.max_items {
            self.exhausted = true;
            return TextId(NOT_RETAINED);
        }
        let keep = content.len().min(MAX_RETAINED_TEXT);
        let room = self.bytes.len() + keep <= self.max_bytes;
        let (start, retained) = match (room, u32::try_from(self.bytes.len())) {
            (true, Ok(start)) => {
                self.bytes
                    .extend_from_slice(content.get(..keep).unwrap_or_default());
                (start, keep as u32)
            }
            _ => {
                self.exhausted = true;
                (NOT_RETAINED, 0)
            }
        };
        self.texts.push(Text {
            start,
            retained,
            len,
            embedded,
        });
        TextId(self.texts.len().saturating_sub(1) as u32)
    }

    /// The retained content of a constant and whether it is all of it.
    pub(crate) fn text_content(&self, id: TextId) -> Option<(&[u8], bool)> {
        let t = self.texts.get(id.0 as usize)?;
        if t.start == NOT_RETAINED {
            return None;
        }
        let start = t.start as usize;
        let bytes = self.bytes.get(start..start + t.retained as usize)?;
        Some((bytes, u64::from(t.retained) == t.len))
    }

    /// The whole constant as UTF-8 text, when retained completely and valid.
    pub(crate) fn str(&self, value: Value) -> Option<&str> {
        match value {
            Value::Str(id) | Value::Bytes(id) => match self.text_content(id)? {
                (bytes, true) => core::str::from_utf8(bytes).ok(),
                _ => None,
            },
            _ => None,
        }
    }

    pub(crate) fn embedded(&self, id: TextId) -> Option<u32> {
        self.texts.get(id.0 as usize)?.embedded
    }

    pub(crate) fn set_embedded(&mut self, id: TextId, embedded: u32) {
        if let Some(t) = self.texts.get_mut(id.0 as usize) {
            t.embedded = Some(embedded);
        }
    }

    /// Builds a tuple from `values`, retaining its items within budget.
    pub(crate) fn tuple(&mut self, values: &[Value]) -> Value {
        let len = u32::try_from(values.len()).unwrap_or(u32::MAX);
        if self.items.len() + values.len() > self.max_items {
            self.exhausted = true;
            return Value::Tuple(Items {
                start: NOT_RETAINED,
                len,
            });
        }
        self.mark_escaped(values);
        let start = self.items.len() as u32;
        self.items.extend_from_slice(values);
        Value::Tuple(Items { start, len })
    }

    /// A tuple's items; `None` when they were not retained.
    pub(crate) fn tuple_items(&self, items: Items) -> Option<&[Value]> {
        if items.start == NOT_RETAINED {
            return None;
        }
        let start = items.start as usize;
        self.items.get(start..start + items.len as usize)
    }

    pub(crate) fn object(&mut self, kind: ObjKind) -> Value {
        if self.objects.len() >= self.max_items {
            self.exhausted = true;
            return Value::Unknown;
        }
        self.objects.push(Obj {
            kind,
            items: Vec::new(),
            state: None,
            embedded: None,
        });
        Value::Object(ObjId(self.objects.len().saturating_sub(1) as u32))
    }

    pub(crate) fn obj(&self, id: ObjId) -> Option<&Obj> {
        self.objects.get(id.0 as usize)
    }

    pub(crate) fn obj_mut(&mut self, id: ObjId) -> Option<&mut Obj> {
        self.objects.get_mut(id.0 as usize)
    }

    /// Appends items to an object, within the item budget.
    pub(crate) fn extend(&mut self, id: ObjId, values: &[Value]) {
        let Some(obj) = self.objects.get_mut(id.0 as usize) else {
            return;
        };
        if self.items.len() + obj.items.len() + values.len() > self.max_items {
            self.exhausted = true;
            return;
        }
        obj.items.extend_from_slice(values);
        self.mark_escaped(values);
    }

    /// Records that imports among `values` were stored or passed on, not just called.
    #[inline]
    pub(crate) fn mark_escaped(&mut self, values: &[Value]) {
        for v in values {
            if let Value::Global(id) = v
                && let Some(g) = self.globals.get_mut(id.0 as usize)
            {
                g.escaped = true;
            }
        }
    }

    /// Retained items of a tuple, list, set or dict (dicts as flattened pairs).
    pub(crate) fn items_of(&self, value: Value) -> Option<&[Value]> {
        match value {
            Value::Tuple(items) => self.tuple_items(items),
            Value::Object(id) => self.obj(id).map(|o| o.items.as_slice()),
            _ => None,
        }
    }

    /// Interns a global by path; the first entry for a path wins.
    pub(crate) fn global(&mut self, entry: GlobalEntry) -> Value {
        if let Some(id) = self.find_global(&entry.path) {
            return Value::Global(id);
        }
        if self.globals.len() >= self.max_globals {
            // Every import was still judged and reported by the caller; past the budget its
            // handle is unknown, so calling it is reported as an opaque call.
            self.exhausted = true;
            return Value::Unknown;
        }
        let id = GlobalId(self.globals.len() as u32);
        self.global_index.insert(entry.path.clone(), id.0);
        self.globals.push(entry);
        Value::Global(id)
    }

    pub(crate) fn find_global(&self, path: &str) -> Option<GlobalId> {
        self.global_index.get(path).map(|&i| GlobalId(i))
    }

    pub(crate) fn global_entry(&self, id: GlobalId) -> Option<&GlobalEntry> {
        self.globals.get(id.0 as usize)
    }

    pub(crate) fn globals(&self) -> &[GlobalEntry] {
        &self.globals
    }

    /// Detaches every global from the finding it was reported with, for a copy of the heap
    /// whose findings go to another list (indices there mean other findings).
    pub(crate) fn forget_findings(&mut self) {
        for g in &mut self.globals {
            g.finding = None;
        }
    }

    pub(crate) fn global_entry_mut(&mut self, id: GlobalId) -> Option<&mut GlobalEntry> {
        self.globals.get_mut(id.0 as usize)
    }

    pub(crate) fn callable(&mut self, callable: Callable) -> Value {
        if self.callables.len() >= self.max_items {
            self.exhausted = true;
            return Value::Unknown;
        }
        self.callables.push(callable);
        Value::Callable(CallableId(self.callables.len().saturating_sub(1) as u32))
    }

    pub(crate) fn callable_ref(&self, id: CallableId) -> Option<&Callable> {
        self.callables.get(id.0 as usize)
    }
}
