use super::*;

#[test]
fn deny_matches_children_at_dot_boundaries_only() {
    let p = Policy::default();
    assert!(matches!(
        p.classify("os", "system"),
        GlobalClass::Denied { .. }
    ));
    assert!(matches!(
        p.classify("os.path", "join"),
        GlobalClass::Denied { .. }
    ));
    assert_eq!(p.classify("osgeo", "gdal"), GlobalClass::Unknown);
}

#[test]
fn dotted_names_are_judged_by_every_tail() {
    let p = Policy::default();
    match p.classify("pathlib", "os.system") {
        GlobalClass::Denied { matched, .. } => assert_eq!(matched, "os"),
        other => panic!("pathlib + os.system judged {other:?}"),
    }
}

#[test]
fn a_builtins_namespace_in_a_dotted_name_is_the_builtins_module() {
    // Under `python train.py`, `__main__.__builtins__` is the builtins module itself.
    let p = Policy::default();
    for (module, name) in [
        ("__main__", "__builtins__.eval"),
        ("collections", "__builtins__.exec"),
        ("torch._utils", "_rebuild_tensor_v2.__builtins__.eval"),
    ] {
        match p.classify(module, name) {
            GlobalClass::Denied { matched, .. } => {
                assert!(matched.starts_with("builtins."), "{matched}")
            }
            other => panic!("{module} + {name} judged {other:?}"),
        }
    }
    // Any other lookup through the namespace, or the namespace itself, is still a gadget.
    for (module, name) in [("__main__", "__builtins__.len"), ("numpy", "__builtins__")] {
        match p.classify(module, name) {
            GlobalClass::Denied { matched, .. } => assert_eq!(matched, "__builtins__"),
            other => panic!("{module} + {name} judged {other:?}"),
        }
    }
}

#[test]
fn python2_names_are_judged_under_python3_names() {
    let p = Policy::default();
    assert!(matches!(
        p.classify("__builtin__", "eval"),
        GlobalClass::Denied { .. }
    ));
}

