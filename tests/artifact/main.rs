//! The artifact contract: a crafted archive per hazard and the CVE shapes for `validate`;
//! reproducibility and round trips for `package`.

mod package;
mod validate;
