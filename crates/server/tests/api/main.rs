//! The tenant server against a real Postgres over real HTTP (one test binary, many modules).

#[path = "../support/mod.rs"]
mod support;

mod addresses;
mod auth;
mod compression;
mod customer_numbers;
mod customers;
mod devices;
mod export;
mod history;
mod hostile_input;
mod housekeeping;
mod limits;
mod long_poll;
mod merge;
mod merge_undo;
mod metrics;
mod openapi;
mod orders;
mod otp;
mod push;
mod roster;
mod schema;
mod upgrade;
mod upgrade_from_saved;
mod whatsapp;
