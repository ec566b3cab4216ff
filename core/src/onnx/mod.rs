//! ONNX models (`ModelProto`), walked on the wire. STUB.
