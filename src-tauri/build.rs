fn main() {
    // The web front end is embedded at compile time; rebuild when `npm run build` changes it
    // (tauri-build itself only watches the config and the capabilities).
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build();
}
