//! TensorFlow ops that reach outside the graph: files, directories and Python.

/// Ops that read or write files, list directories or call Python, with what each does.
///
/// Checkpoint ops (`SaveV2`, `RestoreV2`, `MergeV2Checkpoints`, `ShardedFilename`, ...) also
/// touch files, but every SavedModel has them, with paths chosen by the loader: they are not
/// listed.
const DANGEROUS: &[(&str, &str)] = &[
    ("ReadFile", "reads a file named by a tensor"),
    ("WriteFile", "writes a file named by a tensor"),
    ("MatchingFiles", "lists files matching a glob"),
    ("PyFunc", "calls a Python function"),
    ("PyFuncStateless", "calls a Python function"),
    ("EagerPyFunc", "calls a Python function"),
    ("ImmutableConst", "memory-maps a file named in an attribute"),
    ("FixedLengthRecordDataset", "reads files named by a tensor"),
    (
        "FixedLengthRecordDatasetV2",
        "reads files named by a tensor",
    ),
    ("TFRecordDataset", "reads files named by a tensor"),
    ("TFRecordDatasetV2", "reads files named by a tensor"),
    ("TextLineDataset", "reads files named by a tensor"),
    ("CSVDataset", "reads files named by a tensor"),
    ("CSVDatasetV2", "reads files named by a tensor"),
    ("ExperimentalCSVDataset", "reads files named by a tensor"),
    ("LMDBDataset", "reads an LMDB database from files"),
    (
        "ExperimentalLMDBDataset",
        "reads an LMDB database from files",
    ),
    ("SqlDataset", "opens a database file and runs a query"),
    (
        "ExperimentalSqlDataset",
        "opens a database file and runs a query",
    ),
    (
        "CreateSummaryFileWriter",
        "writes event files to a folder named by a tensor",
    ),
    (
        "CreateSummaryDbWriter",
        "writes a database file named by a tensor",
    ),
    ("WholeFileReader", "reads whole files"),
    ("WholeFileReaderV2", "reads whole files"),
    ("TextLineReader", "reads files line by line"),
    ("TextLineReaderV2", "reads files line by line"),
    ("FixedLengthRecordReader", "reads files"),
    ("FixedLengthRecordReaderV2", "reads files"),
    ("TFRecordReader", "reads files"),
    ("TFRecordReaderV2", "reads files"),
    (
        "LoadAndRemapMatrix",
        "reads a checkpoint file named by a tensor",
    ),
    (
        "DebugIdentityV2",
        "writes debug dumps to a folder named in an attribute",
    ),
    (
        "SnapshotDataset",
        "writes dataset snapshots to a path named by a tensor",
    ),
    (
        "SnapshotDatasetV2",
        "writes dataset snapshots to a path named by a tensor",
    ),
    (
        "SaveDataset",
        "writes a dataset to a path named by a tensor",
    ),
    (
        "SaveDatasetV2",
        "writes a dataset to a path named by a tensor",
    ),
    (
        "LoadDataset",
        "reads a dataset from a path named by a tensor",
    ),
];

/// What a dangerous op does, or `None` for an op that only computes.
pub(super) fn danger(op: &str) -> Option<&'static str> {
    DANGEROUS
        .iter()
        .find(|(name, _)| *name == op)
        .map(|(_, what)| *what)
}
