//! What calls do: the callables whose behaviour decides what a pickle really reaches
//! (`getattr`, `__import__`, `importlib`, `pkgutil.resolve_name`, `attrgetter`, `methodcaller`,
//! `partial`, `apply`, nested loaders) and what BUILD changes.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

use super::machine::{Ctx, Machine};
use super::value::{Callable, GlobalEntry, GlobalId, ObjKind, Value};
use crate::policy::GlobalClass;
use crate::rules::Rule;

/// Partial chains and apply() nest; deeper than this is itself suspicious.
const MAX_CALL_DEPTH: u32 = 16;

/// What a known callable does with its arguments.
enum Semantics {
    GetAttr,
    Import,
    ResolveName,
    AttrGetter,
    MethodCaller,
    Partial,
    Apply,
    Loader,
    Plain,
}

fn semantics(path: &str, is_loader: bool) -> Semantics {
    match path {
        "builtins.getattr" | "__builtin__.getattr" => Semantics::GetAttr,
        "builtins.__import__"
        | "__builtin__.__import__"
        | "importlib.import_module"
        | "importlib.__import__"
        | "importlib._bootstrap._gcd_import"
        | "importlib._bootstrap.__import__" => Semantics::Import,
        "pkgutil.resolve_name" | "pydoc.locate" => Semantics::ResolveName,
        "operator.attrgetter" | "_operator.attrgetter" => Semantics::AttrGetter,
        "operator.methodcaller" | "_operator.methodcaller" => Semantics::MethodCaller,
        "functools.partial" | "_functools.partial" => Semantics::Partial,
        "builtins.apply" | "__builtin__.apply" => Semantics::Apply,
        _ if is_loader => Semantics::Loader,
        _ => Semantics::Plain,
    }
}

