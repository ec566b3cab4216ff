//! Imports whose finding depends on how the whole pickle used them, judged once it has ended:
//! `functools.partial` that only wraps imports judged on their own, and instance-only classes
//! (`policy/instances.rs`) that were only rebuilt with `__new__` and BUILD.
//!
//! Both are reported when imported, as usual, so a pickle cut short or analysed only in part
//! keeps the finding; the settle step lowers it to `info` only when every use was seen and
//! every use was of the covered kind.

use alloc::format;

use super::machine::Machine;
use super::opcodes::{INST, NEWOBJ, NEWOBJ_EX, OBJ};
use super::value::{Callable, GlobalId, Value};
use crate::findings::Findings;
use crate::policy::GlobalClass;
use crate::report::Severity;

impl Machine {
    /// `partial(func, …)` was called through the import `partial`: the partial object is no
    /// more than `func` when `func` is an import that is not denied (it was judged when
    /// imported, and calling the partial object calls it). Anything else (a callable the pickle
    /// built, a denied import, a name fetched by getattr) keeps the partial import's finding.
    pub(super) fn note_partial_target(&mut self, partial: GlobalId, func: Value) {
        let judged = match func {
            Value::Global(f) => self.heap.global_entry(f).is_some_and(|g| {
                g.looked_up_by.is_none() && !matches!(g.class, GlobalClass::Denied { .. })
            }),
            _ => false,
        };
        if let Some(entry) = self.heap.global_entry_mut(partial) {
            if judged {
                entry.benign_lookups = entry.benign_lookups.saturating_add(1);
            } else {
                entry.escaped = true;
            }
        }
    }

    /// BUILD on a partial object calls `partial.__setstate__((func, args, kwds, dict))`, which
    /// replaces the wrapped callable: the new one must pass the same test as the first.
    pub(super) fn note_partial_state(&mut self, target: Value, state: Value) {
        let Value::Callable(id) = target else { return };
        let Some(&Callable::Partial { made_by, .. }) = self.heap.callable_ref(id) else {
            return;
        };
        let func = match state {
            Value::Tuple(_) => self.heap.items_of(state).and_then(|i| i.first().copied()),
            _ => None,
        };
        match func {
            Some(func) => self.note_partial_target(made_by, func),
            None => {
                if let Some(entry) = self.heap.global_entry_mut(made_by) {
                    entry.escaped = true;
                }
            }
        }
    }

    /// Records how a call opcode used an imported class: NEWOBJ/NEWOBJ_EX, and OBJ/INST
    /// without arguments, run only `cls.__new__`; REDUCE, and OBJ/INST with arguments, run the
    /// constructor.
    pub(super) fn note_instantiation(&mut self, opcode: u8, callee: Value, args: Value) {
        let Value::Global(id) = callee else { return };
        let no_args = self.heap.items_of(args).is_some_and(<[Value]>::is_empty);
        let new_only = match opcode {
            NEWOBJ | NEWOBJ_EX => true,
            OBJ | INST => no_args,
            _ => false,
        };
        if let Some(entry) = self.heap.global_entry_mut(id) {
            if new_only {
                entry.rebuilt = entry.rebuilt.saturating_add(1);
            } else {
                entry.constructed = true;
            }
        }
    }

