//! What BUILD does: `obj.__setstate__(state)`, or `obj.__dict__.update(state)` plus `setattr`
//! for slot state. Hook attributes are reported; attributes written onto an imported module or
//! class are remembered, so a later import of them resolves to what the pickle put there.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::machine::{Ctx, Machine};
use super::value::{ObjKind, Value};
use crate::rules::Rule;

impl Machine {
    /// BUILD: `obj.__setstate__(state)` or `obj.__dict__.update(state)` plus `setattr` of slot state.
    pub(super) fn build(&mut self, target: Value, state: Value, offset: u64, ctx: &mut Ctx<'_>) {
        self.heap.mark_escaped(&[state]);
        self.note_partial_state(target, state);
        let global_target = match target {
            Value::Global(id) => self.heap.global_entry(id).map(|g| g.path.clone()),
            _ => None,
        };
        if let Some(path) = global_target.clone() {
            ctx.findings.rule(
                Rule::PickleBuildOverride,
                ctx.member,
                Some(offset),
                format!("BUILD sets attributes on {path} itself (a module or class), so later lookups of its names return values the pickle chose"),
                Some(path),
            );
        }
        let mut dicts: Vec<Value> = Vec::new();
        match state {
            Value::Tuple(_) => dicts.extend(
                self.heap
                    .items_of(state)
                    .unwrap_or_default()
                    .iter()
                    .copied(),
            ),
            other => dicts.push(other),
        }
        let target_name = match target {
            Value::Object(id) => match self.heap.obj(id).map(|o| o.kind) {
                Some(ObjKind::Instance {
                    class: Value::Global(c),
                }) => self.heap.global_entry(c).map(|g| g.path.clone()),
                _ => None,
            },
            Value::Global(id) => self.heap.global_entry(id).map(|g| g.path.clone()),
            _ => None,
        };
        let mut dunders = Vec::new();
        for dict in dicts {
            let Some(items) = self.heap.items_of(dict) else {
                continue;
            };
            let is_dict = matches!(dict, Value::Object(id) if self.heap.obj(id).is_some_and(|o| o.kind == ObjKind::Dict));
            if !is_dict {
                continue;
            }
            for pair in items.chunks_exact(2) {
                let (Some(&key), Some(&value)) = (pair.first(), pair.get(1)) else {
                    continue;
                };
                let Some(k) = self.heap.str(key) else {
                    continue;
                };
                if HOOK_ATTRIBUTES.contains(&k) {
                    dunders.push(String::from(k));
                }
                // The loader writes these into the module's or class's __dict__: a later
                // import of that attribute returns this value instead.
                if let Some(base) = &global_target {
                    self.overrides.insert(format!("{base}.{k}"), value);
                }
            }
        }
        for key in dunders {
            let on = target_name.as_deref().unwrap_or("an object");
            ctx.findings.rule(
                Rule::PickleBuildOverride,
                ctx.member,
                Some(offset),
                format!(
                    "BUILD sets {key} on {on}; Python then calls attacker-chosen code through it"
                ),
                Some(key),
            );
        }
        if let Value::Object(id) = target
            && let Some(o) = self.heap.obj_mut(id)
        {
            o.state = Some(state);
        }
    }
}

/// Attributes through which Python calls code implicitly when they sit on an instance or class:
/// `load_build` looks `__setstate__` up on the instance itself, and slot state can replace
/// `__class__` or `__dict__` outright.
const HOOK_ATTRIBUTES: &[&str] = &[
    "__setstate__",
    "__getstate__",
    "__reduce__",
    "__reduce_ex__",
    "__getattr__",
    "__getattribute__",
    "__setattr__",
    "__delattr__",
    "__class__",
    "__dict__",
    "__init__",
    "__new__",
    "__call__",
    "__del__",
    "__get__",
    "__set__",
    "__set_name__",
    "__init_subclass__",
    "__missing__",
    "__getitem__",
    "__setitem__",
    "__iter__",
    "__next__",
    "__enter__",
    "__exit__",
    "__eq__",
    "__hash__",
    "__repr__",
    "__str__",
    "__format__",
    "__bool__",
    "__len__",
    "__contains__",
    "__fspath__",
    "__index__",
];
