//! Attribute messages (versions 1 to 3): the name, and for the attributes Keras reads, the
//! string value. h5py writes a Python `str` as a variable-length string (datatype class 9,
//! whose bytes live in a global heap collection) and numpy `bytes_` as a fixed-length string
//! (class 3, stored in the message); Keras 3 writes `model_config` the first way, older
//! tf.keras through h5py 2 the second.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use super::bytes::{Cur, Sizes};

/// Datatype class of a fixed-length string.
const CLASS_STRING: u8 = 3;
/// Datatype class of a variable-length sequence or string.
const CLASS_VLEN: u8 = 9;

/// Attribute message flag: the datatype is a shared (committed) datatype.
const FLAG_SHARED_TYPE: u8 = 0x01;
/// Attribute message flag: the dataspace is shared.
const FLAG_SHARED_SPACE: u8 = 0x02;

/// Most strings one attribute may hold before it is reported instead of judged (Keras reads a
/// single scalar string).
const MAX_ELEMENTS: u64 = 1024;

/// Most dimensions a dataspace may have (libhdf5's `H5S_MAX_RANK`).
const MAX_RANK: u8 = 32;

/// A root attribute that Keras' HDF5 loader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Interest {
    /// `model_config`: the model's JSON config, deserialized on load.
    ModelConfig,
    /// `training_config`: the compile arguments (loss, metrics, optimizer) as JSON.
    TrainingConfig,
    /// `keras_version`.
    KerasVersion,
    /// `backend`.
    Backend,
}

impl Interest {
    /// The attribute this name stands for, if Keras reads it.
    pub(super) fn of(name: &[u8]) -> Option<Interest> {
        match name {
            b"model_config" => Some(Interest::ModelConfig),
            b"training_config" => Some(Interest::TrainingConfig),
            b"keras_version" => Some(Interest::KerasVersion),
            b"backend" => Some(Interest::Backend),
            _ => None,
        }
    }

    /// The attribute's name.
    pub(super) fn name(self) -> &'static str {
        match self {
            Interest::ModelConfig => "model_config",
            Interest::TrainingConfig => "training_config",
            Interest::KerasVersion => "keras_version",
            Interest::Backend => "backend",
        }
    }
}

/// A reference to a variable-length string's bytes in a global heap collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct HeapRef {
    /// Length in bytes, as the attribute records it.
    pub(super) len: u32,
    /// The collection's address (`None`: undefined, an empty string).
    pub(super) collection: Option<u64>,
    /// The object's index in the collection.
    pub(super) index: u32,
}

/// An attribute's value, as far as it is a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    /// Fixed-length strings: where each element's bytes lie in the message, trailing NULs
    /// removed (numpy's `bytes_` drops them).
    Fixed(Vec<Range<usize>>),
    /// Variable-length strings, one heap reference per element.
    Vlen(Vec<HeapRef>),
    /// Not a string; says what it is.
    NotString(String),
}

/// An attribute message, decoded as far as the reader needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Attribute<'a> {
    /// The name (up to its first NUL, as libhdf5 reads it).
    pub(super) name: &'a [u8],
    /// The value, or why it cannot be read; decoded only for attributes Keras reads.
    pub(super) value: Option<Result<Value, String>>,
}

/// The fields of an attribute message.
struct Fields<'a> {
    flags: u8,
    name: &'a [u8],
    datatype: &'a [u8],
    dataspace: &'a [u8],
    data_start: usize,
}

/// Decodes an attribute message.
pub(super) fn parse(msg: &[u8], sizes: Sizes) -> Result<Attribute<'_>, String> {
    let fields = fields(msg)?;
    let name = fields.name.split(|&b| b == 0).next().unwrap_or_default();
    let value = Interest::of(name).map(|_| value(msg, &fields, sizes));
    Ok(Attribute { name, value })
}

/// Splits a message into its name, datatype, dataspace and data.
fn fields(msg: &[u8]) -> Result<Fields<'_>, String> {
    let truncated = || String::from("attribute message is truncated");
    let mut cur = Cur::new(msg);
    let version = cur.u8().ok_or_else(truncated)?;
    // Version 1 leaves this byte unused, whatever it holds.
    let flags = cur.u8().ok_or_else(truncated)? & if version == 1 { 0 } else { 0xFF };
    let name_len = usize::from(cur.u16().ok_or_else(truncated)?);
    let type_len = usize::from(cur.u16().ok_or_else(truncated)?);
    let space_len = usize::from(cur.u16().ok_or_else(truncated)?);
    // Version 1 pads each field to a multiple of 8; version 3 adds the name's character set.
    let pad = |n: usize| if version == 1 { n.div_ceil(8) * 8 } else { n };
    match version {
        1 => {}
        2 => {}
        3 => {
            cur.u8().ok_or_else(truncated)?;
        }
        v => return Err(format!("attribute message of version {v}, not 1 to 3")),
    }
    if flags & !(FLAG_SHARED_TYPE | FLAG_SHARED_SPACE) != 0 {
        return Err(format!("attribute message with unknown flags {flags:#04x}"));
    }
    let name = cur.take(pad(name_len)).ok_or_else(truncated)?;
    let datatype = cur.take(pad(type_len)).ok_or_else(truncated)?;
    let dataspace = cur.take(pad(space_len)).ok_or_else(truncated)?;
    Ok(Fields {
        flags,
        name: name.get(..name_len).unwrap_or_default(),
        datatype: datatype.get(..type_len).unwrap_or_default(),
        dataspace: dataspace.get(..space_len).unwrap_or_default(),
        data_start: cur.pos(),
    })
}