#[test]
fn user_policy_overrides_and_validates() {
    let p = Policy::from_json(r#"{"allow":["mypkg.Model","other.*"],"deny":["collections.OrderedDict",{"path":"mypkg.bad","severity":"high"}],"severity":{"pickle.unknown-global":"low"}}"#)
        .expect("valid policy");
    assert_eq!(p.classify("mypkg", "Model"), GlobalClass::Allowed);
    assert_eq!(p.classify("other.deep", "Thing"), GlobalClass::Allowed);
    assert!(matches!(
        p.classify("collections", "OrderedDict"),
        GlobalClass::Denied {
            severity: Severity::Critical,
            ..
        }
    ));
    assert!(matches!(
        p.classify("mypkg.bad", "x"),
        GlobalClass::Denied {
            severity: Severity::High,
            ..
        }
    ));
    assert_eq!(
        p.severity(Rule::PickleUnknownGlobal, Severity::Medium),
        Severity::Low
    );
    assert!(Policy::from_json(r#"{"allow":["not a path"]}"#).is_err());
    assert!(Policy::from_json(r#"{"severity":{"no.such-rule":"low"}}"#).is_err());
    assert!(Policy::from_json(r#"{"severity":{"pickle.unknown-global":"bad"}}"#).is_err());
    assert!(Policy::from_json(r#"{"unknown":1}"#).is_err());
}

fn is_denied(p: &Policy, path: &str) -> bool {
    matches!(p.classify_path(path), GlobalClass::Denied { .. })
}

/// Every global named in the notes of a `malicious` row of `shared/conformance/manifest.tsv`
/// (rows whose note names a module-level global; `suspicious:` names that are ordinary, such as
/// `__builtin__.dict` and `_codecs.encode`, are left out, and so are the peer's own
/// `tests.test_pickle_scanner` and the `unknown.os`/`42.os` operand placeholders).
const MANIFEST_MALICIOUS_GLOBALS: &[&str] = &[
    "os.system",
    "subprocess.call",
    "subprocess.Popen",
    "subprocess.run",
    "builtins.eval",
    "builtins.exec",
    "nt.system",
    "posix.system",
    "dill._dill._create_function",
    "dill._dill._create_code",
    "__builtin__.eval",
    "__builtin__.compile",
    "__builtin__.apply",
    "__builtin__.getattr",
    "__builtin__.globals",
    "__builtin__.exec",
    "operator.attrgetter",
    "builtins.__import__",
    "pickle.loads",
    "_pickle.loads",
    "runpy._run_code",
    "bdb.Bdb",
    "bdb.Bdb.run",
    "pip.main",
    "torch._inductor.codecache.compile_file",
    "pydoc.pipepager",
    "functools.partial",
    "torch.serialization.load",
    "venv.create",
    "httplib.HTTPSConnection",
    "requests.api.get",
    "aiohttp.client.ClientSession",
    "socket.create_connection",
    "sys.exit",
    "idlelib.pyshell.ModifiedInterpreter.runcode",
    "idlelib.debugobj.ObjectTreeItem.SetText",
    "ctypes.CDLL",
    "_operator.attrgetter",
    "cProfile.run",
    "torch.utils.bottleneck.__main__.run_cprofile",
    "torch.utils.bottleneck.__main__.run_autograd_prof",
    "trace.Trace.run",
    "profile.Profile.runctx",
    "idlelib.autocomplete.AutoComplete.get_entity",
    "idlelib.autocomplete.AutoComplete.fetch_completions",
    "profile.run",
    "pydoc.locate",
    "operator.methodcaller",
    "torch._dynamo.guards.GuardBuilder.get",
    "idlelib.calltip.Calltip.fetch_tip",
    "_operator.methodcaller",
    "cProfile.runctx",
    "idlelib.calltip.get_entity",
    "code.InteractiveInterpreter.runcode",
    "torch.fx.experimental.symbolic_shapes.ShapeEnv.evaluate_guards_expression",
    "lib2to3.pgen2.grammar.Grammar.loads",
    "torch.utils.collect_env.run",
    "torch.utils.collect_env.run_and_read_all",
    "doctest.debug_script",
    "trace.Trace.runctx",
    "_aix_support._read_cmd_output",
    "imaplib.IMAP4_stream",
    "_osx_support._read_output",
    "_pyrepl.pager.pipe_pager",
    "test.support.script_helper.assert_python_ok",
    "uuid._get_command_stdout",
    "torch.utils.data.datapipes.utils.decoder.basichandlers",
    "idlelib.pyshell.ModifiedInterpreter.runcommand",
    "asyncio.unix_events._UnixSubprocessTransport._start",
    "distutils.file_util.write_file",
    "idlelib.run.Executive.runcode",
    "lib2to3.pgen2.pgen.ParserGenerator.make_label",
    "numpy.f2py.crackfortran.getlincoef",
    "pty.spawn",
    "torch.jit.unsupported_tensor_ops.execWrapper",
    "torch.utils._config_module.ConfigModule.load_config",
    "pkgutil.resolve_name",
    "profile.Profile.run",
    "ensurepip._run_pip",
    "cloudpickle.cloudpickle._function_setstate",
    "cloudpickle.cloudpickle._builtin_type",
    "cloudpickle.cloudpickle._make_function",
    "cloudpickle.cloudpickle._make_cell",
    "cloudpickle.cloudpickle._make_empty_cell",
    "cloudpickle.cloudpickle.subimport",
    "ssl.get_server_certificate",
    "_io.FileIO",
    "io.FileIO",
    "logging.FileHandler",
    "timeit.timeit",
    "numpy.testing._private.utils.runstring",
    "types.CodeType",
    "urllib.request.urlopen",
];

#[test]
fn every_malicious_manifest_global_is_denied() {
    let p = Policy::default();
    let missed: Vec<&str> = MANIFEST_MALICIOUS_GLOBALS
        .iter()
        .copied()
        .filter(|g| !is_denied(&p, g))
        .collect();
    assert!(missed.is_empty(), "not denied: {missed:?}");
}

#[test]
fn peer_lists_are_covered() {
    // One representative per picklescan 1.0.5 / modelscan 0.8.8 entry that the manifest does not
    // already name.
    let p = Policy::default();
    for g in [
        "__builtin__.open",
        "builtins.breakpoint",
        "__builtin__.__import__",
        "commands.getoutput",
        "operator.itemgetter",
        "_operator.itemgetter",
        "shutil.rmtree",
        "webbrowser.open",
        "asyncio.create_subprocess_shell",
        "pdb.run",
        "_pickle.Unpickler",
        "numpy.testing._private.utils.assert_equal",
        "test.support.os_helper.rmtree",
        "uuid.getnode",
        "_pyrepl.pager.tempfile_pager",
        "_osx_support._find_build_tool",
        "aiohttp.request",
    ] {
        assert!(is_denied(&p, g), "{g} should be denied");
    }
}

#[test]
fn gadgets_not_listed_by_peers_are_denied() {
    let p = Policy::default();
    for g in [
        "builtins.setattr",
        "builtins.delattr",
        "builtins.vars",
        "builtins.locals",
        "builtins.object.__getattribute__",
        "importlib.import_module",
        "inspect.getmembers",
        "http.client.HTTPConnection",
        "_posixsubprocess.fork_exec",
        "multiprocessing.Process",
        "site.addsitedir",
        "atexit.register",
        "marshal.loads",
        "types.FunctionType",
        "runpy.run_path",
        "functools.reduce",
        "_functools.partial",
        "codeop.compile_command",
        "signal.signal",
        "zipimport.zipimporter",
        "copyreg.add_extension",
        "torch.hub.load",
        "torch.package.PackageImporter",
        "torch.jit.load",
        "torch.fx.graph_module.reduce_graph_module",
        "numpy.lib.npyio.load",
        "numpy.core._ufunc_reconstruct",
        "joblib.load",
        "tensorflow.io.gfile.GFile",
        "keras.saving.load_model",
        "pathlib.PosixPath.write_text",
        "popen2.popen2",
        "cPickle.loads",
        "hydra.utils.instantiate",
        "hydra.utils.get_method",
        "werkzeug.utils.import_string",
        "django.utils.module_loading.import_string",
        "kombu.utils.imports.symbol_by_name",
        "dill.loads",
        "yaml.unsafe_load",
    ] {
        assert!(is_denied(&p, g), "{g} should be denied");
    }
}

#[test]
fn python2_aliases_reach_the_python3_entries() {
    let p = Policy::default();
    // NAME_MAPPING renames: reduce -> functools.reduce, intern -> sys.intern, urlopen -> urllib.request.
    assert!(
        matches!(p.classify("__builtin__", "reduce"), GlobalClass::Denied { matched, .. } if matched == "functools.reduce")
    );
    assert!(
        matches!(p.classify("__builtin__", "intern"), GlobalClass::Denied { matched, .. } if matched == "sys")
    );
    assert!(is_denied(&p, "urllib.urlopen"));
    assert!(is_denied(&p, "urllib2.urlopen"));
    assert!(is_denied(&p, "xmlrpclib.ServerProxy"));
    // IMPORT_MAPPING renames of ordinary names stay allowed.
    assert_eq!(
        p.classify("copy_reg", "_reconstructor"),
        GlobalClass::Allowed
    );
    assert_eq!(p.classify("__builtin__", "set"), GlobalClass::Allowed);
    assert_eq!(p.classify("__builtin__", "unicode"), GlobalClass::Allowed);
    assert_eq!(p.classify("__builtin__", "xrange"), GlobalClass::Allowed);
    assert_eq!(p.classify("UserDict", "UserDict"), GlobalClass::Allowed);
}

#[test]
fn representative_allowlist_is_allowed() {
    let p = Policy::default();
    for g in [
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.Counter",
        "collections.deque",
        "builtins.set",
        "builtins.frozenset",
        "builtins.bytearray",
        "builtins.complex",
        "builtins.slice",
        "builtins.object",
        "copyreg._reconstructor",
        "copyreg.__newobj__",
        "_codecs.encode",
        "torch.FloatStorage",
        "torch.BFloat16Storage",
        "torch.storage.UntypedStorage",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._utils._rebuild_sparse_tensor",
        "torch._utils._rebuild_qtensor",
        "torch._utils._rebuild_device_tensor_from_numpy",
        "torch._utils._rebuild_meta_tensor_no_storage",
        "torch._utils._rebuild_wrapper_subclass",
        "torch._tensor._rebuild_from_type_v2",
        "torch.Size",
        "torch.device",
        "torch.float32",
        "torch.bfloat16",
        "torch.nn.parameter.Parameter",
        "torch.nn.modules.linear.Linear",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "numpy.core.numeric._frombuffer",
        "numpy._core.numeric._frombuffer",
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.dtypes.Float64DType",
        "numpy.float64",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._pickle.__generator_ctor",
        "numpy.random._mt19937.MT19937",
        "datetime.datetime",
        "datetime.timedelta",
        "decimal.Decimal",
        "fractions.Fraction",
        "pathlib.PosixPath",
        "re._compile",
        "scipy.sparse._csr.csr_matrix",
        "scipy.sparse.csr.csr_matrix",
        "scipy.sparse._csc.csc_array",
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._tree.Tree",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.pipeline.Pipeline",
        "sklearn.svm._classes.SVC",
        "sklearn.neighbors._classification.KNeighborsClassifier",
        "sklearn.neighbors._kd_tree.newObj",
        "sklearn.naive_bayes.GaussianNB",
        "sklearn.cluster._kmeans.KMeans",
        "sklearn.decomposition._pca.PCA",
        "sklearn.feature_extraction.text.TfidfVectorizer",
        "sklearn.utils._bunch.Bunch",
        "sklearn.ensemble.forest.RandomForestClassifier",
    ] {
        assert_eq!(p.classify_path(g), GlobalClass::Allowed, "{g}");
    }
}

#[test]
fn loaders_are_never_allowed() {
    let p = Policy::default();
    for g in [
        "torch.load",
        "torch.serialization.load",
        "numpy.load",
        "numpy.testing._private.utils.runstring",
        "torch.storage._load_from_bytes",
    ] {
        assert!(is_denied(&p, g), "{g} should be denied");
    }
    // Exact allow entries do not reach the children of an allowed class.
    assert_eq!(
        p.classify("torch", "FloatStorage.from_file"),
        GlobalClass::Unknown
    );
    assert!(matches!(
        p.classify("numpy", "ndarray.tofile"),
        GlobalClass::Denied { .. }
    ));
}

#[test]
fn nested_loaders_are_denied() {
    let p = Policy::default();
    for l in tables::NESTED_LOADERS {
        assert!(is_denied(&p, l), "nested loader {l} is not denied");
        assert!(p.is_nested_loader(l));
    }
}

#[test]
fn tables_are_consistent() {
    let p = Policy::default();
    let mut seen = alloc::collections::BTreeSet::new();
    for e in tables::DENY {
        assert!(validate_path(e.path).is_ok(), "bad deny path {}", e.path);
        assert!(seen.insert(e.path), "duplicate deny entry {}", e.path);
        assert!(!e.reason.is_empty(), "deny entry {} has no reason", e.path);
    }
    // No entry lies below another: the shorter one would always match first and hide it.
    for e in tables::DENY {
        for prefix in dotted_prefixes(e.path).filter(|pre| *pre != e.path) {
            assert!(
                !seen.contains(prefix),
                "deny entry {} is shadowed by {prefix}",
                e.path
            );
        }
    }
    let mut allowed = alloc::collections::BTreeSet::new();
    for a in tables::ALLOW_EXACT {
        assert!(validate_path(a).is_ok(), "bad allow path {a}");
        assert!(allowed.insert(*a), "duplicate allow entry {a}");
        assert_eq!(
            p.classify_path(a),
            GlobalClass::Allowed,
            "allow entry {a} is not allowed"
        );
    }
    for (from, to) in tables::MODULE_ALIASES {
        assert!(validate_path(from).is_ok() && validate_path(to).is_ok());
    }
    // _compat_pickle of CPython 3.8-3.12: 55 module renames (Tix included), 88 name renames.
    assert_eq!(tables::MODULE_ALIASES.len(), 55);
    assert_eq!(tables::NAME_ALIASES.len(), 88);
}
