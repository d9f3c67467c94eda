//! Report schedules: a REPORT template run by a 5-field cron in a time zone, as the schedule's
//! creator, its document mailed to the recipients; `runner` is what the scheduler's tick calls.

pub mod cron;
pub mod resolvers;
pub mod runner;
pub mod service;
pub mod types;
