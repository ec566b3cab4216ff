//! SavedModel and GraphDef messages, as a [`Schema`] for the protobuf walker.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;

use super::ops;
use crate::findings::Findings;
use crate::protobuf::{Action, Schema, Value, WireType};
use crate::report::Format;
use crate::rules::Rule;

/// Longest node, op or function name kept.
const MAX_NAME: usize = 1024;

/// Longest Keras metadata JSON read from a user object.
pub(super) const MAX_METADATA: usize = 16 << 20;

/// The TensorFlow message types the walk descends into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `SavedModel`.
    SavedModel,
    /// `MetaGraphDef`.
    MetaGraph,
    /// `GraphDef`.
    Graph,
    /// `NodeDef`.
    Node,
    /// `FunctionDefLibrary`.
    Library,
    /// `FunctionDef`.
    Function,
    /// `OpDef` (a function's signature).
    Signature,
    /// `SavedObjectGraph`.
    ObjectGraph,
    /// `SavedObject`.
    Object,
    /// `SavedUserObject`.
    UserObject,
}

/// A node being read.
#[derive(Debug, Default)]
struct Node {
    at: u64,
    name: String,
}

/// What the walk has seen of a SavedModel (or of a bare GraphDef).
#[derive(Debug)]
pub(crate) struct Graphs {
    root: Kind,
    graphs: u64,
    meta_graphs_entered: u64,
    ops: u64,
    nodes_done: u64,
    node: Option<Node>,
    /// The name of the library function being read, if any.
    function: Option<String>,
    /// Distinct dangerous ops already reported with their node, to report each op once per
    /// graph location without flooding the report. A set: a library of 100,000 functions
    /// each with one such op made a list's lookups quadratic (50 s in a debug build).
    reported: BTreeSet<String>,
}

impl Graphs {
    /// A `SavedModel` (`saved_model.pb`).
    pub(crate) fn saved_model() -> Graphs {
        Graphs::new(Kind::SavedModel)
    }

    /// A bare `GraphDef` (a frozen graph, `tf.io.write_graph`).
    pub(crate) fn graph_def() -> Graphs {
        Graphs::new(Kind::Graph)
    }

    fn new(root: Kind) -> Graphs {
        Graphs {
            root,
            graphs: 0,
            meta_graphs_entered: 0,
            ops: 0,
            nodes_done: 0,
            node: None,
            function: None,
            reported: BTreeSet::new(),
        }
    }

    /// Judges a node's op as soon as it is read, so that a file cut inside the node (or one
    /// broken later) still reports it. Protobuf writes `name` (field 1) before `op` (field 2).
    fn node_op(&mut self, op: String, findings: &mut Findings) {
        self.ops += 1;
        let name = self
            .node
            .as_ref()
            .map(|n| n.name.clone())
            .unwrap_or_default();
        let at = self.node.as_ref().map(|n| n.at);
        let Some(what) = ops::danger(&op) else {
            return;
        };
        let place = match &self.function {
            Some(function) => format!(" in library function `{function}`"),
            None => String::new(),
        };
        let key = format!("{op}{place}");
        if !self.reported.insert(key) {
            return;
        }
        findings.rule(
            Rule::TfDangerousOp,
            None,
            at,
            format!("node `{name}`{place} uses op `{op}`, which {what}"),
            Some(op),
        );
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Schema for Graphs {
    type Kind = Kind;
    const MALFORMED: Rule = Rule::TfMalformed;

    fn root(&self) -> Kind {
        self.root
    }

    fn format(&self) -> Format {
        match self.root {
            Kind::SavedModel => Format::TfSavedModel,
            _ => Format::TfGraphDef,
        }
    }

    fn field(&self, kind: Kind, field: u32, wire: WireType) -> Action<Kind> {
        use Kind::*;
        if wire != WireType::Len {
            return Action::Skip;
        }
        match (kind, field) {
            (SavedModel, 2) => Action::Message(MetaGraph),
            (MetaGraph, 2) => Action::Message(Graph),
            (MetaGraph, 7) => Action::Message(ObjectGraph),
            (Graph, 1) | (Function, 3) => Action::Message(Node),
            (Graph, 2) => Action::Message(Library),
            (Library, 1) => Action::Message(Function),
            (Function, 1) => Action::Message(Signature),
            (Node, 1 | 2) | (Signature, 1) | (UserObject, 1) => Action::Text { max: MAX_NAME },
            (ObjectGraph, 1) => Action::Message(Object),
            (Object, 4) => Action::Message(UserObject),
            (UserObject, 3) => Action::Text { max: MAX_METADATA },
            _ => Action::Skip,
        }
    }

    fn enter(&mut self, kind: Kind, at: u64) {
        match kind {
            Kind::Node => {
                self.node = Some(Node {
                    at,
                    ..Node::default()
                });
            }
            Kind::Function => self.function = Some(String::new()),
            Kind::MetaGraph => self.meta_graphs_entered += 1,
            _ => {}
        }
    }

    fn leave(&mut self, kind: Kind, _: &mut Findings) {
        match kind {
            Kind::Graph | Kind::ObjectGraph => self.graphs += 1,
            Kind::Node => {
                self.node = None;
                self.nodes_done += 1;
            }
            Kind::Function => self.function = None,
            _ => {}
        }
    }

    fn value(&mut self, kind: Kind, field: u32, value: Value<'_>, at: u64, f: &mut Findings) {
        let Value::Text { bytes, len } = value else {
            return;
        };
        match (kind, field) {
            (Kind::Node, 1) => {
                if let Some(node) = &mut self.node {
                    node.name = text(bytes);
                }
            }
            (Kind::Node, _) => self.node_op(text(bytes), f),
            (Kind::Signature, _) => {
                if let Some(function) = &mut self.function {
                    *function = text(bytes);
                }
            }
            (Kind::UserObject, 3) => {
                super::keras_metadata::check_json(bytes, len, at, f);
            }
            _ => {}
        }
    }

    fn recognized(&self) -> bool {
        match self.root {
            Kind::SavedModel => self.graphs > 0,
            _ => self.ops > 0 && self.nodes_done > 0,
        }
    }

    fn partly_recognized(&self) -> bool {
        match self.root {
            Kind::SavedModel => self.meta_graphs_entered > 0,
            _ => self.ops > 0,
        }
    }
}
