//! Item sizes and object flags against what numpy 2.4 reports for the same descrs.

use alloc::format;

use super::{DescrError, descr_to_dtype};
use crate::numpy::literal::{self, Encoding, Options};

/// Item size and object flag of a descr written as a Python literal.
fn dtype_of(descr: &str) -> Result<(u64, bool), DescrError> {
    let lit = literal::parse(
        descr.as_bytes(),
        Options {
            encoding: Encoding::Latin1,
            python2_longs: false,
        },
    )
    .expect("descr parses");
    descr_to_dtype(&lit).map(|d| (d.itemsize, d.objects))
}

#[test]
fn dtypes_match_numpy() {
    // Item sizes as numpy 2.4 on x86-64 Linux reports them.
    for (descr, itemsize, objects) in [
        ("'<f8'", 8, false),
        ("'|b1'", 1, false),
        ("'<U10'", 40, false),
        ("'|S5'", 5, false),
        ("'<c16'", 16, false),
        ("'<M8[ns]'", 8, false),
        ("'m8[25s]'", 8, false),
        ("'datetime64[us/2]'", 8, false),
        ("'|V16'", 16, false),
        ("'f 8'", 8, false),
        ("'f+8'", 8, false),
        ("'float64'", 8, false),
        ("'longdouble'", 16, false),
        ("'a5'", 5, false),
        ("'c'", 1, false),
        ("'g'", 16, false),
        ("'G'", 32, false),
        ("'3i4'", 12, false),
        ("'(2,3)f4'", 24, false),
        ("'i4, (2)f8'", 20, false),
        ("'O,'", 8, true),
        ("'i4,O'", 12, true),
        ("'(2,3)O'", 48, true),
        ("'O4'", 8, true),
        ("'=T'", 16, true),
        ("('f4', (2, 3))", 24, false),
        ("('f4', [2, 3])", 24, false),
        ("('f4', 1)", 4, false),
        ("('f4', ())", 4, false),
        ("('f4', (2,), 'ignored')", 8, false),
        ("(('f4', (2,)), (3,))", 24, false),
        ("('f8', 'i8')", 8, false),
        ("('f4', ('i4', (1,)))", 4, false),
        ("[('a', '<f4'), ('b', '<i2', (2, 3))]", 16, false),
        ("[('', '|V4'), ('b', 'O')]", 12, true),
        ("[('', '<f4'), ('b', 'O')]", 12, true),
        ("[(('title', 'n'), '<f4'), ('m', '<f4')]", 8, false),
        ("[((1, 'n'), '<f4')]", 4, false),
        ("[['a', '<f4']]", 4, false),
        ("['ab']", 1, false),
        ("['abc']", 1, false),
        ("[]", 0, false),
        ("[('a', 'O', (0,))]", 0, true),
        ("([('a', 'O')], (2,))", 16, true),
        ("[('a', ('O', (2,)), (3,))]", 48, true),
        ("('V2147483647')", 2147483647, false),
        ("('V', 1)", 1, false),
        // Views: a sizeless base takes the other's size, a void one also its objects.
        ("('S', '<f4')", 4, false),
        ("('V', 'O')", 8, true),
        ("('V', ('O', (1,)))", 8, true),
        ("('V', [('a', 'i4'), ('b', 'O')])", 12, true),
        ("[('x', ('V', [('a', 'O')]))]", 8, true),
        ("('S', [('a', 'O')])", 8, false),
        ("('O', [('a', 'O')])", 8, true),
        ("('O', [(('t', 'a'), 'O')])", 8, true),
        ("('V', None)", 8, false),
        ("('T', [])", 16, true),
        ("('T', (2,))", 32, true),
        ("[('a', 'T')]", 16, true),
        // Padding fields (named '', of an unnamed void type) are dropped, objects and all.
        ("[('', ('O', (2,)))]", 16, false),
        ("[('', 'O', (1,)), ('a', '<f4')]", 12, false),
        ("[('', ('V', 'O'))]", 8, false),
        ("[('', [('a', 'O')])]", 8, true),
        ("[('', 'O')]", 8, true),
        // A zero-size subarray is sizeless too.
        ("(('V4', 0), '<f4')", 4, false),
        ("(('O', (0,)), ('i4', (1,)))", 4, false),
        ("(('O', (0,)), 3)", 3, true),
        ("('U', 2)", 8, false),
        ("'2S'", 2, false),
        ("'S,i4'", 4, false),
        ("[('a', 'S')]", 0, false),
        ("('M8', (2,))", 16, false),
        ("([], (2,))", 0, false),
    ] {
        assert_eq!(dtype_of(descr), Ok((itemsize, objects)), "{descr}");
    }
    // Descrs numpy 2.4 rejects.
    for descr in [
        "'<float64'",
        "'i16'",
        "'f12'",
        "'O2'",
        "''",
        "'<'",
        "' f8'",
        "'(2)f4'",
        "'i4,,f8'",
        "'M8[B]'",
        "'M8[]'",
        "'M8[3s/]'",
        "'<a'",
        "'U536870912'",
        "'V2147483648'",
        "('f4', -1)",
        "('f4', True)",
        "('f4', (2.0,))",
        "('f4', None)",
        "('f4', [])",
        "('f4',)",
        "('V8', 'O')",
        "('V1', (2147483648,))",
        "('f8', (268435456,))",
        "[('a', 'V2147483647'), ('b', 'V1')]",
        "[('a', '<f4'), ('a', '<f4')]",
        "[('', '<f4'), ('', '<f4')]",
        "[('a', '<f4'), (('a', 'b'), '<f4')]",
        "[(1, '<f4')]",
        "[(('t', 1), '<f4')]",
        "[(('a', 'b', 'c'), '<f4')]",
        "[('a',)]",
        "[('a', 'b', 'c', 'd')]",
        "[(b'a', '<f4')]",
        "[('a', b'<f4')]",
        "[('a', '<f4', 'x')]",
        "(b'<f4', (2,))",
        "3",
        "None",
        "('V', (2,))",
        "('S0', (2,))",
        "('U', ())",
        "'(2,)U'",
        "[('a', 'S', (2,))]",
        "('void', (2,))",
        "('V8', [('a', 'O')])",
        "('O', 'O')",
        "('O', None)",
        "('O', [('a', 'O'), ('b', '<i8')])",
        "('O', [('a', ('O', (1,)))])",
        "('O', [('', '|V8')])",
        "([('a', 'O')], [('b', 'O')])",
        "('T', 'T')",
        "('V', 'T')",
        "('V', True)",
        "('f4', [True])",
        "(([], (2, 3)), (2, 3))",
        "(('|O', 0), (0,))",
    ] {
        assert!(
            matches!(dtype_of(descr), Err(DescrError::Invalid(_))),
            "{descr}: {:?}",
            dtype_of(descr)
        );
    }
    let dims65 = format!("('f4', ({}))", "1, ".repeat(65));
    assert!(matches!(dtype_of(&dims65), Err(DescrError::Invalid(_))));
    for descr in ["'quaternion'", "{'ab': 1}", "[{'a': 1, 'O': 2}]"] {
        assert!(
            matches!(dtype_of(descr), Err(DescrError::Unknown(_))),
            "{descr}: {:?}",
            dtype_of(descr)
        );
    }
}
