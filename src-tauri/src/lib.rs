//! The Credence desktop wallet (Tauri). Not built yet: an empty placeholder until the desktop
//! issue lands; it has no Tauri dependency so the workspace builds without desktop libraries.
#![forbid(unsafe_code)]
