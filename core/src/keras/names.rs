//! Which `module` + name pairs a Keras loader resolves to something outside Keras' modeling
//! objects.
//!
//! What Keras does with `{"module": M, "class_name": C, "config": ..., "registered_name": R}`
//! (`serialization_lib._retrieve_class_or_fn`, Keras 3.15):
//! - objects registered in the loading process (`register_keras_serializable`, `custom_objects`)
//!   are looked up by `R` (by the function name for functions) first. That needs code the user
//!   already runs, so a registered name alone imports nothing;
//! - with no `M`, nothing else is tried;
//! - an `M` under `keras` is looked up in Keras' public API, minus a list of non-modeling
//!   functions (`NON_MODELING_APIS`: `get_file`, `load_model`, `enable_unsafe_deserialization`…)
//!   added in 3.9–3.11;
//! - a function with `M == "builtins"` is looked up in Keras' built-in activations, losses…;
//! - otherwise `M` is imported if it lies under `keras`, `keras_hub`, `keras_cv` or
//!   `keras_nlp`, and only a `KerasSaveable` class is accepted.
//!
//! Keras before 3.9 imported *any* `M` and took any attribute `C` of it, even in `safe_mode`
//! (CVE-2025-1550), and a `Lambda` layer calls whatever function it is given with arguments from
//! the config. Files outlive the Keras that wrote them, so every name is judged against what the
//! oldest loader would do: a module outside Keras' own packages, a Python builtin, or a Keras
//! function that is not a modeling object (downloads, loads files, turns `safe_mode` off).

use alloc::format;
use alloc::string::String;

/// How a config entry is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A class (`class_name`), instantiated through `from_config`.
    Class,
    /// A function (`class_name: "function"`, its name in `config`).
    Function,
    /// A TensorFlow `TypeSpec` (`class_name: "__typespec__"`, its name in `spec_name`).
    TypeSpec,
}

/// A name a loader resolves outside Keras' modeling objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unsafe {
    /// `module.name` as the config spells it.
    pub(super) resolved: String,
    /// Why that is a risk, a clause completing "… names X, which …".
    pub(super) why: &'static str,
}

/// Top-level packages that are Keras itself: Keras 3 (`keras`), Keras 2 (`tf_keras`), and the
/// packages Keras 3.15 imports from (`keras_hub`, `keras_cv`, `keras_nlp`).
const KERAS_PACKAGES: &[&str] = &["keras", "tf_keras", "keras_hub", "keras_cv", "keras_nlp"];

/// Names of Keras functions and layers that are not modeling objects but reach files, the
/// network, pickles or the loader's own safety switch. Keras 3.11+ refuses most of them
/// (`NON_MODELING_APIS`, `safe_mode` checks in `from_config`); older versions call them.
const NOT_MODELING: &[(&str, &str)] = &[
    (
        "TFSMLayer",
        "loads a TensorFlow SavedModel from a path the config names and runs its graph",
    ),
    (
        "TorchModuleWrapper",
        "unpickles a torch module embedded in the config with torch.load",
    ),
    (
        "audio_dataset_from_directory",
        "reads files from a directory the config names",
    ),
    ("clear_session", "resets the loading process's Keras state"),
    (
        "deserialize_keras_object",
        "deserializes a further config, possibly with safe_mode off",
    ),
    (
        "enable_unsafe_deserialization",
        "turns safe_mode off for the rest of the load, so a later Lambda's bytecode runs (CVE-2025-9906)",
    ),
    ("func_load", "turns marshalled bytecode into a function"),
    (
        "get_file",
        "downloads a file from a URL the config names and writes it to disk (CVE-2025-8747)",
    ),
    (
        "image_dataset_from_directory",
        "reads files from a directory the config names",
    ),
    ("load_img", "reads a file the config names"),
    (
        "load_model",
        "loads another model file, with arguments (safe_mode=False) the config chooses",
    ),
    ("load_weights", "reads a file the config names"),
    ("model_from_config", "deserializes a further config"),
    ("model_from_json", "deserializes a further config"),
    ("model_from_yaml", "deserializes a further config"),
    (
        "register_keras_serializable",
        "registers objects in the loading process",
    ),
    ("save_img", "writes a file the config names"),
    ("save_model", "writes a file the config names"),
    ("save_weights", "writes a file the config names"),
    ("serialize_keras_object", "is not a modeling object"),
    (
        "set_global_attribute",
        "sets Keras' global state, including the safe_mode flag (CVE-2025-9906)",
    ),
    (
        "text_dataset_from_directory",
        "reads files from a directory the config names",
    ),
];