    /// Lowers to `info` the findings of `partial` imports that only wrapped judged imports and
    /// of instance-only classes that were only rebuilt. Call once the stream has ended, and
    /// only when every value was retained (a forgotten memo slot or an exhausted heap can hide
    /// a use).
    pub(super) fn settle_uses(&self, findings: &mut Findings) {
        for entry in self.heap.globals() {
            let path = entry.path.as_str();
            let message = if matches!(path, "functools.partial" | "_functools.partial") {
                if entry.escaped || entry.benign_lookups == 0 {
                    continue;
                }
                format!(
                    "imports {path} only to wrap imports that are judged on their own ({} partial object(s)); calling one runs only the wrapped function",
                    entry.benign_lookups
                )
            } else if matches!(entry.class, GlobalClass::Unknown)
                && findings.policy().rebuilds_instances_only(path)
            {
                if entry.escaped || entry.constructed || entry.rebuilt == 0 {
                    continue;
                }
                format!(
                    "imports {path} only to rebuild {} instance(s) with __new__ and BUILD; its constructor never runs (instance-only list)",
                    entry.rebuilt
                )
            } else {
                continue;
            };
            if let Some(f) = entry.finding.and_then(|i| findings.get_mut(i))
                && f.evidence.as_deref() == Some(path)
            {
                f.severity = Severity::Info;
                f.message = message;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_drivers::same_everywhere;
    use crate::{Policy, Report, Rule, Severity, Verdict};

    /// The finding whose evidence is `path`.
    fn severity_of(report: &Report, path: &str) -> Option<Severity> {
        report
            .findings
            .iter()
            .find(|f| f.evidence.as_deref() == Some(path))
            .map(|f| f.severity)
    }

    /// gensim's TfidfModel: `partial(smartirs_normalize)` restored by BUILD with the same
    /// function and `norm_scheme='n'` (the bytes pickle protocol 2 writes for it).
    const TFIDF_NORMALIZE: &[u8] = b"\x80\x02cfunctools\npartial\nq\x00cgensim.models.tfidfmodel\nsmartirs_normalize\nq\x01\x85Rq\x02(h\x01)}X\x0b\x00\x00\x00norm_schemeX\x01\x00\x00\x00nsNtb.";

    #[test]
    fn partial_of_a_judged_function_is_info() {
        let report = same_everywhere(TFIDF_NORMALIZE);
        assert_eq!(report.verdict, Verdict::Clean, "{:?}", report.findings);
        assert_eq!(
            severity_of(&report, "functools.partial"),
            Some(Severity::Info)
        );
    }

    #[test]
    fn partial_that_wraps_anything_else_stays_high() {
        let cases: [&[u8]; 5] = [
            // partial(os.system, 'id')
            b"\x80\x02cfunctools\npartial\ncos\nsystem\nX\x02\x00\x00\x00id\x86R.",
            // BUILD swaps the wrapped function for os.system.
            b"\x80\x02cfunctools\npartial\ncgensim.models.tfidfmodel\nsmartirs_normalize\n\x85R(cos\nsystem\n)NNtb.",
            // BUILD swaps it for a list (not an import); and a state that is not a tuple.
            b"\x80\x02cfunctools\npartial\ncgensim.models.tfidfmodel\nsmartirs_normalize\n\x85R(])NNtb.",
            b"\x80\x02cfunctools\npartial\ncgensim.models.tfidfmodel\nsmartirs_normalize\n\x85R}b.",
            // partial itself stored in a list, to be called by whoever reads it.
            b"\x80\x02]cfunctools\npartial\na.",
        ];
        for pickle in cases {
            let report = same_everywhere(pickle);
            assert_eq!(
                severity_of(&report, "functools.partial"),
                Some(Severity::High),
                "{:?}",
                report.findings
            );
        }
        // partial(partial(builtins.eval), ...): the outer one wraps a callable the pickle built.
        let chain = same_everywhere(
            b"\x80\x02cfunctools\npartial\nq\x00h\x00cgensim.utils\nidentity\n\x85R\x85R.",
        );
        assert_eq!(
            severity_of(&chain, "functools.partial"),
            Some(Severity::High)
        );
    }

    /// `Word2Vec` rebuilt as protocol 2 does it: NEWOBJ with no arguments, then BUILD.
    const WORD2VEC_NEWOBJ: &[u8] =
        b"\x80\x02cgensim.models.word2vec\nWord2Vec\nq\x00)\x81}X\x04\x00\x00\x00sizeKdsbh\x00)\x81}b\x86.";

    #[test]
    fn instance_only_classes_rebuilt_with_new_are_info() {
        let report = same_everywhere(WORD2VEC_NEWOBJ);
        assert_eq!(report.verdict, Verdict::Clean, "{:?}", report.findings);
        let finding = report
            .findings
            .iter()
            .find(|f| f.rule == Rule::PickleUnknownGlobal)
            .expect("the import is still mentioned");
        assert_eq!(finding.severity, Severity::Info);
        assert!(
            finding.message.contains("2 instance(s)"),
            "{}",
            finding.message
        );
        // Protocol 0/1: INST and OBJ without arguments also skip __init__.
        let inst = same_everywhere(b"(igensim.models.word2vec\nWord2Vec\n(db.");
        assert_eq!(inst.verdict, Verdict::Clean, "{:?}", inst.findings);
        let obj = same_everywhere(b"(cgensim.models.word2vec\nWord2Vec\no}b.");
        assert_eq!(obj.verdict, Verdict::Clean, "{:?}", obj.findings);
    }

    #[test]
    fn instance_only_classes_called_or_passed_on_stay_medium() {
        let cases: [&[u8]; 5] = [
            // REDUCE: LdaModel(None, 1) runs the constructor.
            b"\x80\x02cgensim.models.ldamodel\nLdaModel\nNK\x01\x86R.",
            // Rebuilt once, then called.
            b"\x80\x02cgensim.models.word2vec\nWord2Vec\nq\x00)\x81h\x00)R\x86.",
            // Handed to copyreg._reconstructor, whose base could run __init__.
            b"\x80\x02ccopyreg\n_reconstructor\ncgensim.models.word2vec\nWord2Vec\ncbuiltins\nobject\nN\x87R.",
            // INST and OBJ with arguments call the class.
            b"(S'x'\nigensim.models.word2vec\nWord2Vec\n.",
            b"(cgensim.models.word2vec\nWord2Vec\nK\x01o.",
        ];
        for pickle in cases {
            let report = same_everywhere(pickle);
            assert_eq!(report.verdict, Verdict::Suspicious, "{:?}", report.findings);
        }
        // A class on no list is judged as before, however it is rebuilt.
        let other = same_everywhere(b"\x80\x02cmypkg\nModel\n)\x81}b.");
        assert_eq!(other.verdict, Verdict::Suspicious, "{:?}", other.findings);
    }

    #[test]
    fn a_user_deny_wins_over_the_instance_list() {
        let policy = Policy::from_json(r#"{"deny":["gensim"]}"#).expect("policy");
        assert!(!policy.rebuilds_instances_only("gensim.models.word2vec.Word2Vec"));
        assert!(Policy::default().rebuilds_instances_only("gensim.models.word2vec.Word2Vec"));
        let report = crate::scan_bytes(WORD2VEC_NEWOBJ, &policy);
        assert_eq!(report.verdict, Verdict::Dangerous);
    }
}
