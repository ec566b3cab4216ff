//! The parts of `onnx.proto` that reach outside the file, as a [`Schema`] for the protobuf walker.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::tensor::Tensor;
use crate::findings::Findings;
use crate::protobuf::{Action, Schema, Value, WireType};
use crate::report::Format;
use crate::rules::Rule;

/// Operator domains whose operators ship with ONNX runtimes.
const STANDARD_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "com.microsoft",
    "ai.onnx.training",
    "ai.onnx.preview.training",
];

/// Longest name (domain, operator, tensor) kept; longer ones are cut, which no standard name is.
const MAX_NAME: usize = 512;

/// Longest external-data value kept.
const MAX_ENTRY_VALUE: usize = 4096;

/// Most distinct custom operators remembered until the model-local functions are known.
const MAX_CUSTOM_OPS: usize = 1024;

/// The ONNX message types the walk descends into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `ModelProto`.
    Model,
    /// `OperatorSetIdProto` (an opset import).
    OpsetId,
    /// `GraphProto`.
    Graph,
    /// `NodeProto`.
    Node,
    /// `AttributeProto`.
    Attribute,
    /// `TensorProto`.
    Tensor,
    /// `SparseTensorProto`.
    SparseTensor,
    /// A `StringStringEntryProto` of a tensor's `external_data`.
    ExternalEntry,
    /// `TrainingInfoProto`.
    TrainingInfo,
    /// `FunctionProto`.
    Function,
}

/// A node being read.
#[derive(Debug, Default)]
struct Node {
    at: u64,
    name: String,
    op_type: String,
    domain: String,
}

/// A node operator from a non-standard domain.
#[derive(Debug)]
struct CustomOp {
    domain: String,
    op_type: String,
    node: String,
    at: u64,
    uses: u64,
}

/// What the walk has seen of an ONNX model.
#[derive(Debug, Default)]
pub(crate) struct Model {
    saw_ir_version: bool,
    saw_structure: bool,
    entered_structure: bool,
    /// A top-level field arrived as a varint where `ModelProto` has a string (`producer_name`,
    /// `producer_version`, `domain`, `doc_string`): the bytes were written as another message.
    /// ONNX's `TensorProto` (the `test_data_set_*/*.pb` files beside models) starts with the
    /// varints `dims` (1) and `data_type` (2), so it reads as an ir_version and then this.
    contradicted: bool,
    nodes: Vec<Node>,
    tensor: Option<Tensor>,
    function: (String, String),
    /// `(domain, name)` of every model-local function.
    functions: Vec<(String, String)>,
    custom: Vec<CustomOp>,
    custom_overflow: bool,
}

