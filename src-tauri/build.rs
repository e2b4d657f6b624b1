fn main() {
    // The capabilities live under src-tauri/ while tauri.conf.json sits at the repository root.
    tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("src-tauri/capabilities/**/*"),
    )
    .expect("tauri build script failed");
}
