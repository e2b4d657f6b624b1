fn main() {
    // The UI is embedded at compile time from tauri.conf.json's frontendDist (ui/dist). Say how to
    // build it rather than letting tauri's code generation fail with a bare "path doesn't exist".
    println!("cargo:rerun-if-changed=ui/dist");
    if !std::path::Path::new("ui/dist/index.html").exists() {
        panic!("ui/dist is missing: build the UI first with `bash scripts/test-ui.sh` (or `cd ui && npm ci && npm run build`)");
    }
    // The capabilities live under src-tauri/ while tauri.conf.json sits at the repository root.
    tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("src-tauri/capabilities/**/*"),
    )
    .expect("tauri build script failed");
}
