#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod visitor;

pub use visitor::{
    VisitorCode, VisitorCodeBook, VisitorCodeError, VisitorCodeKind, VisitorCodeSpec,
};
