//! The artifact contract: a crafted archive per hazard and the CVE shapes for `validate`;
//! reproducibility and round trips for `package`; the `validation_results.json` contract.

mod package;
mod results;
mod validate;
