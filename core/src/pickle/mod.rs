//! The pickle engine: a symbolic stack machine over every opcode of protocols 0–5.
//!
//! [`decode`] turns bytes into opcodes, [`machine`] executes them on symbolic [`value`]s,
//! [`calls`] models what calls do, [`build`] what BUILD does, [`payloads`] scans pickles hidden in constants, and
//! [`stream`] drives it all over bytes that arrive in pieces. [`joblib`] follows the array bytes
//! joblib writes between opcodes, and [`torch_legacy`] the storages after a legacy `torch.save`.

mod build;
mod calls;
mod decode;
mod joblib;
mod long;
mod machine;
mod memo;
pub(crate) mod opcodes;
mod payloads;
mod settle;
mod stream;
#[cfg(test)]
mod stream_tests;
mod text;
mod torch_legacy;
mod value;

pub(crate) use stream::PickleStream;
