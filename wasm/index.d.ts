// Type declarations for the modelsieve package (index.js). Reports are exactly the core's
// serialised Report (one entry of `modelsieve scan --format json`) plus `failed`.

/** How bad a finding is, lowest first. */
export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

/** The one-word judgement of a file: `dangerous` if any finding is high or critical,
 *  `suspicious` if the worst is medium, else `clean`. */
export type Verdict = 'clean' | 'suspicious' | 'dangerous';

/** What the scanner recognised the file as, from its bytes (never from its name). */
export type Format =
  | 'pickle'
  | 'pytorch-legacy'
  | 'joblib'
  | 'npy'
  | 'safetensors'
  | 'zip'
  | 'pytorch-zip'
  | 'torchscript'
  | 'npz'
  | 'tar'
  | 'pytorch-tar'
  | 'gzip'
  | 'zlib'
  | '7z'
  | 'xz'
  | 'lzma'
  | 'bzip2'
  | 'zstd'
  | 'lz4'
  | 'rar'
  | 'gguf'
  | 'onnx'
  | 'tf-saved-model'
  | 'tf-graph-def'
  | 'tf-fingerprint'
  | 'keras-metadata'
  | 'keras'
  | 'keras-config'
  | 'json'
  | 'keras-h5'
  | 'hdf5'
  | 'unknown';

/** Stable dotted rule ids (`rules()` lists them with their default severity and summary). */
export type RuleId =
  | 'pickle.dangerous-global'
  | 'pickle.unknown-global'
  | 'pickle.unresolved-global'
  | 'pickle.indirect-global'
  | 'pickle.opaque-call'
  | 'pickle.build-override'
  | 'pickle.nested-load'
  | 'pickle.embedded-payload'
  | 'pickle.extension-code'
  | 'pickle.malformed'
  | 'pickle.trailing-bytes'
  | 'joblib.unreadable-array'
  | 'zip.header-mismatch'
  | 'zip.crc-mismatch'
  | 'zip.encrypted-member'
  | 'zip.unusual-flags'
  | 'zip.overlapping-members'
  | 'zip.layout'
  | 'archive.unsafe-path'
  | 'archive.duplicate-name'
  | 'archive.link-member'
  | 'archive.unscannable'
  | 'archive.malformed'
  | 'archive.decompression-bomb'
  | 'torch.torchscript-code'
  | 'numpy.malformed-header'
  | 'safetensors.invalid'
  | 'gguf.malformed'
  | 'gguf.template-injection'
  | 'onnx.external-data-path'
  | 'onnx.custom-operator-domain'
  | 'onnx.external-data-mismatch'
  | 'onnx.malformed'
  | 'tf.dangerous-op'
  | 'tf.malformed'
  | 'keras.lambda-code'
  | 'keras.unsafe-object'
  | 'keras.invalid-config'
  | 'hdf5.malformed'
  | 'scan.limit-reached'
  | 'scan.incomplete'
  | 'format.unrecognized';

/** One thing the scanner saw that a person should know about. */
export interface Finding {
  /** Stable dotted rule id, e.g. `pickle.dangerous-global`. */
  rule: RuleId;
  /** How bad it is, after the policy's overrides. */
  severity: Severity;
  /** Path of the member inside a container (`archive/data.pkl`) or of a nested payload
   *  (`#pickle@112`); null for the top-level file. */
  member: string | null;
  /** Byte offset where the finding starts, relative to `member` (or to the file). */
  offset: number | null;
  /** One sentence a person can act on. */
  message: string;
  /** The exact thing seen (`os.system`, a quoted argument, a member name), if any. */
  evidence: string | null;
}

/** Everything a scan found out about one file. */
export interface Report {
  /** `options.name` (scanBlob: the File's name; scanUrl: the URL), else ''. */
  path: string;
  /** The outermost format recognised. */
  format: Format;
  /** Derived from `findings`. */
  verdict: Verdict;
  /** How many bytes of the file the scanner looked at: a few KiB of a multi-GB archive when
   *  the driver can seek (scanBlob, scanUrl), everything it was given when streaming. */
  bytes_read: number;
  /** The file's size, when the driver knew it. */
  size: number | null;
  /** In order of discovery; never deduplicated across members. */
  findings: Finding[];
  /** Whether some finding is at or above `failOn` (default `medium`), as the CLI's exit code 1. */
  failed: boolean;
}