impl Machine {
    /// Models `callee(*args)` and returns what it produces.
    pub(super) fn call(
        &mut self,
        callee: Value,
        args: Value,
        offset: u64,
        ctx: &mut Ctx<'_>,
        depth: u32,
    ) -> Value {
        if depth > MAX_CALL_DEPTH {
            self.opaque_call(
                "a call chain nested deeper than the analysis follows",
                offset,
                ctx,
            );
            return Value::Unknown;
        }
        let arg_list: Vec<Value> = self
            .heap
            .items_of(args)
            .map(<[Value]>::to_vec)
            .unwrap_or_default();
        match callee {
            Value::Global(id) => {
                let Some(entry) = self.heap.global_entry(id).cloned() else {
                    return Value::Unknown;
                };
                self.heap.mark_escaped(&arg_list);
                if let Some(getattr) = entry.looked_up_by {
                    // A constant fetched from an allowlisted class is being called after all.
                    if let Some(g) = self.heap.global_entry_mut(getattr) {
                        g.escaped = true;
                    }
                    let class = ctx.findings.policy().classify_path(&entry.path);
                    let called = self.indirect(entry.path.clone(), class, "getattr", offset, ctx);
                    return self.instance_of(called, arg_list.first().copied());
                }
                self.describe_call(&entry, &arg_list, ctx);
                let is_loader = ctx.findings.policy().is_nested_loader(&entry.path);
                match semantics(&entry.path, is_loader) {
                    Semantics::GetAttr => {
                        let (Some(&obj), name) = (arg_list.first(), arg_list.get(1).copied())
                        else {
                            return Value::Unknown;
                        };
                        let name = name.and_then(|n| self.heap.str(n)).map(String::from);
                        if let Some(constant) = self.constant_lookup(obj, name.as_deref(), id, ctx)
                        {
                            return constant;
                        }
                        if let Some(e) = self.heap.global_entry_mut(id) {
                            e.escaped = true;
                        }
                        self.resolve_attr(obj, name.as_deref(), "getattr", offset, ctx)
                    }
                    Semantics::Import => {
                        let name = arg_list
                            .first()
                            .and_then(|&n| self.heap.str(n))
                            .map(String::from);
                        self.resolve_path(name.as_deref(), &entry.path, offset, ctx)
                    }
                    Semantics::ResolveName => {
                        let name = arg_list
                            .first()
                            .and_then(|&n| self.heap.str(n))
                            .map(|s| s.replace(':', "."));
                        self.resolve_path(name.as_deref(), &entry.path, offset, ctx)
                    }
                    Semantics::AttrGetter => {
                        let names = arg_list
                            .iter()
                            .filter_map(|&n| self.heap.str(n).map(String::from))
                            .collect();
                        self.heap.callable(Callable::AttrGetter(names))
                    }
                    Semantics::MethodCaller => {
                        let name = arg_list
                            .first()
                            .and_then(|&n| self.heap.str(n))
                            .map(String::from);
                        let name = name.unwrap_or_else(|| String::from("<unknown>"));
                        let args = self.heap.tuple(arg_list.get(1..).unwrap_or_default());
                        self.heap.callable(Callable::MethodCaller { name, args })
                    }
                    Semantics::Partial => match arg_list.first() {
                        Some(&func) => {
                            self.note_partial_target(id, func);
                            let args = self.heap.tuple(arg_list.get(1..).unwrap_or_default());
                            self.heap.callable(Callable::Partial {
                                func,
                                args,
                                made_by: id,
                            })
                        }
                        None => Value::Unknown,
                    },
                    Semantics::Apply => match (arg_list.first(), arg_list.get(1)) {
                        (Some(&func), Some(&inner)) => {
                            self.call(func, inner, offset, ctx, depth + 1)
                        }
                        (Some(&func), None) => {
                            let empty = self.heap.tuple(&[]);
                            self.call(func, empty, offset, ctx, depth + 1)
                        }
                        _ => Value::Unknown,
                    },
                    Semantics::Loader => {
                        self.load_nested(arg_list.first().copied(), &entry.path, offset, ctx);
                        Value::Unknown
                    }
                    Semantics::Plain => self.instance_of(callee, arg_list.first().copied()),
                }
            }
            Value::Callable(id) => {
                let Some(callable) = self.heap.callable_ref(id).cloned() else {
                    return Value::Unknown;
                };
                match callable {
                    Callable::Partial { func, args, .. } => {
                        // partial(f, *bound)(*more) calls f(*bound, *more).
                        let mut merged: Vec<Value> = self
                            .heap
                            .items_of(args)
                            .map(<[Value]>::to_vec)
                            .unwrap_or_default();
                        merged.extend_from_slice(&arg_list);
                        let merged = self.heap.tuple(&merged);
                        self.call(func, merged, offset, ctx, depth + 1)
                    }
                    Callable::AttrGetter(names) => {
                        let Some(&obj) = arg_list.first() else {
                            return Value::Unknown;
                        };
                        let mut current = obj;
                        for name in names.iter().flat_map(|n| n.split('.')) {
                            current =
                                self.resolve_attr(current, Some(name), "attrgetter", offset, ctx);
                        }
                        current
                    }
                    Callable::MethodCaller { name, args } => {
                        let Some(&obj) = arg_list.first() else {
                            return Value::Unknown;
                        };
                        let method =
                            self.resolve_attr(obj, Some(&name), "methodcaller", offset, ctx);
                        self.call(method, args, offset, ctx, depth + 1)
                    }
                }
            }
            other => {
                self.opaque_call(kind_name(other), offset, ctx);
                self.instance_of(other, None)
            }
        }
    }

    /// An instance produced by calling `class`; it carries the embedded payload of its first
    /// argument, so `loads(b64decode(s))` and `load(BytesIO(b))` still reach the payload.
    fn instance_of(&mut self, class: Value, first_arg: Option<Value>) -> Value {
        let obj = self.heap.object(ObjKind::Instance { class });
        if let (Value::Object(id), Some(arg)) = (obj, first_arg)
            && let Some(embedded) = self.embedded_of(arg)
            && let Some(o) = self.heap.obj_mut(id)
        {
            o.embedded = Some(embedded);
        }
        obj
    }

    fn embedded_of(&self, value: Value) -> Option<u32> {
        match value {
            Value::Str(id) | Value::Bytes(id) => self.heap.embedded(id),
            Value::Object(id) => self.heap.obj(id)?.embedded,
            _ => None,
        }
    }

    fn load_nested(&mut self, data: Option<Value>, loader: &str, offset: u64, ctx: &mut Ctx<'_>) {
        let Some(data) = data else { return };
        let mut embedded = self.embedded_of(data);
        if embedded.is_none()
            && let Value::Str(id) | Value::Bytes(id) = data
            && let Some((bytes, true)) = self.heap.text_content(id)
        {
            // Too short or too plain to be detected when it was decoded; the loader says
            // it is a pickle, so scan it as one.
            let bytes = bytes.to_vec();
            embedded = ctx.payloads.scan_forced(&bytes, offset, ctx.findings);
            if let Some(e) = embedded {
                self.heap.set_embedded(id, e);
            }
        }
        match embedded {
            Some(e) => ctx.payloads.activate(e, loader),
            None => {
                ctx.findings.rule(
                    Rule::PickleOpaqueCall,
                    ctx.member,
                    Some(offset),
                    format!("passes data the scanner cannot see to {loader}, which unpickles it"),
                    Some(String::from(loader)),
                );
            }
        }
    }

