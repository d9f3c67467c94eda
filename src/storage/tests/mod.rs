mod keys;
mod purge;
mod serve;
mod signer;
mod store;