impl Model {
    fn node_left(&mut self) {
        let Some(node) = self.nodes.pop() else {
            return;
        };
        if STANDARD_DOMAINS.contains(&node.domain.as_str()) {
            return;
        }
        if let Some(op) = self
            .custom
            .iter_mut()
            .find(|c| c.domain == node.domain && c.op_type == node.op_type)
        {
            op.uses += 1;
        } else if self.custom.len() < MAX_CUSTOM_OPS {
            self.custom.push(CustomOp {
                domain: node.domain,
                op_type: node.op_type,
                node: node.name,
                at: node.at,
                uses: 1,
            });
        } else {
            self.custom_overflow = true;
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Schema for Model {
    type Kind = Kind;
    const MALFORMED: Rule = Rule::OnnxMalformed;

    fn root(&self) -> Kind {
        Kind::Model
    }

    fn format(&self) -> Format {
        Format::Onnx
    }

    fn field(&self, kind: Kind, field: u32, wire: WireType) -> Action<Kind> {
        use Kind::*;
        let len = wire == WireType::Len;
        let name = Action::Text { max: MAX_NAME };
        let action = match (kind, field) {
            (Model, 1) if wire == WireType::Varint => Action::Number,
            (Model, 2 | 3 | 4 | 6) if wire == WireType::Varint => Action::Number,
            (Model, 7) => Action::Message(Graph),
            (Model, 8) => Action::Message(OpsetId),
            (Model, 20) => Action::Message(TrainingInfo),
            (Model, 25) => Action::Message(Function),
            (TrainingInfo, 1 | 2) => Action::Message(Graph),
            (Graph, 1) | (Function, 7) => Action::Message(Node),
            (Graph, 5) | (Attribute, 5 | 10) | (SparseTensor, 1 | 2) => Action::Message(Tensor),
            (Graph, 15) | (Attribute, 22 | 23) => Action::Message(SparseTensor),
            (Node, 5) | (Function, 11) => Action::Message(Attribute),
            (Attribute, 6 | 11) => Action::Message(Graph),
            (Node, 3 | 4 | 7) | (Function, 1 | 10) | (Tensor, 8) => name,
            (Tensor, 9) => Action::Skip,
            (Tensor, 13) => Action::Message(ExternalEntry),
            (Tensor, 14) if wire == WireType::Varint => Action::Number,
            (ExternalEntry, 1) => name,
            (ExternalEntry, 2) => Action::Text {
                max: MAX_ENTRY_VALUE,
            },
            _ => return Action::Skip,
        };
        match action {
            Action::Message(_) | Action::Text { .. } if !len => Action::Skip,
            other => other,
        }
    }

    fn enter(&mut self, kind: Kind, at: u64) {
        if matches!(kind, Kind::Graph | Kind::OpsetId | Kind::Function) {
            self.entered_structure = true;
        }
        match kind {
            Kind::Node => self.nodes.push(Node {
                at,
                ..Node::default()
            }),
            Kind::Tensor => {
                self.tensor = Some(Tensor {
                    at,
                    ..Tensor::default()
                });
            }
            _ => {}
        }
    }

    fn leave(&mut self, kind: Kind, findings: &mut Findings) {
        // Counted once whole: a string of another schema read as a graph rarely ends cleanly.
        if matches!(kind, Kind::Graph | Kind::OpsetId | Kind::Function) {
            self.saw_structure = true;
        }
        match kind {
            Kind::Node => self.node_left(),
            Kind::Tensor => {
                if let Some(tensor) = self.tensor.take() {
                    tensor.check(findings);
                }
            }
            Kind::ExternalEntry => {
                if let Some(tensor) = &mut self.tensor {
                    tensor.push_entry();
                }
            }
            Kind::Function => {
                let function = core::mem::take(&mut self.function);
                if self.functions.len() < MAX_CUSTOM_OPS {
                    self.functions.push(function);
                }
            }
            _ => {}
        }
    }

    fn value(&mut self, kind: Kind, field: u32, value: Value<'_>, _at: u64, _: &mut Findings) {
        match (kind, field, value) {
            (Kind::Model, 1, Value::Number(_)) => self.saw_ir_version = true,
            (Kind::Model, _, Value::Number(_)) => self.contradicted = true,
            (Kind::Node, _, Value::Text { bytes, .. }) => {
                if let Some(node) = self.nodes.last_mut() {
                    let slot = match field {
                        3 => &mut node.name,
                        4 => &mut node.op_type,
                        _ => &mut node.domain,
                    };
                    *slot = text(bytes);
                }
            }
            (Kind::Function, 1, Value::Text { bytes, .. }) => self.function.1 = text(bytes),
            (Kind::Function, _, Value::Text { bytes, .. }) => self.function.0 = text(bytes),
            (Kind::Tensor, _, value) => {
                if let Some(tensor) = &mut self.tensor {
                    match (field, value) {
                        (8, Value::Text { bytes, .. }) => tensor.name = text(bytes),
                        (9, Value::Skipped { len }) => tensor.raw_len = Some(len),
                        (14, Value::Number(n)) => tensor.data_location = Some(n),
                        _ => {}
                    }
                }
            }
            (Kind::ExternalEntry, _, Value::Text { bytes, .. }) => {
                if let Some(tensor) = &mut self.tensor {
                    let slot = if field == 1 {
                        &mut tensor.entry.0
                    } else {
                        &mut tensor.entry.1
                    };
                    *slot = text(bytes);
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, findings: &mut Findings) {
        for op in &self.custom {
            let defined = self
                .functions
                .iter()
                .any(|(domain, name)| *domain == op.domain && *name == op.op_type);
            if defined {
                continue;
            }
            let node = if op.node.is_empty() {
                String::new()
            } else {
                format!(" (node `{}`)", op.node)
            };
            findings.rule(
                Rule::OnnxCustomDomain,
                None,
                Some(op.at),
                format!(
                    "operator `{}` from domain `{}`{node}, used {} time(s), is not standard and not defined in the model: running it needs a custom-op library",
                    op.op_type, op.domain, op.uses
                ),
                Some(format!("{}::{}", op.domain, op.op_type)),
            );
        }
        if self.custom_overflow {
            findings.rule(
                Rule::ScanLimitReached,
                None,
                None,
                format!(
                    "more than {MAX_CUSTOM_OPS} distinct custom operators; the rest were not listed"
                ),
                Some(String::from("custom operators")),
            );
        }
    }

    fn recognized(&self) -> bool {
        self.saw_ir_version && self.saw_structure
    }

    /// A model cut short or broken inside: it started with ir_version and entered a graph,
    /// opset or function, and no field contradicted `ModelProto` on the way. (Another ONNX
    /// message, such as a `TensorProto` test input, is not a damaged model; the high findings
    /// of every reading are kept whatever the format turns out to be.)
    fn partly_recognized(&self) -> bool {
        self.saw_ir_version && self.entered_structure && !self.contradicted
    }
}
