//! TensorFlow SavedModel and Keras metadata protobufs. STUB.
