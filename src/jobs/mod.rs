//! Generation jobs, the whole pipeline: a durable queue in the database (`service`), typed
//! parameters (`params`), workers that claim jobs with leases (`worker`), the item makers
//! (`item/{policy,client,report}`) and live progress (`events`).

pub mod events;
pub mod item;
pub mod params;
pub mod resolvers;
pub mod service;
pub mod types;
pub mod worker;
