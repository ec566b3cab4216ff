//! ONNX models (`ModelProto`), walked on the wire.
//!
//! Loading an ONNX model runs no Python, but two things in it reach outside the file:
//! - a tensor's external data names a file to read next to the model; a `location` that is
//!   absolute, climbs with `..` or names a URL or device makes `onnx.load` read (and ship, if
//!   the model is re-saved or served) a file the author chose ([`Rule::OnnxExternalDataPath`]);
//! - a node whose operator domain is not a standard one needs a custom-op library, native code
//!   supplied by the model's author, to run at all ([`Rule::OnnxCustomDomain`]), unless the
//!   model defines that operator itself as a model-local function.
//!
//! Every graph is walked: the main graph, graphs nested in node attributes (`If`, `Loop`,
//! `Scan`), training graphs and model-local functions. Tensor bytes (`raw_data` and the typed
//! arrays) are skipped by offset.

mod schema;
mod tensor;
#[cfg(test)]
mod tests;

pub(crate) use schema::Model;
