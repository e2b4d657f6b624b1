//! Rebuilds the crate when a migration is added or changed: `refinery::embed_migrations!`
//! reads the folder at compile time, and cargo would not otherwise know to look again.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/server");
}
