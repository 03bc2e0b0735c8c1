//! The Credence desktop wallet.
#![forbid(unsafe_code)]
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    match credence_desktop::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the wallet window could not run: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
