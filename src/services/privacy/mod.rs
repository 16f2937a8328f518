//! Privacy: erasure on request, retention by age, and the catalogue both go through.

pub mod catalogue;
pub mod erasure;
