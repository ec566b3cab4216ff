// The example page's event log: one line per `scan-complete` (a page with a strict CSP cannot
// use an inline script, so this lives in its own file).
import { sanitize } from './report.js';

const log = document.getElementById('event-log');
document.addEventListener('scan-complete', (event) => {
  const report = event.detail;
  const item = document.createElement('li');
  item.textContent = `${sanitize(report.path)}: ${report.verdict} (${report.findings.length} finding${
    report.findings.length === 1 ? '' : 's'
  }, read ${report.bytes_read} of ${report.size ?? '?'} bytes)`;
  log.append(item);
});
