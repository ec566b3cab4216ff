// Report helpers shared by the page and by <model-sieve>: the schema-v1 document, display
// escaping, sizes, severities and verdict labels. No DOM, no I/O.

/** The report schema version this page writes (core `SCHEMA_VERSION`). */
export const SCHEMA_VERSION = 1;

/** Severities, lowest first (core `Severity::ALL`). */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'];

/** Verdicts, best first. */
export const VERDICTS = ['clean', 'suspicious', 'dangerous'];

/** What a verdict says, in words and with a symbol that does not rely on colour. */
export const VERDICT_LABEL = {
  clean: { word: 'Clean', symbol: '\u2713', blurb: 'nothing that runs code on load' },
  suspicious: { word: 'Suspicious', symbol: '!', blurb: 'needs a look before loading' },
  dangerous: { word: 'Dangerous', symbol: '\u2715', blurb: 'loading it can run code' },
};

/** Rank of a severity (higher is worse); unknown names rank lowest. */
export function severityRank(severity) {
  return SEVERITIES.indexOf(severity);
}

/** Field order of a report and of a finding, as the core serialises them (serde field order). */
const REPORT_KEYS = ['path', 'format', 'verdict', 'bytes_read', 'size', 'findings'];
const FINDING_KEYS = ['rule', 'severity', 'member', 'offset', 'message', 'evidence'];

/** `value` with `undefined` spelled as `null` and BigInts as numbers, like serde_json writes it. */
function plain(value) {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  return value;
}

/** Copies `source` with `keys` first, in that order, then any other keys except `skip`. */
function ordered(source, keys, skip) {
  const out = {};
  for (const key of keys) out[key] = plain(source?.[key]);
  for (const [key, value] of Object.entries(source ?? {})) {
    if (!(key in out) && !skip.includes(key)) out[key] = plain(value);
  }
  return out;
}

/**
 * One report exactly as the core serialises it: the package's extra `failed` flag dropped,
 * absent options as `null`, fields in the core's order. Its JSON is what the CLI writes.
 */
export function coreReport(report) {
  const out = ordered(report, REPORT_KEYS, ['failed']);
  out.findings = (report?.findings ?? []).map((f) => ordered(f, FINDING_KEYS, []));
  return out;
}

/** The schema-v1 report document (the CLI's `--format json`) for `reports`, in order. */
export function reportDocument(reports) {
  return { schema_version: SCHEMA_VERSION, files: reports.map(coreReport) };
}

/** The document as the CLI prints it: two-space indentation and a final newline. */
export function reportJson(reports) {
  return JSON.stringify(reportDocument(reports), null, 2) + '\n';
}

/** Characters that could mislead a reader (controls, bidi overrides, zero-width marks). */
const MISLEADING = /[\p{Cc}\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/gu;

/** Control characters except newline and tab, plus the same invisible marks. */
const MISLEADING_KEEP_LINES = /[\0-\x08\x0B-\x1F\x7F-\x9F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/gu;

/** The escape the CLI's text output uses for a character (Rust `escape_default`). */
function escapeChar(c) {
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  if (c === '\r') return '\\r';
  return `\\u{${c.codePointAt(0).toString(16)}}`;
}

/**
 * `text` with every character that could mislead a reader escaped as `\u{…}`, as the CLI's text
 * output does: a member name with a right-to-left override must not display as something else.
 * `keepLines` leaves newlines and tabs alone (for evidence shown in a block).
 */
export function sanitize(text, { keepLines = false } = {}) {
  if (text === null || text === undefined) return '';
  return String(text).replace(keepLines ? MISLEADING_KEEP_LINES : MISLEADING, escapeChar);
}

/** A byte count for people: `812 B`, `4.2 KB`, `4.29 GB` (powers of 1000). */
export function formatBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return '?';
  const value = Number(n);
  if (value < 1000) return `${value} B`;
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let v = value;
  let unit = -1;
  while (v >= 1000 && unit < units.length - 1) {
    v /= 1000;
    unit++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[unit]}`;
}

/** Counts of `items` by `key(item)` over `names` (every name present, zero when absent). */
export function countBy(items, names, key) {
  const counts = Object.fromEntries(names.map((n) => [n, 0]));
  for (const item of items) {
    const k = key(item);
    if (k in counts) counts[k]++;
  }
  return counts;
}

/** Findings sorted worst first; equal severities keep the scanner's order (by offset). */
export function findingsWorstFirst(findings) {
  return findings
    .map((f, i) => [f, i])
    .sort(([a, i], [b, j]) => severityRank(b.severity) - severityRank(a.severity) || i - j)
    .map(([f]) => f);
}

/** `member · offset 112 (0x70)`, or `—` when the finding is about the file as a whole. */
export function findingPlace(finding) {
  const parts = [];
  if (finding.member !== null && finding.member !== undefined) parts.push(sanitize(finding.member));
  if (finding.offset !== null && finding.offset !== undefined) {
    const off = Number(finding.offset);
    parts.push(`offset ${off} (0x${off.toString(16)})`);
  }
  return parts;
}
