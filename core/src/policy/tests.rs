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