/// Decodes the value of a string attribute.
fn value(msg: &[u8], fields: &Fields<'_>, sizes: Sizes) -> Result<Value, String> {
    if fields.flags & FLAG_SHARED_TYPE != 0 {
        return Err(String::from(
            "its datatype is a committed (shared) datatype stored in another object header, which modelsieve does not read",
        ));
    }
    if fields.flags & FLAG_SHARED_SPACE != 0 {
        return Err(String::from(
            "its dataspace is a shared message, which modelsieve does not read",
        ));
    }
    let elements = elements(fields.dataspace, sizes)?;
    let dt = fields.datatype;
    let class = dt
        .first()
        .map(|b| b & 0x0F)
        .ok_or("its datatype is empty")?;
    let size = Cur::at(dt, 4).u32().ok_or("its datatype is truncated")?;
    let stride = match class {
        CLASS_STRING => u64::from(size),
        CLASS_VLEN => {
            let is_string = dt.get(1).is_some_and(|b| b & 0x0F == 1);
            if !is_string {
                return Ok(Value::NotString(String::from(
                    "a variable-length sequence, not a string",
                )));
            }
            // The base type follows the 8-byte datatype header; a string's is one byte wide.
            let base = Cur::at(dt, 12).u32().ok_or("its datatype is truncated")?;
            if base != 1 {
                return Err(format!(
                    "a variable-length string of {base}-byte characters, which h5py does not write"
                ));
            }
            // On disk: a 4-byte length and a global heap ID (collection address, 4-byte index).
            (8 + sizes.o()) as u64
        }
        other => {
            return Ok(Value::NotString(format!(
                "datatype class {other} ({})",
                class_name(other)
            )));
        }
    };
    if elements > MAX_ELEMENTS {
        return Err(format!(
            "it holds {elements} strings; modelsieve judges at most {MAX_ELEMENTS}"
        ));
    }
    let data_len = elements
        .checked_mul(stride)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or("its data size overflows")?;
    let data = msg
        .get(fields.data_start..)
        .and_then(|d| d.get(..data_len))
        .ok_or_else(|| {
            format!(
                "its {elements} element(s) need {data_len} bytes of data, but the message holds {}",
                msg.len().saturating_sub(fields.data_start)
            )
        })?;
    let stride = stride as usize;
    if class == CLASS_STRING {
        let mut out = Vec::new();
        for i in 0..elements as usize {
            let start = fields.data_start + i * stride;
            let bytes = data.get(i * stride..(i + 1) * stride).unwrap_or_default();
            let kept = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
            out.push(start..start + kept);
        }
        return Ok(Value::Fixed(out));
    }
    let mut refs = Vec::new();
    for i in 0..elements as usize {
        let mut cur = Cur::at(data, i * stride);
        let (Some(len), Some(collection), Some(index)) = (cur.u32(), cur.addr(sizes), cur.u32())
        else {
            return Err(String::from("its variable-length data is truncated"));
        };
        refs.push(HeapRef {
            len,
            collection,
            index,
        });
    }
    Ok(Value::Vlen(refs))
}

/// Number of elements a dataspace message describes.
fn elements(space: &[u8], sizes: Sizes) -> Result<u64, String> {
    let truncated = || String::from("its dataspace is truncated");
    let mut cur = Cur::new(space);
    let version = cur.u8().ok_or_else(truncated)?;
    let rank = cur.u8().ok_or_else(truncated)?;
    let _flags = cur.u8().ok_or_else(truncated)?;
    let kind = match version {
        1 => {
            cur.skip(5).ok_or_else(truncated)?;
            if rank == 0 { 0 } else { 1 }
        }
        2 => cur.u8().ok_or_else(truncated)?,
        v => return Err(format!("its dataspace message has version {v}, not 1 or 2")),
    };
    if rank > MAX_RANK {
        return Err(format!(
            "its dataspace has {rank} dimensions (libhdf5 allows 32)"
        ));
    }
    match kind {
        0 => Ok(1),
        2 => Ok(0),
        1 => {
            let mut n: u64 = 1;
            for _ in 0..rank {
                let dim = cur.len(sizes).ok_or_else(truncated)?;
                n = n.saturating_mul(dim);
            }
            Ok(n)
        }
        k => Err(format!("its dataspace has unknown type {k}")),
    }
}

/// A datatype class's name, for messages.
fn class_name(class: u8) -> &'static str {
    match class {
        0 => "integer",
        1 => "floating point",
        2 => "time",
        4 => "bitfield",
        5 => "opaque",
        6 => "compound",
        7 => "reference",
        8 => "enumeration",
        10 => "array",
        11 => "complex",
        _ => "unknown",
    }
}
