//! The tenant server against a real Postgres over real HTTP (one test binary, many modules).

#[path = "../support/mod.rs"]
mod support;

mod addresses;
mod auth;
mod customer_numbers;
mod customers;
mod export;
mod hostile_input;
mod merge;
mod otp;
mod schema;