    /// `getattr(ImportedClass, 'NAME')` with a public constant name: how Python 3.12+
    /// pickles enum members. Returns the looked-up constant, or `None` when the lookup is
    /// anything else (a module, a private or dunder name, a computed name, a denied path).
    fn constant_lookup(
        &mut self,
        obj: Value,
        name: Option<&str>,
        getattr: GlobalId,
        ctx: &mut Ctx<'_>,
    ) -> Option<Value> {
        let Value::Global(class_id) = obj else {
            return None;
        };
        let class = self.heap.global_entry(class_id)?;
        let name = name.filter(|n| {
            n.chars().next().is_some_and(char::is_alphabetic)
                && n.chars().all(|c| c.is_alphanumeric() || c == '_')
        })?;
        // The class itself was judged when it was imported (allowed, or reported as unknown);
        // fetching a public constant from it runs nothing unless the constant is called, and a
        // call is caught where it happens.
        if matches!(class.class, GlobalClass::Denied { .. }) || class.looked_up_by.is_some() {
            return None;
        }
        let path = format!("{}.{name}", class.path);
        if matches!(
            ctx.findings.policy().classify_path(&path),
            GlobalClass::Denied { .. }
        ) {
            return None;
        }
        if let Some(g) = self.heap.global_entry_mut(getattr) {
            g.benign_lookups += 1;
        }
        let mut entry = GlobalEntry::new(path, GlobalClass::Unknown, None);
        entry.looked_up_by = Some(getattr);
        Some(self.heap.global(entry))
    }

    /// Called once a pickle stream ends: a `getattr` import used only for constant lookups on
    /// classes that were themselves judged is ordinary, so its finding drops to `info`.
    pub(super) fn settle_lookups(&self, findings: &mut crate::findings::Findings) {
        for entry in self.heap.globals() {
            if !matches!(
                entry.path.as_str(),
                "builtins.getattr" | "__builtin__.getattr"
            ) || entry.escaped
                || entry.benign_lookups == 0
            {
                continue;
            }
            if let Some(f) = entry.finding.and_then(|i| findings.get_mut(i))
                && f.evidence.as_deref() == Some(entry.path.as_str())
            {
                f.severity = crate::report::Severity::Info;
                f.message = format!(
                    "imports {} only to look up {} public constant(s) of imported classes (how Python 3.12+ pickles enum members)",
                    entry.path, entry.benign_lookups
                );
            }
        }
    }

    /// `getattr(obj, name)`: the dotted path it reaches, judged by the policy.
    fn resolve_attr(
        &mut self,
        obj: Value,
        name: Option<&str>,
        via: &str,
        offset: u64,
        ctx: &mut Ctx<'_>,
    ) -> Value {
        let base = match obj {
            Value::Global(id) => self.heap.global_entry(id).map(|g| g.path.clone()),
            Value::Object(id) => match self.heap.obj(id).map(|o| o.kind) {
                Some(ObjKind::Instance {
                    class: Value::Global(c),
                }) => self.heap.global_entry(c).map(|g| format!("{}()", g.path)),
                _ => None,
            },
            Value::Str(_) => Some(String::from("builtins.str()")),
            Value::Bytes(_) => Some(String::from("builtins.bytes()")),
            _ => None,
        };
        let name_shown = name.unwrap_or("<unknown>");
        let path = format!("{}.{}", base.as_deref().unwrap_or("<unknown>"), name_shown);
        let class = match (&base, name) {
            (Some(_), Some(_)) => ctx.findings.policy().classify_path(&path),
            _ => GlobalClass::Unknown,
        };
        self.indirect(path, class, via, offset, ctx)
    }

    /// `__import__(name)`, `import_module(name)`, `resolve_name(name)`.
    fn resolve_path(
        &mut self,
        name: Option<&str>,
        via: &str,
        offset: u64,
        ctx: &mut Ctx<'_>,
    ) -> Value {
        match name {
            Some(path) => {
                let class = ctx.findings.policy().classify_path(path);
                self.indirect(String::from(path), class, via, offset, ctx)
            }
            None => self.indirect(
                String::from("<unknown>"),
                GlobalClass::Unknown,
                via,
                offset,
                ctx,
            ),
        }
    }

