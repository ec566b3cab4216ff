//! The symbolic stack machine: executes opcodes the way CPython's unpickler does, but on
//! symbolic values, recording every import and call it would make.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::decode::Op;
use super::memo::{Memo, Slot};
use super::opcodes::*;
use super::payloads::Payloads;
use super::value::{GlobalEntry, Heap, ObjKind, Value};
use crate::findings::Findings;
use crate::limits::Limits;
use crate::policy::GlobalClass;
use crate::report::Severity;
use crate::rules::Rule;

/// What the scanner needs besides the machine to execute one opcode.
pub(crate) struct Ctx<'a> {
    pub(crate) findings: &'a mut Findings,
    pub(crate) member: Option<&'a str>,
    pub(crate) payloads: &'a mut Payloads,
}

/// Why execution stopped before STOP: CPython would raise here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Break {
    pub(crate) reason: String,
    /// True when a limit, not the input, stopped the machine.
    pub(crate) limit: bool,
}

impl Break {
    pub(crate) fn malformed(reason: impl Into<String>) -> Break {
        Break {
            reason: reason.into(),
            limit: false,
        }
    }

    fn limit(reason: impl Into<String>) -> Break {
        Break {
            reason: reason.into(),
            limit: true,
        }
    }
}

/// Result of one executed opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Continue,
    /// BUILD, when joblib's loader may read an array after it.
    Built,
    /// STOP: this pickle is complete; it returned [`Machine::returned`].
    Stop,
}

/// The unpickler's state: stack, marks (CPython's metastack), memo and the value heap.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub(super) stack: Vec<Value>,
    marks: Vec<usize>,
    memo: Memo,
    pub(super) heap: Heap,
    proto: u8,
    max_stack: usize,
    /// Set once the bytes have done something only a pickle does (PROTO, an import, a call,
    /// STOP); until then a failure means "not a pickle" rather than "broken pickle".
    pub(crate) committed: bool,
    reported_forgotten: bool,
    /// Attributes that BUILD wrote onto imported modules or classes, by dotted path.
    pub(super) overrides: BTreeMap<String, Value>,
    /// What joblib's array reads depend on.
    pub(super) joblib: super::joblib::Tracker,
    /// What the last STOP returned.
    pub(super) returned: Value,
    /// Big integers pushed by opcodes, and how many of them were the legacy torch magic.
    pub(super) big_ints: (u32, u32),
}

impl Machine {
    pub(crate) fn new(limits: &Limits) -> Machine {
        Machine {
            stack: Vec::new(),
            marks: Vec::new(),
            memo: Memo::new(limits.max_memo_entries),
            heap: Heap::new(limits),
            proto: 0,
            max_stack: limits.max_stack_values,
            committed: false,
            reported_forgotten: false,
            overrides: BTreeMap::new(),
            joblib: super::joblib::Tracker::new(),
            returned: Value::None,
            big_ints: (0, 0),
        }
    }

    /// Prepares for the next pickle of a concatenated stream. The memo survives, as it does
    /// across `Unpickler.load()` calls on one unpickler.
    pub(crate) fn reset_for_next(&mut self) {
        self.stack.clear();
        self.marks.clear();
        self.proto = 0;
        self.committed = false;
    }

    pub(crate) fn memo_overflowed(&self) -> bool {
        self.memo.overflowed
    }

    pub(crate) fn heap_exhausted(&self) -> bool {
        self.heap.exhausted
    }

    /// MEMOIZE: stores the top of the stack in the next memo slot.
    #[inline(always)]
    pub(crate) fn memoize(&mut self) -> Result<(), Break> {
        let top = self.top()?;
        let index = self.memo.next_index();
        self.memo.put(index, top);
        Ok(())
    }

    /// TUPLE1/TUPLE2/TUPLE3: the top `n` values become a tuple. Nothing changes on failure.
    #[inline(always)]
    pub(crate) fn small_tuple(&mut self, n: usize) -> Result<(), Break> {
        let start = self
            .stack
            .len()
            .checked_sub(n)
            .ok_or_else(|| Break::malformed("stack underflow"))?;
        let t = self.heap.tuple(self.stack.get(start..).unwrap_or_default());
        self.stack.truncate(start);
        self.stack.push(t);
        Ok(())
    }

