//! The catalogue of rules: stable ids, default severities and one-line descriptions.
//!
//! Rule ids are part of the report contract: tools match on them, policies re-grade them, and the
//! README's rule table is checked against [`Rule::ALL`] by a test.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::report::Severity;

macro_rules! rules {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $severity:ident, $title:literal, $summary:literal; )*) => {
        /// A stable identifier for one kind of finding.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Rule {
            $( $(#[$doc])* $variant, )*
        }

        impl Rule {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [Rule] = &[ $( Rule::$variant, )* ];

            /// The stable dotted id, e.g. `pickle.dangerous-global`.
            pub fn id(self) -> &'static str {
                match self { $( Rule::$variant => $id, )* }
            }

            /// The severity used when neither the finding nor the policy says otherwise.
            pub fn default_severity(self) -> Severity {
                match self { $( Rule::$variant => Severity::$severity, )* }
            }

            /// A few words naming the rule (SARIF's short description, table headings).
            pub fn title(self) -> &'static str {
                match self { $( Rule::$variant => $title, )* }
            }

            /// One line saying what the rule catches (the README's rule table).
            pub fn summary(self) -> &'static str {
                match self { $( Rule::$variant => $summary, )* }
            }
        }
    };
}

rules! {
    /// An import on the dangerous list (`os.system`, `builtins.eval`, …).
    PickleDangerousGlobal = "pickle.dangerous-global", Critical, "Dangerous import",
        "The pickle imports a callable or module on the dangerous list; severity comes from the list entry.";
    /// An import on neither list.
    PickleUnknownGlobal = "pickle.unknown-global", Medium, "Unknown import",
        "The pickle imports something that is on neither the allowlist nor the denylist: review it.";
    /// An import whose name cannot be known without running the pickle.
    PickleUnresolvedGlobal = "pickle.unresolved-global", High, "Import that cannot be resolved statically",
        "STACK_GLOBAL or INST receives a module or name that is not a plain string, so the import cannot be known statically.";
    /// A name reached through `getattr`, `__import__`, `importlib`, `pkgutil.resolve_name`, `attrgetter`, ….
    PickleIndirectGlobal = "pickle.indirect-global", High, "Indirectly reached callable",
        "A callable is reached indirectly (getattr, __import__, import_module, resolve_name, attrgetter, methodcaller); the finding names what it resolves to.";
    /// A call whose callee is not an import the scanner could resolve.
    PickleOpaqueCall = "pickle.opaque-call", High, "Call of a non-import value",
        "REDUCE/NEWOBJ/OBJ calls a value that is not a resolvable import (an instance, an unknown memo slot, a computed object).";
    /// BUILD used to overwrite attributes of a class or module, or dunder methods of an object.
    PickleBuildOverride = "pickle.build-override", High, "BUILD overrides attributes",
        "BUILD sets attributes on an imported class or module, or sets dunder attributes such as __setstate__ or __reduce__ on an object.";
    /// A nested pickle passed to a loader inside the pickle.
    PickleNestedLoad = "pickle.nested-load", Info, "Nested pickle loaded",
        "The pickle passes bytes to pickle.loads/torch.load; the nested pickle was scanned and its findings are listed under its own member path.";
    /// A pickle stored as data (raw, base64 or hex) that imports or calls something.
    PickleEmbeddedPayload = "pickle.embedded-payload", Medium, "Embedded pickle payload",
        "A string or bytes value holds a pickle (raw, base64 or hex) whose own scan has findings; loading the outer file does not run it, a later step might.";
    /// An extension-registry code (EXT1/EXT2/EXT4).
    PickleExtensionCode = "pickle.extension-code", Medium, "Extension-registry import",
        "EXT1/EXT2/EXT4 import whatever the process's copyreg extension registry maps the code to, which cannot be known statically.";
    /// The stream is broken: truncated, a bad opcode, a stack underflow, a read of an unset memo slot.
    PickleMalformed = "pickle.malformed", Medium, "Broken pickle stream",
        "The pickle stream is broken (truncated, unknown opcode, stack underflow, unset memo slot, bad operand); what came before the break was still judged.";
    /// Bytes after the last pickle that are not a pickle.
    PickleTrailingBytes = "pickle.trailing-bytes", Low, "Bytes after the last pickle",
        "Bytes follow the last STOP opcode and do not form another pickle; pickle.load ignores them, other readers may not.";
    /// A joblib array wrapper whose array read cannot be worked out statically.
    JoblibUnreadableArray = "joblib.unreadable-array", Medium, "Unreadable joblib array",
        "joblib's loader reads a NumpyArrayWrapper's array straight from the file after its BUILD, but its dtype, shape or layout cannot be resolved statically, so where unpickling resumes is unknown; what follows was read as plain pickle opcodes.";
    /// Local and central zip headers disagree about a member.
    ZipHeaderMismatch = "zip.header-mismatch", High, "Zip headers disagree",
        "A member's local header and its central-directory entry disagree (name, sizes, CRC, method or flags); loaders that trust one or the other see different files.";
    /// A member's data does not match its CRC-32.
    ZipCrcMismatch = "zip.crc-mismatch", Medium, "Zip CRC mismatch",
        "A member's bytes do not match the CRC-32 in its headers: the archive was altered after it was written.";
    /// A member flagged as encrypted.
    ZipEncryptedMember = "zip.encrypted-member", Medium, "Encrypted zip member",
        "A member is flagged as encrypted (bit 0 or 6); its bytes were scanned as if plain, and what is really encrypted cannot be judged.";
    /// Flag bits no model writer sets.
    ZipUnusualFlags = "zip.unusual-flags", Medium, "Unusual zip flags",
        "A member sets general-purpose flag bits that model writers never set (patched data, reserved bits); readers disagree about such members.";
    /// Members whose data ranges overlap.
    ZipOverlappingMembers = "zip.overlapping-members", High, "Overlapping zip members",
        "Two members share bytes (the overlapping-member zip-bomb trick, or one member hidden inside another).";
    /// Bytes the directory does not account for, or members a sequential reader cannot reach.
    ZipLayout = "zip.layout", Medium, "Irregular zip layout",
        "The archive is not a plain sequence of members followed by the central directory: data before, between or hidden from the listed members.";
    /// A member name that escapes the extraction folder.
    ArchiveUnsafePath = "archive.unsafe-path", High, "Unsafe member path",
        "A member name is absolute, contains `..` or a backslash: extracting the archive writes outside its folder.";
    /// Two members with one name.
    ArchiveDuplicateName = "archive.duplicate-name", High, "Duplicate member name",
        "Two members have the same name: readers disagree about which one a loader opens.";
    /// A link member (tar symlink or hard link).
    ArchiveLinkMember = "archive.link-member", Medium, "Link member",
        "A tar member is a symbolic or hard link; extracting it can point a later file at any path on the machine.";
    /// Content that cannot be opened.
    ArchiveUnscannable = "archive.unscannable", Medium, "Unscannable content",
        "Compressed or archived with a method modelsieve cannot open (7z, xz, lzma, bzip2, zstd, lz4, rar, an unknown zip method): its content was not judged.";
    /// A container whose structure is broken.
    ArchiveMalformed = "archive.malformed", Medium, "Broken container",
        "The container's structure is broken (bad signature, checksum or length, truncated stream); what could be read was still judged.";
    /// Decompression beyond the budget, or beyond what the headers declare.
    ArchiveDecompressionBomb = "archive.decompression-bomb", Medium, "Decompression bomb",
        "Decompressed data exceeds the scan's budget or the size its headers declare; the rest was not inflated.";
    /// TorchScript code in a PyTorch archive.
    TorchTorchscriptCode = "torch.torchscript-code", Low, "TorchScript code",
        "The archive holds TorchScript code (`code/`). A class's `__setstate__` runs while the archive loads, the rest when the model is called; code that calls `torch.from_file` (reads any file) is reported high.";
    /// A `.npy` header that numpy would reject or read differently.
    NumpyMalformedHeader = "numpy.malformed-header", Medium, "Broken .npy header",
        "The .npy header is not a valid header dictionary (magic, version, length, descr, fortran_order, shape).";
    /// A safetensors file the reference `safetensors` library would refuse or read differently.
    SafetensorsInvalid = "safetensors.invalid", Medium, "Invalid safetensors file",
        "The safetensors header (length, JSON, dtype, shape, data offsets, metadata) breaks the format's rules: the safetensors library refuses the file or ignores part of its header.";
    /// A GGUF file whose header breaks the format's rules.
    GgufMalformed = "gguf.malformed", Medium, "Malformed GGUF file",
        "The GGUF header (magic, version, counts, metadata keys and values, tensor infos) is truncated, exceeds a bound, or uses an undefined type: llama.cpp refuses the file, and modelsieve could not judge all of it.";
    /// A GGUF chat template that reaches for a Jinja sandbox escape.
    GgufTemplateInjection = "gguf.template-injection", Critical, "Chat template escapes the Jinja sandbox",
        "A tokenizer.chat_template in the GGUF metadata uses dunder attributes, attr with computed names, or Jinja globals whose internals reach Python's os module: rendering the template (as chat front ends do) can run code.";
    /// An ONNX tensor whose external data lies outside the model's folder.
    OnnxExternalDataPath = "onnx.external-data-path", High, "External data outside the model folder",
        "An ONNX tensor's external-data `location` is absolute, climbs with `..`, names a drive, a URL or a device: loading the model reads (and may leak) a file the model author chose.";
    /// An ONNX operator from a domain that needs native code the model's author supplies.
    OnnxCustomDomain = "onnx.custom-operator-domain", Medium, "Custom operator domain",
        "A node uses an operator domain outside ai.onnx, ai.onnx.ml, com.microsoft and the training domains: running the model needs a custom-op library (native code) that its author supplies.";
    /// ONNX external-data fields that contradict each other.
    OnnxExternalDataMismatch = "onnx.external-data-mismatch", Medium, "Inconsistent external data",
        "An ONNX tensor's data_location and external_data entries disagree (external data without a location, offsets or lengths that are not numbers, data both inline and external).";
    /// An ONNX file whose protobuf structure is broken.
    OnnxMalformed = "onnx.malformed", Medium, "Malformed ONNX file",
        "The ONNX protobuf is truncated, nests beyond a bound, or has fields whose lengths overrun their message: onnx refuses the file, and modelsieve could not judge all of it.";
    /// A TensorFlow graph op that touches files or runs Python.
    TfDangerousOp = "tf.dangerous-op", High, "File or process op in a TensorFlow graph",
        "A node of a SavedModel graph or function library uses an op that reads or writes files, lists directories or calls back into Python (ReadFile, WriteFile, MatchingFiles, PyFunc, EagerPyFunc, ...).";
    /// A TensorFlow protobuf whose structure is broken.
    TfMalformed = "tf.malformed", Medium, "Malformed TensorFlow file",
        "The SavedModel or Keras metadata protobuf is truncated, nests beyond a bound, or has fields whose lengths overrun their message: modelsieve could not judge all of it.";
    /// A Keras Lambda layer that carries code.
    KerasLambdaCode = "keras.lambda-code", Critical, "Keras Lambda layer with code",
        "A Keras Lambda layer carries serialized Python bytecode or source, which runs when the model is loaded or called.";
    /// A Keras config that names an object outside Keras' own packages.
    KerasUnsafeObject = "keras.unsafe-object", High, "Keras object outside Keras",
        "A Keras config's module and class_name (or function name) resolve outside Keras' modeling objects: a module outside keras, keras_hub, keras_cv and keras_nlp, a Python builtin, or a Keras function or layer that is no modeling object (get_file, enable_unsafe_deserialization, load_model, TorchModuleWrapper, TFSMLayer): Keras before 3.9 imports what the file names even in safe_mode, and a Lambda layer calls it with arguments from the file. Also a layer whose vocabulary, merges or proto is a file path, which Keras reads on load (high when absolute, `..`, a drive or a URL).";
    /// A Keras config that is not valid JSON or not a config tree.
    KerasInvalidConfig = "keras.invalid-config", Medium, "Invalid Keras config",
        "A Keras model config is not valid JSON or not the shape Keras reads, so it could not be judged.";
    /// An HDF5 file whose structure is broken.
    Hdf5Malformed = "hdf5.malformed", Medium, "Malformed HDF5 file",
        "The HDF5 superblock, object headers or attribute storage are truncated, point outside the file or in a cycle, or use versions modelsieve does not read: the Keras config could not be judged.";
    /// A configured limit stopped part of the analysis.
    ScanLimitReached = "scan.limit-reached", Medium, "Analysis limit reached",
        "A configured limit (nesting depth, memo size, buffered bytes, operand length) stopped part of the analysis; the file could not be fully judged.";
    /// The driver did not supply bytes the scanner needed.
    ScanIncomplete = "scan.incomplete", Medium, "Input ended early",
        "The input ended before the scanner had read everything it needed (the file is shorter than announced, or the driver skipped bytes).";
    /// Not a format the scanner recognises.
    FormatUnrecognized = "format.unrecognized", Low, "Unrecognised format",
        "The bytes are not a model format the scanner knows; nothing in them was interpreted.";
}

impl Rule {
    /// Looks a rule up by its dotted id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.id() == id)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Rule, D::Error> {
        let id = <alloc::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Rule::from_id(&id).ok_or_else(|| serde::de::Error::custom("unknown rule id"))
    }
}