/** The CLI's `--format json` document. */
export interface ReportDocument {
  schema_version: 1;
  files: Report[];
}

/** A user policy, as the CLI's `--policy` file holds it. */
export interface Policy {
  /** Exact dotted paths, or subtrees ending in `.*`, to allow. */
  allow?: string[];
  /** Paths to deny (with their dotted children), at `critical` unless a severity is given. */
  deny?: (string | { path: string; severity?: Severity; reason?: string })[];
  /** Re-grades every finding of a rule. */
  severity?: Partial<Record<RuleId, Severity>>;
}

/** Progress of a scan: bytes read so far, and the file's size when known. */
export interface Progress {
  bytesRead: number;
  size: number | undefined;
}

/** Options every scan takes. */
export interface ScanOptions {
  /** The report's `path`. */
  name?: string;
  /** A policy object, or its JSON text. Invalid policies throw. */
  policy?: Policy | string;
  /** The threshold for `report.failed`; `medium` by default. */
  failOn?: Severity;
  /** Called after every read with the bytes read so far (never decreasing). */
  onProgress?: (progress: Progress) => void;
  /** Aborting rejects the scan with the signal's reason (an `AbortError` DOMException). */
  signal?: AbortSignal;
}

export interface StreamOptions extends ScanOptions {
  /** The stream's length in bytes, when known: archives can then be read from their end, and
   *  the scan stops as soon as the scanner has what it needs. */
  size?: number;
}

export interface UrlOptions extends ScanOptions {
  /** Extra request headers (e.g. an Authorization for a private registry). */
  headers?: HeadersInit;
  /** Replaces the global fetch (e.g. a Workers service binding's fetch). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

/** What `init()` accepts: nothing (fetch or read the .wasm next to index.js), a compiled
 *  `WebAssembly.Module` (Workers), the .wasm bytes, or where to fetch them from. */
export type InitInput =
  | WebAssembly.Module
  | BufferSource
  | URL
  | string
  | Request
  | Response
  | Promise<Response>;

/** Loads the WebAssembly module; the async scans call it themselves. Idempotent. */
export function init(input?: InitInput): Promise<void>;
/** Synchronous init from a compiled module or the .wasm bytes. */
export function initSync(module: WebAssembly.Module | BufferSource): void;

/** Scans a whole file held in memory. Call `await init()` first. */
export function scanBytes(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, options?: ScanOptions): Report;
/** Scans a Blob or File reading only the slices the scanner asks for. */
export function scanBlob(blob: Blob, options?: ScanOptions): Promise<Report>;
/** Scans a stream chunk by chunk, in order. */
export function scanStream(
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options?: StreamOptions,
): Promise<Report>;
/** Scans a file over HTTP with Range requests; streams the body when the server ignores them. */
export function scanUrl(url: string | URL, options?: UrlOptions): Promise<Report>;
/** SARIF 2.1.0 for reports, as `modelsieve scan --format sarif` writes it. */
export function toSarif(
  reports: Report | Report[] | ReportDocument,
  options?: { policy?: Policy | string },
): SarifLog;
/** The rule catalogue, in catalogue order, with default severities. */
export function rules(): RuleInfo[];
/** The scanner's version. */
export function version(): string;
/** Severity names, lowest first. */
export const severities: readonly Severity[];

export interface RuleInfo {
  id: RuleId;
  /** The default severity (a policy may re-grade it). */
  severity: Severity;
  title: string;
  summary: string;
}

/** A SARIF 2.1.0 log (the fields modelsieve writes; see the SARIF specification for the rest). */
export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: {
    tool: { driver: { name: 'modelsieve'; version: string; rules: Record<string, unknown>[] } };
    invocations: Record<string, unknown>[];
    results: Record<string, unknown>[];
  }[];
}

/** The byte range the scanner wants next. */
export interface Want {
  offset: number;
  len: number;
}

/** The low-level sans-IO scanner, for drivers of your own. */
export class Scanner {
  constructor(options?: { policy?: Policy | string; size?: number; failOn?: Severity; name?: string });
  /** What to read next, or undefined when done (then call finish). */
  want(): Want | undefined;
  /** Gives the scanner bytes found at `offset`. */
  feed(offset: number, bytes: Uint8Array): void;
  /** Ends the scan; the scanner cannot be fed afterwards. */
  finish(): Report;
  /** Releases the WebAssembly memory held by this scanner. */
  free(): void;
}
