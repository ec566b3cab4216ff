//! Walks every object of a Keras config and judges what a loader would resolve from it.
//!
//! Keras deserializes any dict that has `class_name` and `config`, wherever it sits: layers of
//! nested models, `build_config`, `compile_config` (optimizer, losses, metrics), initializers,
//! regularizers, constraints, activations given as dicts, `inbound_nodes` arguments. So no
//! part of the tree is skipped, and each object is judged on its own keys when it closes
//! (an object's keys may come in any order). Only the few members a judgement needs are kept
//! ([`Field`]); everything else streams past, so memory grows with depth, not size.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::json::{JsonError, Parser, RawStr, Token};
use super::marshal::{self, is_identifier, looks_like_source};
use super::names::{self, Kind};
use crate::findings::Findings;
use crate::rules::Rule;

/// Object members a judgement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    ClassName,
    Module,
    RegisteredName,
    SpecName,
    Config,
    Function,
    FunctionType,
    OutputShape,
    OutputShapeType,
    OutputShapeModule,
    Mask,
    MaskType,
    MaskModule,
    Code,
    Value,
    Items,
    Vocabulary,
    Merges,
    Proto,
}

/// Member names, by [`Field`] order.
const FIELD_NAMES: [&str; FIELDS] = [
    "class_name",
    "module",
    "registered_name",
    "spec_name",
    "config",
    "function",
    "function_type",
    "output_shape",
    "output_shape_type",
    "output_shape_module",
    "mask",
    "mask_type",
    "mask_module",
    "code",
    "value",
    "items",
    "vocabulary",
    "merges",
    "proto",
];

/// How many [`Field`]s there are.
const FIELDS: usize = 19;

/// Every field, in order.
const ALL_FIELDS: [Field; FIELDS] = [
    Field::ClassName,
    Field::Module,
    Field::RegisteredName,
    Field::SpecName,
    Field::Config,
    Field::Function,
    Field::FunctionType,
    Field::OutputShape,
    Field::OutputShapeType,
    Field::OutputShapeModule,
    Field::Mask,
    Field::MaskType,
    Field::MaskModule,
    Field::Code,
    Field::Value,
    Field::Items,
    Field::Vocabulary,
    Field::Merges,
    Field::Proto,
];

impl Field {
    fn of(key: &RawStr<'_>) -> Option<Field> {
        FIELD_NAMES
            .iter()
            .zip(ALL_FIELDS)
            .find_map(|(name, field)| key.is(name).then_some(field))
    }
}

/// A member's value, as far as judgements need it.
#[derive(Debug)]
enum Captured {
    /// A string.
    Str(String),
    /// A number, boolean or null, by the words that name its kind.
    Scalar(&'static str),
    /// An array, with its first element when that is a string.
    List(Option<String>),
    /// An object, with its own captured members.
    Object(Box<Summary>),
}

impl Captured {
    fn kind(&self) -> &'static str {
        match self {
            Captured::Str(_) => "a string",
            Captured::Scalar(kind) => kind,
            Captured::List(_) => "an array",
            Captured::Object(_) => "an object",
        }
    }
}

/// The captured members of one object; a later duplicate replaces an earlier one, as in
/// Python's `dict`.
#[derive(Debug, Default)]
struct Summary {
    fields: [Option<Captured>; FIELDS],
}

impl Summary {
    fn get(&self, f: Field) -> Option<&Captured> {
        self.fields.get(f as usize)?.as_ref()
    }

    fn str(&self, f: Field) -> Option<&str> {
        match self.get(f)? {
            Captured::Str(s) => Some(s),
            _ => None,
        }
    }

    fn object(&self, f: Field) -> Option<&Summary> {
        match self.get(f)? {
            Captured::Object(s) => Some(s),
            _ => None,
        }
    }
}

/// Where a container sits in its parent.
#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Root,
    Key(RawStr<'a>),
    Index(usize),
}

/// An open container.
#[derive(Debug)]
struct Frame<'a> {
    /// Offset of its opening bracket in the text.
    offset: usize,
    seg: Seg<'a>,
    /// The parent member this container's value is captured into.
    fills: Option<Field>,
    kind: Open<'a>,
}