    /// A short ASCII `str` constant that cannot hold a pickle, pushed without payload checks.
    #[inline(always)]
    pub(crate) fn push_plain_str(&mut self, content: &[u8]) -> Result<(), Break> {
        if self.stack.len() + self.marks.len() >= self.max_stack {
            return Err(Break::limit("more stack values than max_stack_values"));
        }
        let id = self.heap.text(content, content.len() as u64, None);
        self.stack.push(Value::Str(id));
        Ok(())
    }

    /// Pushes a value decoded outside the machine (a streamed-past operand).
    pub(crate) fn push_value(&mut self, value: Value) -> Result<(), Break> {
        self.push(value)
    }

    pub(crate) fn execute(
        &mut self,
        op: Op<'_>,
        offset: u64,
        ctx: &mut Ctx<'_>,
    ) -> Result<Step, Break> {
        match op {
            Op::Bare(opcode) => return self.bare(opcode, offset, ctx),
            Op::Proto(v) => {
                self.proto = v;
                self.committed = true;
            }
            Op::Frame(_) => {}
            Op::Int(v) => self.push(Value::Int(v))?,
            Op::BigInt { torch_magic } => {
                self.big_ints.0 = self.big_ints.0.saturating_add(1);
                self.big_ints.1 = self.big_ints.1.saturating_add(u32::from(torch_magic));
                self.push(Value::BigInt)?;
            }
            Op::Bool(b) => self.push(Value::Bool(b))?,
            Op::Float => self.push(Value::Float)?,
            Op::Str(content) => {
                let embedded = ctx.payloads.detect(&content, offset, ctx.findings);
                let id = self.heap.text(&content, content.len() as u64, embedded);
                self.push(Value::Str(id))?;
            }
            Op::Bytes(content) => {
                let embedded = ctx.payloads.detect(&content, offset, ctx.findings);
                let id = self.heap.text(&content, content.len() as u64, embedded);
                self.push(Value::Bytes(id))?;
            }
            Op::Global {
                opcode,
                module,
                name,
            } => {
                // Before the bytes have proved to be a pickle, text that merely starts with
                // 'c' or 'i' must name a Python module to count: importing "cool project"
                // fails in CPython before any code runs.
                let names_python = is_python_path(&module) && is_python_path(&name);
                if !(self.committed || names_python) {
                    return Err(Break::malformed("GLOBAL operand is not a Python name"));
                }
                self.committed = true;
                let global = self.import(&module, &name, offset, ctx);
                if opcode == INST {
                    let args = self.pop_mark()?;
                    let args = self.heap.tuple(&args);
                    self.note_instantiation(opcode, global, args);
                    let result = self.call(global, args, offset, ctx, 0);
                    self.note_call(opcode, global, args, result);
                    self.push(result)?;
                } else {
                    self.push(global)?;
                }
            }
            Op::Persid => self.push(Value::Persistent)?,
            Op::Get(index) => {
                let value = match self.memo.get(index) {
                    Slot::Set(v) => v,
                    Slot::Unset => {
                        return Err(Break::malformed(format!("memo read of unset slot {index}")));
                    }
                    Slot::Forgotten => {
                        if !self.reported_forgotten {
                            self.reported_forgotten = true;
                            ctx.findings.rule(
                                Rule::ScanLimitReached,
                                ctx.member,
                                Some(offset),
                                format!("memo slot {index} was written after the memo limit and is read back; its value is unknown to the analysis"),
                                Some(String::from("max_memo_entries")),
                            );
                        }
                        Value::Unknown
                    }
                };
                self.push(value)?;
            }
            Op::Put(index) => {
                let top = self.top()?;
                self.memo.put(index, top);
            }
            Op::Ext(code) => {
                if !self.committed {
                    return Err(Break::malformed("EXT before anything pickle-like"));
                }
                let finding = ctx.findings.rule(
                    Rule::PickleExtensionCode,
                    ctx.member,
                    Some(offset),
                    format!("imports extension code {code}, whatever copyreg's registry maps it to at load time"),
                    Some(format!("EXT {code}")),
                );
                let global = self.heap.global(GlobalEntry::new(
                    format!("<extension {code}>"),
                    GlobalClass::Unknown,
                    finding,
                ));
                self.push(global)?;
            }
            Op::Large { .. } => {
                return Err(Break::malformed("streamed operand reached the machine"));
            }
        }
        Ok(Step::Continue)
    }

