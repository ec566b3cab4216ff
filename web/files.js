// Turns a drop or a file-picker selection into the list of files to scan, each with the path
// shown on the page and written into the report.
//
// The order and the skipping follow the CLI (cli/src/discover.rs): folders are walked depth first
// with entries sorted by name, hidden files are scanned (attackers hide payloads there), and only
// `.git` directories inside a folder are skipped. Paths are relative to the dropped or picked
// folder and start with its name (`my-model/weights/model.bin`), as `modelsieve scan my-model/`
// prints them.

/** Compares two strings by code point (the CLI sorts UTF-8 bytes, which is the same order). */
function compareCodePoints(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Compares two `/`-separated paths component by component: a depth-first, name-sorted walk. */
export function comparePaths(a, b) {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = compareCodePoints(x[i], y[i]);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Whether a path inside a picked folder lies in a `.git` directory below the folder itself. */
function insideGit(path) {
  const parts = path.split('/');
  return parts.slice(1, -1).includes('.git');
}

/** Sorts `{ file, path }` items into the CLI's order. */
function inScanOrder(items) {
  return items.sort((a, b) => comparePaths(a.path, b.path));
}

/**
 * Files chosen with an `<input type=file>`: with `webkitdirectory` every file carries its path
 * under the picked folder in `webkitRelativePath`; otherwise the path is the file's name.
 */
export function filesFromInput(fileList) {
  const items = [];
  for (const file of fileList) {
    const path = file.webkitRelativePath || file.name;
    if (!insideGit(path)) items.push({ file, path });
  }
  return inScanOrder(items);
}

/** Reads every entry of a directory (`readEntries` answers in batches until it returns none). */
async function readAllEntries(dir) {
  const reader = dir.createReader();
  const all = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

/** The File behind a FileSystemFileEntry. */
function entryFile(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/**
 * Walks a dropped entry without recursion (deep trees must not overflow the stack). Folders that
 * cannot be listed and files that cannot be opened are reported through `onError` and skipped.
 */
async function walkEntry(root, items, onError) {
  const stack = [root];
  while (stack.length > 0) {
    const entry = stack.pop();
    const path = entry.fullPath.replace(/^\/+/, '');
    try {
      if (entry.isFile) {
        items.push({ file: await entryFile(entry), path });
      } else if (entry.isDirectory && !(entry !== root && entry.name === '.git')) {
        const children = await readAllEntries(entry);
        children.sort((a, b) => compareCodePoints(b.name, a.name));
        stack.push(...children);
      }
    } catch (e) {
      onError?.(path, e);
    }
  }
}

/**
 * The files of a drop, folders included. Must be called synchronously from the `drop` handler:
 * the browser empties `dataTransfer.items` as soon as the handler returns, so the entries are
 * taken first and walked afterwards.
 */
export function filesFromDrop(dataTransfer, { onError } = {}) {
  const entries = [];
  const loose = [];
  const items = dataTransfer.items ? [...dataTransfer.items] : [];
  for (const item of items) {
    if (item.kind !== 'file') continue;
    // webkitGetAsEntry is what every current browser implements for dropped folders; a
    // DataTransfer built by script has no entries, so fall back to the plain File then.
    const entry = item.webkitGetAsEntry?.() ?? null;
    if (entry) entries.push(entry);
    else {
      const file = item.getAsFile();
      if (file) loose.push({ file, path: file.webkitRelativePath || file.name });
    }
  }
  if (items.length === 0) {
    for (const file of dataTransfer.files ?? []) loose.push({ file, path: file.webkitRelativePath || file.name });
  }
  return (async () => {
    const found = [...loose];
    for (const entry of entries) await walkEntry(entry, found, onError);
    return inScanOrder(found.filter(({ path }) => !insideGit(path)));
  })();
}
