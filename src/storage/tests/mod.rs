mod keys;
mod purge;
mod serve;
mod signer;
mod store;
mod stream;

/// The organization the unit tests store documents for.
const OWNER: uuid::Uuid = uuid::Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001);