/// Module path segments of Keras code that is no modeling object: configuration and global
/// state (where the `safe_mode` flag lives), saving and loading, file and bytecode utilities,
/// SavedModel export, the torch wrapper, and KerasHub's preset downloads.
const NOT_MODELING_SEGMENTS: &[&str] = &[
    "config",
    "export",
    "file_utils",
    "global_state",
    "io_utils",
    "preset_utils",
    "python_utils",
    "saving",
    "torch_utils",
];

/// Every name in Python's `builtins` module (3.11, plus later additions): what
/// `vars(importlib.import_module("builtins")).get(name)` finds.
#[rustfmt::skip]
const PYTHON_BUILTINS: &[&str] = &[
    "ArithmeticError", "AssertionError", "AttributeError", "BaseException", "BaseExceptionGroup",
    "BlockingIOError", "BrokenPipeError", "BufferError", "BytesWarning", "ChildProcessError",
    "ConnectionAbortedError", "ConnectionError", "ConnectionRefusedError", "ConnectionResetError",
    "DeprecationWarning", "EOFError", "Ellipsis", "EncodingWarning", "EnvironmentError",
    "Exception", "ExceptionGroup", "False", "FileExistsError", "FileNotFoundError",
    "FloatingPointError", "FutureWarning", "GeneratorExit", "IOError", "ImportError",
    "ImportWarning", "IndentationError", "IndexError", "InterruptedError", "IsADirectoryError",
    "KeyError", "KeyboardInterrupt", "LookupError", "MemoryError", "ModuleNotFoundError",
    "NameError", "None", "NotADirectoryError", "NotImplemented", "NotImplementedError", "OSError",
    "OverflowError", "PendingDeprecationWarning", "PermissionError", "ProcessLookupError",
    "PythonFinalizationError", "RecursionError", "ReferenceError", "ResourceWarning",
    "RuntimeError", "RuntimeWarning", "StopAsyncIteration", "StopIteration", "SyntaxError",
    "SyntaxWarning", "SystemError", "SystemExit", "TabError", "TimeoutError", "True", "TypeError",
    "UnboundLocalError", "UnicodeDecodeError", "UnicodeEncodeError", "UnicodeError",
    "UnicodeTranslateError", "UnicodeWarning", "UserWarning", "ValueError", "Warning",
    "ZeroDivisionError", "_IncompleteInputError", "__build_class__", "__debug__", "__doc__",
    "__import__", "__loader__", "__name__", "__package__", "__spec__", "abs", "aiter", "all",
    "anext", "any", "ascii", "bin", "bool", "breakpoint", "bytearray", "bytes", "callable", "chr",
    "classmethod", "compile", "complex", "copyright", "credits", "delattr", "dict", "dir", "divmod",
    "enumerate", "eval", "exec", "exit", "filter", "float", "format", "frozenset", "getattr",
    "globals", "hasattr", "hash", "help", "hex", "id", "input", "int", "isinstance", "issubclass",
    "iter", "len", "license", "list", "locals", "map", "max", "memoryview", "min", "next", "object",
    "oct", "open", "ord", "pow", "print", "property", "quit", "range", "repr", "reversed", "round",
    "set", "setattr", "slice", "sorted", "staticmethod", "str", "sum", "super", "tuple", "type",
    "vars", "zip",
];

