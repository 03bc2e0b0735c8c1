//! Helpers shared by the tests that run `credctl` as people do: one process per command.

#![allow(dead_code)] // each test file uses its own part

use std::path::Path;
use std::process::{Command, Output};

/// Runs `credctl` (the binary at `bin`) with `--home home --ledger api`, the password in
/// `$CREDENCE_PASSWORD`.
pub(crate) fn credctl(bin: &Path, home: &Path, api: &str, password: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .arg("--home")
        .arg(home)
        .args(["--ledger", api])
        .args(args)
        .env("CREDENCE_PASSWORD", password)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()))
}

/// The standard output of a command that must have succeeded.
pub(crate) fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "credctl failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The proposal hash `credctl … register` printed.
pub(crate) fn proposal_of(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no proposal hash in {text}"))
        .to_owned()
}

/// Pins the devnet's genesis (`devnet_dir/genesis.json`) in `home`, as a user does once with
/// the file the consortium published.
pub(crate) fn pin(bin: &Path, home: &Path, api: &str, devnet_dir: &Path) {
    let genesis = devnet_dir.join("genesis.json");
    let text = ok(&credctl(
        bin,
        home,
        api,
        "",
        &["trust", "--genesis", genesis.to_str().expect("utf-8")],
    ));
    assert!(text.contains("pins chain"), "{text}");
}

/// Governance members 0 and 1 of the devnet in `devnet_dir` approve `proposal` (two approvals
/// register an issuer or a verifier).
pub(crate) fn approve(bin: &Path, devnet_dir: &Path, api: &str, proposal: &str) {
    let password = std::fs::read_to_string(devnet_dir.join("password")).expect("devnet password");
    let genesis = devnet_dir.join("genesis.json");
    for i in 0..2 {
        let key = devnet_dir.join(format!("governance-{i}/governance.key"));
        ok(&credctl(
            bin,
            devnet_dir,
            api,
            &password,
            &[
                "--genesis",
                genesis.to_str().expect("utf-8"),
                "governance",
                "approve",
                proposal,
                "--key",
                key.to_str().expect("utf-8"),
            ],
        ));
    }
}

/// `credctl verifier register` for an employer that may see `degree` and `name` and ask for `gpa`
/// predicates, for hiring; the nullifier scope follows.
pub(crate) const REGISTER_EMPLOYER: &[&str] = &[
    "verifier",
    "register",
    "--type",
    "UniversityDiploma",
    "--disclose",
    "degree,name",
    "--predicates",
    "gpa",
    "--purpose",
    "hiring",
    "--nullifier-scope",
];

/// The arguments of `credctl request` for a diploma, for hiring: `disclose` shown, each of
/// `predicates` proven, the request written to `out`.
pub(crate) fn diploma_request<'a>(disclose: &'a str, predicates: &[&'a str], out: &'a str) -> Vec<&'a str> {
    let mut args = vec!["request", "--type", "UniversityDiploma", "--disclose", disclose];
    for p in predicates {
        args.extend(["--predicate", p]);
    }
    args.extend(["--purpose", "hiring", "--out", out]);
    args
}