/// What an open container collects.
#[derive(Debug)]
enum Open<'a> {
    Object {
        summary: Option<Box<Summary>>,
        /// The member whose value comes next.
        key: Option<(RawStr<'a>, Option<Field>)>,
    },
    Array {
        /// Elements started so far.
        len: usize,
        first: Option<String>,
    },
}

/// What a walk found out about the text as a whole.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Some object has a `class_name`.
    pub(super) keras: bool,
    /// Where the text stopped being JSON Python reads, if it did.
    pub(super) error: Option<JsonError>,
}

/// The walk over one config text.
struct Walker<'a, 'f> {
    findings: &'f mut Findings,
    /// Offset of the text in the input, when known.
    base: Option<u64>,
    /// Whether text offsets are input offsets (not after a transcoding).
    exact: bool,
    keras: bool,
    frames: Vec<Frame<'a>>,
}

/// Walks `text` (UTF-8) and reports what it names. `base` is the text's offset in the input
/// and `exact` whether positions in `text` are positions in the input.
pub(super) fn walk(
    text: &[u8],
    base: Option<u64>,
    exact: bool,
    findings: &mut Findings,
) -> Outcome {
    let mut w = Walker {
        findings,
        base,
        exact,
        keras: false,
        frames: Vec::new(),
    };
    let mut parser = Parser::new(text);
    let error = loop {
        match parser.next_token() {
            Ok(Some((at, token))) => w.token(at, token),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    Outcome {
        keras: w.keras,
        error,
    }
}

impl<'a> Walker<'a, '_> {
    fn token(&mut self, at: usize, token: Token<'a>) {
        match token {
            Token::ObjectStart | Token::ArrayStart => {
                let (seg, fills) = self.slot();
                let kind = if matches!(token, Token::ObjectStart) {
                    Open::Object {
                        summary: None,
                        key: None,
                    }
                } else {
                    Open::Array {
                        len: 0,
                        first: None,
                    }
                };
                self.frames.push(Frame {
                    offset: at,
                    seg,
                    fills,
                    kind,
                });
            }
            Token::ObjectEnd | Token::ArrayEnd => {
                // Judged while the object is still on the stack, so its path is at hand.
                let value = match self.frames.last_mut() {
                    Some(Frame {
                        kind: Open::Object { summary, .. },
                        offset,
                        ..
                    }) => {
                        let (summary, offset) = (summary.take().unwrap_or_default(), *offset);
                        self.judge(&summary, offset);
                        Captured::Object(summary)
                    }
                    Some(Frame {
                        kind: Open::Array { first, .. },
                        ..
                    }) => Captured::List(first.take()),
                    None => return,
                };
                if let Some(field) = self.frames.pop().and_then(|f| f.fills) {
                    self.capture(field, value);
                }
            }
            Token::Key(k) => {
                if let Some(Frame {
                    kind: Open::Object { key, .. },
                    ..
                }) = self.frames.last_mut()
                {
                    *key = Some((k, Field::of(&k)));
                }
            }
            Token::Str(s) => match self.slot() {
                (_, Some(field)) => self.capture(field, Captured::Str(s.text().into_owned())),
                // The first element of an array kept for a judgement (a legacy Lambda's
                // `[code, defaults, closure]`).
                (Seg::Index(0), None) => {
                    if let Some(Frame {
                        fills: Some(_),
                        kind: Open::Array { first, .. },
                        ..
                    }) = self.frames.last_mut()
                    {
                        *first = Some(s.text().into_owned());
                    }
                }
                _ => {}
            },
            Token::Scalar(kind) => {
                let (_, fills) = self.slot();
                if let Some(field) = fills {
                    self.capture(field, Captured::Scalar(kind));
                }
            }
        }
    }

    /// Where the value now starting sits, and the member it is captured into; counts it.
    fn slot(&mut self) -> (Seg<'a>, Option<Field>) {
        match self.frames.last_mut() {
            None => (Seg::Root, None),
            Some(Frame {
                kind:
                    Open::Object {
                        key: Some((k, field)),
                        ..
                    },
                ..
            }) => (Seg::Key(*k), *field),
            Some(Frame {
                kind: Open::Object { key: None, .. },
                ..
            }) => (Seg::Root, None),
            Some(Frame {
                kind: Open::Array { len, .. },
                ..
            }) => {
                *len += 1;
                (Seg::Index(*len - 1), None)
            }
        }
    }

    /// Stores a member's value in the innermost object's summary.
    fn capture(&mut self, field: Field, value: Captured) {
        if field == Field::ClassName {
            self.keras = true;
        }
        if let Some(Frame {
            kind: Open::Object { summary, .. },
            ..
        }) = self.frames.last_mut()
        {
            let summary = summary.get_or_insert_with(Box::default);
            if let Some(slot) = summary.fields.get_mut(field as usize) {
                *slot = Some(value);
            }
        }
    }

    /// The innermost container's place in the tree, e.g. `config.layers[2].config`.
    fn path(&self) -> String {
        /// Segments shown at each end of a long path.
        const HEAD: usize = 4;
        const TAIL: usize = 8;
        let n = self.frames.len();
        // Only the ends of a deep path are shown, and only they are visited: a path is built
        // for every object with a class_name, however deep.
        let shown = if n > HEAD + TAIL {
            (0..HEAD).chain(n - TAIL..n)
        } else {
            (0..0).chain(0..n)
        };
        let mut out = String::new();
        for i in shown {
            if n > HEAD + TAIL && i == n - TAIL {
                out.push_str(".…");
            }
            match self.frames.get(i).map(|f| f.seg) {
                None | Some(Seg::Root) => {}
                Some(Seg::Key(k)) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    let text = k.head(40);
                    out.extend(text.chars().map(|c| if c.is_control() { '?' } else { c }));
                }
                Some(Seg::Index(i)) => out.push_str(&format!("[{i}]")),
            }
        }
        if out.is_empty() {
            out.push_str("(top level)");
        }
        out
    }

    /// The input offset of a text position.
    fn at(&self, offset: usize) -> Option<u64> {
        let base = self.base?;
        Some(if self.exact {
            base.saturating_add(offset as u64)
        } else {
            base
        })
    }

    /// Judges one complete object, the innermost container.
    fn judge(&mut self, s: &Summary, offset: usize) {
        let at = self.at(offset);
        // Built only for objects that say what they are; most objects in a config do not.
        let path = &if s.get(Field::ClassName).is_some() {
            self.path()
        } else {
            String::new()
        };
        let class = match s.get(Field::ClassName) {
            None => return,
            Some(Captured::Str(c)) => c.as_str(),
            Some(other) => {
                self.invalid(at, path, "class_name", other.kind());
                return;
            }
        };
        let mut module = None;
        for field in [Field::Module, Field::RegisteredName] {
            match s.get(field) {
                None | Some(Captured::Scalar("null")) => {}
                Some(Captured::Str(m)) => {
                    if field == Field::Module {
                        module = Some(m.as_str());
                    }
                }
                Some(other) => {
                    let name = FIELD_NAMES.get(field as usize).copied().unwrap_or("?");
                    self.invalid(at, path, name, other.kind());
                }
            }
        }
        match class {
            "__lambda__" => {
                // `serialize_keras_object` keeps func_dump's tuple under `value`; Lambda
                // layers keep its parts under `code`, `defaults`, `closure`.
                let inner = s.object(Field::Config);
                let code = inner.and_then(|c| {
                    c.str(Field::Code).or_else(|| c.str(Field::Value)).or(
                        match c.get(Field::Value) {
                            Some(Captured::List(first)) => first.as_deref(),
                            _ => None,
                        },
                    )
                });
                self.lambda(at, path, code, "a __lambda__ object", None);
            }
            "__typespec__" => {
                if let Some(spec) = s.str(Field::SpecName) {
                    self.resolve(at, path, module, spec, Kind::TypeSpec);
                }
            }
            "function" => {
                if let Some(name) = s.str(Field::Config) {
                    self.resolve(at, path, module, name, Kind::Function);
                }
            }
            "__keras_tensor__" | "__tensor__" | "__numpy__" | "__bytes__" | "__ellipsis__"
            | "__slice__" => {}
            _ => {
                self.resolve(at, path, module, class, Kind::Class);
                let config = s.object(Field::Config);
                if let Some(config) = config.filter(|_| class == "Lambda") {
                    self.legacy_lambda(at, path, config);
                }
                for (field, member) in [
                    (Field::Vocabulary, "vocabulary"),
                    (Field::Merges, "merges"),
                    (Field::Proto, "proto"),
                ] {
                    if let Some(file) = config.and_then(|c| c.str(field)) {
                        let place = format!("{path}.config.{member}");
                        super::files::report(self.findings, at, &place, class, file);
                    }
                }
            }
        }
    }

    /// A Keras 2 Lambda layer's functions: `function`, `output_shape` and `mask` as
    /// `[code, defaults, closure]` or as a code string, with `*_type: "lambda"`. Keras 3's own
    /// legacy loader converts a `function` list into a `__lambda__` whatever its type says.
    fn legacy_lambda(&mut self, at: Option<u64>, path: &str, config: &Summary) {
        let parts = [
            (
                Field::Function,
                Field::FunctionType,
                Field::Module,
                "function",
            ),
            (
                Field::OutputShape,
                Field::OutputShapeType,
                Field::OutputShapeModule,
                "output_shape",
            ),
            (Field::Mask, Field::MaskType, Field::MaskModule, "mask"),
        ];
        for (value, ty, module, name) in parts {
            let lambda_type = config.str(ty) == Some("lambda");
            // Without a type, a string that is not a plain name is code too (Python source
            // written by hand, as in the peers' samples): no loader reads it as a name.
            let untyped_code = |code: &str| config.get(ty).is_none() && !is_identifier(code);
            let code = match config.get(value) {
                Some(Captured::List(Some(code))) if lambda_type || value == Field::Function => code,
                Some(Captured::Str(code)) if lambda_type || untyped_code(code) => code,
                // tf_keras writes the `(code, defaults, closure)` tuple as
                // `{"class_name": "__tuple__", "items": [...]}` (keras_metadata.pb).
                Some(Captured::Object(tuple))
                    if (lambda_type || value == Field::Function)
                        && tuple.str(Field::ClassName) == Some("__tuple__") =>
                {
                    match tuple.get(Field::Items) {
                        Some(Captured::List(Some(code))) => code,
                        _ => continue,
                    }
                }
                _ => continue,
            };
            let place = format!("{path}.config.{name}");
            self.lambda(
                at,
                &place,
                Some(code),
                "a Keras 2 Lambda function",
                config.str(module),
            );
        }
    }

    /// Reports serialized lambda code.
    fn lambda(
        &mut self,
        at: Option<u64>,
        path: &str,
        code: Option<&str>,
        what: &str,
        globals: Option<&str>,
    ) {
        let mut evidence = match code {
            Some(code) if looks_like_source(code) => {
                let shown: String = code.chars().take(160).collect();
                format!("{path}: Python source text `{shown}`")
            }
            Some(code) => format!("{path}: {}", marshal::describe(code)),
            None => format!("{path}: no readable code"),
        };
        if let Some(module) = globals {
            evidence.push_str(&format!("; globals from module {module}"));
        }
        self.findings.rule(
            Rule::KerasLambdaCode,
            None,
            at,
            format!("{path} holds {what}: serialized Python code (bytecode or source) that becomes a function when the model loads. Keras runs it when safe_mode is off (safe_mode=False, enable_unsafe_deserialization()), in legacy .h5 loads before 3.11 (CVE-2025-9905), and in versions without safe_mode"),
            Some(evidence),
        );
    }

    /// Reports `name` from `module` when a loader resolves it outside Keras' modeling objects.
    fn resolve(
        &mut self,
        at: Option<u64>,
        path: &str,
        module: Option<&str>,
        name: &str,
        kind: Kind,
    ) {
        if let Some(u) = names::judge(module, name, kind) {
            let what = match kind {
                Kind::Class => "class",
                Kind::Function => "function",
                Kind::TypeSpec => "type spec",
            };
            self.findings.rule(
                Rule::KerasUnsafeObject,
                None,
                at,
                format!("{path} names the {what} {}, which {}", u.resolved, u.why),
                Some(u.resolved),
            );
        }
    }

    /// Reports a member Keras reads as a string that is something else.
    fn invalid(&mut self, at: Option<u64>, path: &str, member: &str, kind: &str) {
        self.findings.rule(
            Rule::KerasInvalidConfig,
            None,
            at,
            format!("{path}: {member} is {kind}, not a string; Keras cannot read the object, and what it names could not be judged"),
            Some(format!("{path}.{member}: {kind}")),
        );
    }
}
