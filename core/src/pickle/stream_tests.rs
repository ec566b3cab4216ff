//! How [`PickleStream`] consumes bytes split across feeds.

use alloc::vec::Vec;

use super::PickleStream;
use crate::findings::Findings;
use crate::{Limits, Policy};

/// What the stream wants after each feed of `pickle` in `chunk`-byte pieces, paired with how
/// many bytes it had been given.
fn wants_by_fed(pickle: &[u8], chunk: usize, limits: Limits) -> Vec<(usize, Option<u64>)> {
    let policy = Policy::default();
    let mut stream = PickleStream::new(&policy, limits, 1, None);
    let mut findings = Findings::new(policy, 100);
    let mut wants = Vec::new();
    for (index, piece) in pickle.chunks(chunk).enumerate() {
        let offset = index * chunk;
        if stream.wanted().is_none() {
            break;
        }
        assert!(stream.feed(offset as u64, piece, &mut findings).is_ok());
        wants.push((offset + piece.len(), stream.wanted()));
    }
    wants
}

/// The first fed length after which the stream wanted nothing more.
fn stopped_after(wants: &[(usize, Option<u64>)]) -> Option<usize> {
    wants
        .iter()
        .find(|(_, want)| want.is_none())
        .map(|&(fed, _)| fed)
}

#[test]
fn a_broken_text_opcode_stops_the_stream_where_its_last_line_ends() {
    // INST whose module line is not UTF-8: decidable only once the name line ends, at byte
    // `ends`. A container asks at fixed offsets whether its member still wants bytes, so the
    // stream must stop there whatever the pieces (it used to retry only when its buffer
    // doubled, and went on wanting up to twice as far).
    let mut pickle = b"\x80\x02i\xff\xfe\n".to_vec();
    pickle.extend(core::iter::repeat_n(b'n', 3000));
    pickle.push(b'\n');
    let ends = pickle.len();
    pickle.extend(core::iter::repeat_n(b'N', 5000));
    for chunk in [1, 2, 7, 100, 4096] {
        let wants = wants_by_fed(&pickle, chunk, Limits::default());
        let stopped = stopped_after(&wants);
        assert_eq!(
            stopped,
            Some(ends.next_multiple_of(chunk)),
            "{chunk}-byte pieces"
        );
    }
}

#[test]
fn a_text_line_past_the_inline_limit_stops_where_the_limit_is_crossed() {
    let limits = Limits {
        max_inline_operand: 100,
        ..Limits::default()
    };
    // GLOBAL's module line ends; its name line never does. Decoding answers LineTooLong once
    // the name line holds more than 100 bytes: after byte 3 + 4 + 101.
    let mut pickle = b"\x80\x02cos\n".to_vec();
    let limit_at = pickle.len() + 101;
    pickle.extend(core::iter::repeat_n(b'x', 1000));
    for chunk in [1, 3, 64] {
        let stopped = stopped_after(&wants_by_fed(&pickle, chunk, limits));
        assert_eq!(
            stopped,
            Some(limit_at.next_multiple_of(chunk)),
            "{chunk}-byte pieces"
        );
    }
}

#[test]
fn a_long_text_line_byte_by_byte_is_linear() {
    // 4 MiB of one protocol-0 line fed a byte at a time: with a rescan per byte this would be
    // ~8e12 byte comparisons; with a retry per newline it is one pass.
    let limits = Limits {
        max_inline_operand: 8 << 20,
        ..Limits::default()
    };
    let mut pickle = b"\x80\x02V".to_vec();
    pickle.extend(core::iter::repeat_n(b'a', 4 << 20));
    pickle.extend_from_slice(b"\n.");
    let bytewise = wants_by_fed(&pickle, 1, limits);
    let whole = wants_by_fed(&pickle, pickle.len(), limits);
    assert_eq!(bytewise.len(), pickle.len());
    assert_eq!(bytewise.last(), whole.last());
}