    fn indirect(
        &mut self,
        path: String,
        class: GlobalClass,
        via: &str,
        offset: u64,
        ctx: &mut Ctx<'_>,
    ) -> Value {
        let severity = Machine::indirect_severity(&class);
        let why = match &class {
            GlobalClass::Denied { reason, .. } => reason.to_string(),
            GlobalClass::Allowed => String::from("allowlisted, but reached indirectly"),
            GlobalClass::Unknown if path.contains("<unknown>") => {
                String::from("a name the scanner cannot know statically")
            }
            GlobalClass::Unknown => String::from("on neither list"),
        };
        let finding = ctx.findings.push(
            Rule::PickleIndirectGlobal,
            severity,
            ctx.member,
            Some(offset),
            format!("{via} reaches {path}: {why}"),
            Some(path.clone()),
        );
        if let Some(existing) = self.heap.find_global(&path) {
            if let Some(e) = self.heap.global_entry_mut(existing)
                && e.finding.is_none()
            {
                e.finding = finding;
            }
            return Value::Global(existing);
        }
        self.heap.global(GlobalEntry::new(path, class, finding))
    }

    fn opaque_call(&mut self, what: &str, offset: u64, ctx: &mut Ctx<'_>) {
        ctx.findings.rule(
            Rule::PickleOpaqueCall,
            ctx.member,
            Some(offset),
            format!("calls {what}, not an import the scanner can resolve"),
            Some(String::from(what)),
        );
    }

    /// Rewrites the import's finding into a call with its arguments, for a readable report:
    /// "imports os.system: …" becomes "calls os.system('id'): …".
    fn describe_call(&mut self, entry: &GlobalEntry, args: &[Value], ctx: &mut Ctx<'_>) {
        let Some(index) = entry.finding else { return };
        let rendered = self.render_args(args);
        let Some(f) = ctx.findings.get_mut(index) else {
            return;
        };
        // The slot may have been reused by a more severe finding once the list was full.
        if f.message.starts_with("calls ") || f.evidence.as_deref() != Some(entry.path.as_str()) {
            return;
        }
        let call = format!("calls {}({rendered})", entry.path);
        let imported = format!("imports {}", entry.path);
        f.message = match f.message.strip_prefix(&imported) {
            Some(rest) => format!("{call}{rest}"),
            None => match f.message.split_once(" reaches ") {
                Some((via, rest)) => {
                    let rest = rest.strip_prefix(entry.path.as_str()).unwrap_or(rest);
                    format!("{call}, reached through {via}{rest}")
                }
                None => format!("{call}: {}", f.message),
            },
        };
    }

    fn render_args(&self, args: &[Value]) -> String {
        let mut out = String::new();
        for (i, &arg) in args.iter().take(4).enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match arg {
                Value::Str(id) | Value::Bytes(id) => {
                    let prefix = if matches!(arg, Value::Bytes(_)) {
                        "b"
                    } else {
                        ""
                    };
                    match self.heap.text_content(id) {
                        Some((bytes, complete)) => {
                            let shown = bytes.get(..bytes.len().min(80)).unwrap_or_default();
                            let _ = write!(out, "{prefix}{:?}", String::from_utf8_lossy(shown));
                            if !complete || shown.len() < bytes.len() {
                                out.push('…');
                            }
                        }
                        None => out.push_str("<long string>"),
                    }
                }
                Value::Int(v) => {
                    let _ = write!(out, "{v}");
                }
                Value::Global(id) => out.push_str(
                    self.heap
                        .global_entry(id)
                        .map_or("<global>", |g| g.path.as_str()),
                ),
                other => out.push_str(kind_name(other)),
            }
        }
        if args.len() > 4 {
            out.push_str(", …");
        }
        out
    }
}

fn kind_name(value: Value) -> &'static str {
    match value {
        Value::None => "None",
        Value::Bool(_) => "a bool",
        Value::Int(_) | Value::BigInt => "an int",
        Value::Float => "a float",
        Value::Str(_) => "a str",
        Value::Bytes(_) => "bytes",
        Value::Global(_) => "an import",
        Value::Callable(_) => "a callable object",
        Value::Tuple(_) => "a tuple",
        Value::Object(_) => "an object",
        Value::Buffer => "a buffer",
        Value::Persistent => "a persistent object",
        Value::Unknown => "an unknown value",
    }
}