/// Whether `module` is `package` or lies under it.
fn under(module: &str, package: &str) -> bool {
    module
        .strip_prefix(package)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// Judges `name` resolved from `module` (absent or empty: only registered objects and Keras'
/// own tables are searched). `None` when a loader finds only Keras modeling objects there.
pub(super) fn judge(module: Option<&str>, name: &str, kind: Kind) -> Option<Unsafe> {
    let module = module.filter(|m| !m.is_empty());
    let resolved = match module {
        Some(m) => format!("{m}.{name}"),
        None => String::from(name),
    };
    let unsafe_because = |why| {
        Some(Unsafe {
            resolved: resolved.clone(),
            why,
        })
    };
    let keras_module = module.is_none_or(|m| KERAS_PACKAGES.iter().any(|p| under(m, p)));
    if keras_module {
        // A bare name is looked up among registered objects and Keras' own layers (the legacy
        // loader's `module_objects` hold every name of `keras.layers`, TorchModuleWrapper too).
        if let Some((_, why)) = NOT_MODELING.iter().find(|(n, _)| *n == name) {
            return unsafe_because(why);
        }
        if module.is_some_and(|m| m.split('.').any(|s| NOT_MODELING_SEGMENTS.contains(&s))) {
            return unsafe_because(
                "lives in Keras' configuration, saving or file utilities, not among its modeling objects",
            );
        }
        return None;
    }
    let module = module?;
    if module == "builtins" {
        // Keras resolves its own activations, losses and metrics saved under "builtins" first;
        // only a name that really is a Python builtin reaches `vars(builtins)`.
        if !PYTHON_BUILTINS.contains(&name) {
            return None;
        }
        return unsafe_because(
            "is a Python builtin: Keras before 3.9 imports it by name even in safe_mode (CVE-2025-1550)",
        );
    }
    if kind == Kind::TypeSpec && under(module, "tensorflow") {
        // TensorFlow's own type specs (`tf.TensorSpec`…), which tf.keras writes.
        return None;
    }
    unsafe_because(
        "lies outside Keras' own packages: Keras before 3.9 imports any module a config names, even in safe_mode (CVE-2025-1550); later versions load it only when the loading process registered it",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_modeling_objects_are_fine() {
        assert_eq!(judge(Some("keras.layers"), "Dense", Kind::Class), None);
        assert_eq!(
            judge(
                Some("keras.src.models.functional"),
                "Functional",
                Kind::Class
            ),
            None
        );
        assert_eq!(judge(Some("keras"), "DTypePolicy", Kind::Class), None);
        assert_eq!(judge(None, "Dense", Kind::Class), None);
        assert_eq!(judge(Some(""), "MyLayer", Kind::Class), None);
        assert_eq!(
            judge(
                Some("keras_hub.src.models.gemma.gemma_backbone"),
                "GemmaBackbone",
                Kind::Class
            ),
            None
        );
        assert_eq!(
            judge(
                Some("keras.src.quantizers.quantization_config"),
                "Int8QuantizationConfig",
                Kind::Class
            ),
            None
        );
        assert_eq!(judge(Some("builtins"), "relu", Kind::Function), None);
        assert_eq!(
            judge(
                Some("tensorflow.python.framework.tensor_spec"),
                "TensorSpec",
                Kind::TypeSpec
            ),
            None
        );
    }

    #[test]
    fn everything_else_is_named() {
        let r = |m: Option<&str>, n: &str, k| judge(m, n, k).map(|u| u.resolved);
        assert_eq!(
            r(Some("builtins"), "eval", Kind::Function).as_deref(),
            Some("builtins.eval")
        );
        assert_eq!(
            r(Some("builtins"), "exec", Kind::Class).as_deref(),
            Some("builtins.exec")
        );
        assert_eq!(
            r(Some("os"), "system", Kind::Function).as_deref(),
            Some("os.system")
        );
        assert_eq!(
            r(Some("kerasx.layers"), "Dense", Kind::Class).as_deref(),
            Some("kerasx.layers.Dense")
        );
        assert_eq!(
            r(Some("keras.utils"), "get_file", Kind::Function).as_deref(),
            Some("keras.utils.get_file")
        );
        assert_eq!(
            r(
                Some("keras.src.backend.common.global_state"),
                "set_global_attribute",
                Kind::Function
            )
            .as_deref(),
            Some("keras.src.backend.common.global_state.set_global_attribute")
        );
        assert_eq!(
            r(Some("keras.src.utils.file_utils"), "rmtree", Kind::Function).as_deref(),
            Some("keras.src.utils.file_utils.rmtree")
        );
        assert_eq!(
            r(None, "TorchModuleWrapper", Kind::Class).as_deref(),
            Some("TorchModuleWrapper")
        );
        assert_eq!(
            r(Some("tensorflow.python.ops"), "TensorSpec", Kind::Class).as_deref(),
            Some("tensorflow.python.ops.TensorSpec")
        );
        assert_eq!(
            r(Some("__main__"), "MyLayer", Kind::Class).as_deref(),
            Some("__main__.MyLayer")
        );
    }
}