    #[inline]
    pub(crate) fn bare(
        &mut self,
        opcode: u8,
        offset: u64,
        ctx: &mut Ctx<'_>,
    ) -> Result<Step, Break> {
        match opcode {
            STOP => {
                self.returned = self.pop()?;
                self.committed = true;
                return Ok(Step::Stop);
            }
            MARK => {
                if self.stack.len() + self.marks.len() >= self.max_stack {
                    return Err(Break::limit(
                        "more marks and stack values than max_stack_values",
                    ));
                }
                self.marks.push(self.stack.len());
            }
            POP => {
                // pickle.py: pop the top value, or the mark when the stack above it is empty.
                if self.stack.len() > self.fence() || self.marks.is_empty() {
                    self.pop()?;
                } else {
                    self.pop_mark()?;
                }
            }
            POP_MARK => {
                self.pop_mark()?;
            }
            DUP => {
                let top = self.top()?;
                self.push(top)?;
            }
            NONE => self.push(Value::None)?,
            BINPERSID => {
                self.pop()?;
                self.push(Value::Persistent)?;
            }
            EMPTY_LIST => {
                let list = self.heap.object(ObjKind::List);
                self.push(list)?;
            }
            EMPTY_DICT => {
                let dict = self.heap.object(ObjKind::Dict);
                self.push(dict)?;
            }
            EMPTY_SET => {
                let set = self.heap.object(ObjKind::Set);
                self.push(set)?;
            }
            EMPTY_TUPLE => {
                let t = self.heap.tuple(&[]);
                self.push(t)?;
            }
            LIST | DICT | FROZENSET => {
                let items = self.pop_mark()?;
                if opcode == DICT && items.len() % 2 != 0 {
                    return Err(Break::malformed("odd number of items for DICT"));
                }
                let kind = match opcode {
                    LIST => ObjKind::List,
                    DICT => ObjKind::Dict,
                    _ => ObjKind::Set,
                };
                let obj = self.heap.object(kind);
                if let Value::Object(id) = obj {
                    self.heap.extend(id, &items);
                }
                self.push(obj)?;
            }
            TUPLE => {
                let items = self.pop_mark()?;
                let t = self.heap.tuple(&items);
                self.push(t)?;
            }
            TUPLE1 | TUPLE2 | TUPLE3 => self.small_tuple(usize::from(opcode - TUPLE1) + 1)?,
            APPEND => {
                let value = self.pop()?;
                let target = self.top()?;
                self.add_items(target, &[value]);
            }
            APPENDS | ADDITEMS => {
                let items = self.pop_mark()?;
                let target = self.top()?;
                self.add_items(target, &items);
            }
            SETITEM => {
                let value = self.pop()?;
                let key = self.pop()?;
                let target = self.top()?;
                self.add_items(target, &[key, value]);
            }
            SETITEMS => {
                let items = self.pop_mark()?;
                if items.len() % 2 != 0 {
                    return Err(Break::malformed("odd number of items for SETITEMS"));
                }
                let target = self.top()?;
                self.add_items(target, &items);
            }
            STACK_GLOBAL => {
                let name = self.pop()?;
                let module = self.pop()?;
                self.committed = true;
                let global = self.stack_global(module, name, offset, ctx)?;
                self.push(global)?;
            }
            REDUCE | NEWOBJ | NEWOBJ_EX => {
                // NEWOBJ calls `cls.__new__(cls, *args)`: for the analysis that is a call of the
                // class. NEWOBJ_EX's keyword arguments go to the class's own __new__; the import
                // of the class is what the policy judges.
                if opcode == NEWOBJ_EX {
                    self.pop()?;
                }
                let args = self.pop()?;
                let callee = self.pop()?;
                self.committed = true;
                self.note_instantiation(opcode, callee, args);
                let result = self.call(callee, args, offset, ctx, 0);
                self.note_call(opcode, callee, args, result);
                self.push(result)?;
            }
            OBJ => {
                let items = self.pop_mark()?;
                let (&class, args) = items
                    .split_first()
                    .ok_or_else(|| Break::malformed("OBJ without a class"))?;
                self.committed = true;
                let args = self.heap.tuple(args);
                self.note_instantiation(opcode, class, args);
                let result = self.call(class, args, offset, ctx, 0);
                self.note_call(opcode, class, args, result);
                self.push(result)?;
            }
            BUILD => {
                let state = self.pop()?;
                let target = self.top()?;
                self.committed = true;
                self.build(target, state, offset, ctx);
                if self.joblib.enabled {
                    return Ok(Step::Built);
                }
            }
            MEMOIZE => self.memoize()?,
            NEXT_BUFFER => self.push(Value::Buffer)?,
            READONLY_BUFFER => {
                self.top()?;
            }
            _ => return Err(Break::malformed("unknown opcode")),
        }
        Ok(Step::Continue)
    }

