//! The file as a plain unpickler reads it. Up to the first array wrapper's BUILD, joblib's
//! loader and `pickle.load` (or `torch.load`, or anything else that unpickles the bytes) run the
//! same opcodes; there they part: joblib reads the array, the others run the array's bytes as
//! opcodes. The stream follows joblib; a view forked at that BUILD, with a copy of the machine,
//! reads on as the others do, so that bytes which only look like array data to joblib cannot
//! hide a payload from them. What the view finds that runs code is reported with the stream's
//! findings, at the end, so that their order never depends on how the bytes arrived; its breaks
//! are not reported, since a plain load that fails runs nothing more.

use alloc::boxed::Box;
use alloc::format;

use crate::findings::Findings;
use crate::pickle::stream::PickleStream;
use crate::report::{Finding, Severity};
use crate::rules::Rule;

/// The plain reading of a joblib file, from its first array on.
#[derive(Debug)]
pub(crate) struct PlainView {
    stream: PickleStream,
    /// Kept apart until the end: merged as they come, they would interleave with the stream's
    /// findings differently for every split of the input.
    findings: Findings,
}

/// Findings of the plain view that name code it runs. The view mostly reads array data, where
/// a stray byte calls whatever the outer pickle left on the stack, pops two values for
/// STACK_GLOBAL or reads an extension code: a plain load of such data fails, so only what names
/// something dangerous (a denylisted or indirectly reached callable, a hook attribute, a pickle
/// passed on or held) is reported. Breaks, trailing bytes and limits say only that a plain load
/// fails or was not followed.
fn names_danger(f: &Finding) -> bool {
    match f.rule {
        Rule::PickleDangerousGlobal | Rule::PickleIndirectGlobal | Rule::PickleBuildOverride => {
            f.severity >= Severity::High
        }
        Rule::PickleNestedLoad | Rule::PickleEmbeddedPayload => true,
        _ => false,
    }
}

impl PickleStream {
    /// Forks the plain view at the current offset, just after the first followed wrapper's
    /// BUILD, and hands it `rest`, the bytes after the BUILD at hand.
    pub(super) fn fork_plain_view(&mut self, rest: &[u8]) {
        if self.plain_view.is_some() {
            // Only the first array parts the loaders: after it, a plain load is wherever the
            // view is, and joblib's later arrays are nothing to it.
            return;
        }
        let mut machine = self.machine.clone();
        machine.joblib.enabled = false;
        // Indices of findings already reported mean nothing in the view's own list.
        machine.heap.forget_findings();
        let mut stream =
            PickleStream::new(&self.policy, self.limits, self.depth, self.member.clone()).plain();
        stream.machine = machine;
        stream.pos = self.pos;
        stream.pickle_start = self.pickle_start;
        stream.frame_end = self.frame_end;
        stream.pickles = self.pickles;
        stream.outcome = self.outcome;
        let mut view = PlainView {
            stream,
            findings: Findings::new(self.policy.clone(), self.limits.max_findings),
        };
        // The view starts at the offset after BUILD, which `rest` starts at: never a gap.
        let _ = view.stream.feed(self.pos, rest, &mut view.findings);
        self.plain_view = Some(Box::new(view));
    }

    /// Hands the view the bytes the stream was fed; those before where it stands are ignored.
    pub(crate) fn feed_plain_view(&mut self, offset: u64, data: &[u8]) {
        if let Some(view) = self.plain_view.as_mut() {
            // Fed where `wanted` (the lower of the two) pointed, or in order: never a gap.
            let _ = view.stream.feed(offset, data, &mut view.findings);
        }
    }

    /// What the view still needs, if it is reading.
    pub(crate) fn plain_view_wanted(&self) -> Option<u64> {
        self.plain_view.as_ref().and_then(|v| v.stream.wanted())
    }

    /// Ends the view and reports what it found that runs code.
    pub(crate) fn finish_plain_view(&mut self, eof: u64, findings: &mut Findings) {
        let Some(view) = self.plain_view.take() else {
            return;
        };
        let PlainView {
            stream,
            findings: mut found,
        } = *view;
        PickleStream::finish(stream, eof, &mut found);
        for f in found.into_vec().into_iter().filter(names_danger) {
            findings.push(
                f.rule,
                f.severity,
                f.member.as_deref(),
                f.offset,
                format!(
                    "read as plain pickle opcodes, as pickle.load and torch.load read them where joblib.load reads array data: {}",
                    f.message
                ),
                f.evidence,
            );
        }
    }
}
