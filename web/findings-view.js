// DOM views of a report, shared by the page and by <model-sieve>: the verdict badge and the
// findings list. Everything is built with textContent (never innerHTML): report text comes from
// the scanned file and is hostile by assumption.

import { VERDICT_LABEL, findingPlace, findingsWorstFirst, countBy, SEVERITIES, sanitize } from './report.js';

/**
 * Creates an element. `attrs` keys are attributes, except `class` (className), `text`
 * (textContent) and `on<event>` (listeners). Children are nodes or strings (as text).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/**
 * The verdict badge: symbol and word together, so it reads without colour. `state` may also be
 * a scan state (`queued`, `scanning`, `cancelled`, `error`) before there is a verdict.
 */
export function verdictBadge(state) {
  const label = VERDICT_LABEL[state];
  const text = label
    ? [label.symbol, label.word]
    : {
        queued: ['\u2026', 'Waiting'],
        scanning: ['\u21bb', 'Scanning'],
        cancelled: ['\u2013', 'Cancelled'],
        error: ['?', 'Not scanned'],
      }[state] ?? ['?', state];
  return h(
    'span',
    { class: `badge badge-${state}`, 'data-verdict': state },
    h('span', { class: 'badge-symbol', 'aria-hidden': 'true', text: text[0] }),
    h('span', { class: 'badge-word', text: text[1] }),
  );
}

/** `2 findings: 1 critical, 1 low` (worst first), or `no findings`. */
export function findingsSummary(findings) {
  if (findings.length === 0) return 'no findings';
  const counts = countBy(findings, SEVERITIES, (f) => f.severity);
  const parts = [...SEVERITIES]
    .reverse()
    .filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${s}`);
  return `${findings.length} finding${findings.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** One finding: severity, rule, place (member, offset), message, and its evidence on demand. */
export function renderFinding(finding) {
  const place = findingPlace(finding);
  return h(
    'li',
    { class: `finding sev-${finding.severity}`, 'data-rule': finding.rule, 'data-severity': finding.severity },
    h(
      'div',
      { class: 'finding-head' },
      h('span', { class: `sev sev-${finding.severity}`, text: finding.severity }),
      h('code', { class: 'rule', text: finding.rule }),
    ),
    place.length > 0
      ? h(
          'p',
          { class: 'place' },
          ...place.flatMap((p, i) => [
            i > 0 ? ' \u00b7 ' : null,
            i === 0 && finding.member !== null && finding.member !== undefined
              ? h('span', { class: 'member', title: 'member path inside the file' }, 'in ', h('code', { text: p }))
              : h('span', { class: 'offset', text: p }),
          ]),
        )
      : null,
    h('p', { class: 'message', text: sanitize(finding.message) }),
    finding.evidence !== null && finding.evidence !== undefined
      ? h(
          'details',
          { class: 'evidence' },
          h('summary', { text: 'Evidence' }),
          h('pre', { text: sanitize(finding.evidence, { keepLines: true }) }),
        )
      : null,
  );
}

/**
 * The findings of a report as a disclosure: open when the file is not clean, so what matters is
 * visible at once; low and info findings of clean files stay folded.
 */
export function renderFindings(report) {
  const findings = findingsWorstFirst(report.findings ?? []);
  if (findings.length === 0) {
    return h('p', { class: 'no-findings', text: 'No findings.' });
  }
  return h(
    'details',
    { class: 'findings', open: report.verdict !== 'clean' },
    h('summary', { text: findingsSummary(findings) }),
    h('ul', { class: 'finding-list' }, findings.map(renderFinding)),
  );
}