    fn stack_global(
        &mut self,
        module: Value,
        name: Value,
        offset: u64,
        ctx: &mut Ctx<'_>,
    ) -> Result<Value, Break> {
        let text = |v: Value| match v {
            Value::Str(_) => self.heap.str(v).map(String::from),
            _ => None,
        };
        match (text(module), text(name)) {
            (Some(module), Some(name)) => Ok(self.import(&module, &name, offset, ctx)),
            _ if is_definitely_not_str(module, &self.heap)
                || is_definitely_not_str(name, &self.heap) =>
            {
                Err(Break::malformed("STACK_GLOBAL requires str operands"))
            }
            (module_text, name_text) => {
                let shown = format!(
                    "{}.{}",
                    module_text.as_deref().unwrap_or("<unknown>"),
                    name_text.as_deref().unwrap_or("<unknown>")
                );
                let finding = ctx.findings.rule(
                    Rule::PickleUnresolvedGlobal,
                    ctx.member,
                    Some(offset),
                    format!("STACK_GLOBAL imports {shown}, built from values the scanner cannot know statically"),
                    Some(shown.clone()),
                );
                Ok(self
                    .heap
                    .global(GlobalEntry::new(shown, GlobalClass::Unknown, finding)))
            }
        }
    }

    /// Judges and records an import, returning its handle.
    pub(super) fn import(
        &mut self,
        module: &str,
        name: &str,
        offset: u64,
        ctx: &mut Ctx<'_>,
    ) -> Value {
        let mut path = String::with_capacity(module.len() + name.len() + 1);
        path.push_str(module);
        path.push('.');
        path.push_str(name);
        if let Some(&value) = self.overrides.get(&path) {
            return value;
        }
        if let Some(id) = self.heap.find_global(&path) {
            return Value::Global(id);
        }
        let class = ctx.findings.policy().classify(module, name);
        let finding = match &class {
            GlobalClass::Allowed => None,
            GlobalClass::Denied {
                severity,
                matched,
                reason,
            } => ctx.findings.push(
                Rule::PickleDangerousGlobal,
                *severity,
                ctx.member,
                Some(offset),
                format!("imports {path}: {reason} (denylist entry {matched})"),
                Some(path.clone()),
            ),
            GlobalClass::Unknown => ctx.findings.rule(
                Rule::PickleUnknownGlobal,
                ctx.member,
                Some(offset),
                format!("imports {path}: on neither the allowlist nor the denylist, review it"),
                Some(path.clone()),
            ),
        };
        self.heap.global(GlobalEntry::new(path, class, finding))
    }

    fn add_items(&mut self, target: Value, items: &[Value]) {
        if let Value::Object(id) = target {
            self.heap.extend(id, items);
        }
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    #[inline(always)]
    fn push(&mut self, value: Value) -> Result<(), Break> {
        if self.stack.len() + self.marks.len() >= self.max_stack {
            return Err(Break::limit("more stack values than max_stack_values"));
        }
        self.stack.push(value);
        Ok(())
    }

    #[inline(always)]
    fn pop(&mut self) -> Result<Value, Break> {
        self.stack
            .pop()
            .ok_or_else(|| Break::malformed("stack underflow"))
    }

    #[inline(always)]
    fn top(&self) -> Result<Value, Break> {
        self.stack
            .last()
            .copied()
            .ok_or_else(|| Break::malformed("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, Break> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| Break::malformed("MARK not found"))?;
        let mark = mark.min(self.stack.len());
        Ok(self.stack.split_off(mark))
    }

    /// Severity of an indirect reach of `class`: never below `high`, because reaching a name
    /// through getattr or import machinery is itself how payloads hide.
    pub(super) fn indirect_severity(class: &GlobalClass) -> Severity {
        match class {
            GlobalClass::Denied { severity, .. } => (*severity).max(Severity::High),
            _ => Severity::High,
        }
    }
}

/// A dotted Python identifier path (`os.path`, `Bdb.run`).
fn is_python_path(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// Values that cannot be a `str` at load time. Call results (`Object` instances) can: the
/// pickle may build a module name with `str.join` or `getattr`.
fn is_definitely_not_str(value: Value, heap: &Heap) -> bool {
    match value {
        Value::Str(_) | Value::Unknown | Value::Persistent => false,
        Value::Object(id) => !matches!(
            heap.obj(id).map(|o| o.kind),
            Some(ObjKind::Instance { .. }) | None
        ),
        _ => true,
    }
}
