//! TensorFlow protobufs: SavedModel graphs (`saved_model.pb`), bare graphs (frozen `.pb`) and
//! the Keras layer metadata of a Keras SavedModel (`keras_metadata.pb`).
//!
//! A SavedModel runs its graph's ops when a signature is called, and most ops only compute.
//! The ones that touch files or call back into Python are [`Rule::TfDangerousOp`](crate::rules::Rule):
//! every node of every graph and of every function in the library is checked. The ops that
//! save and restore checkpoints, which every SavedModel contains, are not flagged. Keras layer
//! configs stored as JSON (in `keras_metadata.pb`, or in the object graph's user objects of
//! older SavedModels) go through the Keras config analysis.

mod fingerprint;
mod graph;
mod keras_metadata;
mod ops;
#[cfg(test)]
mod tests;

pub(crate) use fingerprint::Fingerprint;
pub(crate) use graph::Graphs;
pub(crate) use keras_metadata::KerasMetadata;
