//! `credctl` as people use it: the real binary, one process per command, against a devnet of
//! four validators and an observer (ports 16600-16704): an issuer registered by governance
//! issues from CSV (a bad row reported by line), a student imports and answers, an employer
//! verifies offline (exit 0), a replay exits 1, an out-of-scope request is refused. Every home
//! pins the devnet's genesis first; then a second consortium's node (ports 16800-16904) is
//! refused by every role. The regulator council's commands run against a third devnet (ports
//! 17000-17104).

mod common;

use common::{approve, ok, pin, proposal_of};
use std::path::Path;
use std::process::Output;

const PW: &str = "credctl-test-password";

fn credctl(home: &Path, api: &str, password: &str, args: &[&str]) -> Output {
    common::credctl(
        Path::new(env!("CARGO_BIN_EXE_credctl")),
        home,
        api,
        password,
        args,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_answer_and_verify_with_the_command_line() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let devnet_dir = d.join("devnet");
    let devnet = credctl::demo::start_devnet(d, 16_600, &mut |_| {})
        .await
        .expect("devnet");
    let api = devnet.ledger.client.base().to_owned();
    let (uni, student, employer) = (d.join("uni"), d.join("student"), d.join("employer"));
    let run = |home: &Path, args: &[&str]| {
        let api = api.clone();
        let home = home.to_path_buf();
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        tokio::task::block_in_place(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            credctl(&home, &api, PW, &a)
        })
    };
    let approve = |proposal: &str| {
        tokio::task::block_in_place(|| {
            approve(
                Path::new(env!("CARGO_BIN_EXE_credctl")),
                &devnet_dir,
                &api,
                proposal,
            );
        });
    };

    for home in [&uni, &student, &employer] {
        tokio::task::block_in_place(|| {
            pin(Path::new(env!("CARGO_BIN_EXE_credctl")), home, &api, &devnet_dir)
        });
    }
    ok(&run(&uni, &["issuer", "init", "--name", "CLI University"]));
    let p = proposal_of(&ok(&run(
        &uni,
        &["issuer", "register", "--types", "UniversityDiploma"],
    )));
    approve(&p);
    ok(&run(&student, &["wallet", "init"]));
    let id: serde_json::Value = serde_json::from_str(&ok(&run(&student, &["wallet", "id"]))).expect("json");
    let key = id["holderKey"].as_str().expect("holder key");
    let csv = d.join("class.csv");
    std::fs::write(
        &csv,
        format!(
            "name,student_id,degree,major,gpa,graduation_date,holder_key\n\
             Li Hua,1,BEng,CS,3.62,2026-07-01,{key}\n\
             Bad Row,2,BSc,Physics,9,2026-07-01,{key}\n"
        ),
    )
    .expect("csv");
    let out = d.join("out");
    let o = run(
        &uni,
        &[
            "issue",
            "--schema",
            "diploma",
            "--input",
            csv.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "--files",
        ],
    );
    let text = ok(&o);
    assert!(text.contains("1 credentials issued and anchored"), "{text}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 3: /gpa"));
    let cred = out.join("credential-2.json");
    ok(&run(
        &student,
        &["wallet", "import", cred.to_str().expect("utf-8")],
    ));

    ok(&run(&employer, &["verifier", "init", "--name", "CLI Employer"]));
    let p = proposal_of(&ok(&run(
        &employer,
        &[common::REGISTER_EMPLOYER, &["cli-employer"]].concat(),
    )));
    approve(&p);
    let request = d.join("request.json");
    let r = request.to_str().expect("utf-8");
    ok(&run(
        &employer,
        &common::diploma_request("degree", &["gpa>=300"], r),
    ));
    let presentation = d.join("presentation.json");
    let p = presentation.to_str().expect("utf-8");
    let shown = ok(&run(&student, &["wallet", "answer", r, "--out", p, "--yes"]));
    assert!(
        shown.contains("Disclosed: degree = BEng") && shown.contains("gpa ≥ 3.00"),
        "{shown}"
    );
    let verified = ok(&run(&employer, &["verify", p, "--offline"]));
    assert!(verified.contains("disclosed: degree = BEng"), "{verified}");
    let replay = run(&employer, &["verify", p]);
    assert_eq!(replay.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&replay.stdout).contains("FAIL nonce"));

    let wide = d.join("wide.json");
    let w = wide.to_str().expect("utf-8");
    ok(&run(&employer, &common::diploma_request("student_id", &[], w)));
    let refused = run(&student, &["wallet", "answer", w, "--out", p, "--yes"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stdout).contains("OUTSIDE the verifier's registered scope"));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("refused"));

    // Issue 20: the same two requests by OpenID4VP, from the employer's verifier service (a real
    // process): the wallet opens the link, answers, and the service's result says so; beyond
    // the registered scope, the wallet refuses and tells the verifier.
    {
        let token = "cli-staff-token-0123456789abcdef0123";
        let tokens = d.join("tokens");
        std::fs::write(&tokens, format!("{token}\n")).expect("tokens");
        let service = "127.0.0.1:16750";
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_credctl"))
            .arg("--home")
            .arg(&employer)
            .args(["--ledger", &api, "verifier", "serve", "--listen", service])
            .arg("--tokens")
            .arg(&tokens)
            .env("CREDENCE_PASSWORD", PW)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("credctl verifier serve");
        let http = reqwest::Client::new();
        let by = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while http.get(format!("http://{service}/health")).send().await.is_err() {
            assert!(
                std::time::Instant::now() < by,
                "the verifier service did not start"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let start = |disclose: &str| {
            let body = serde_json::json!({"credentialType": "UniversityDiploma", "disclose": [disclose],
                "predicates": [{"attribute": "gpa", "kind": {"atLeast": {"bound": 300}}}],
                "purpose": "hiring", "tier": "selective"});
            let http = http.clone();
            async move {
                let started: serde_json::Value = http
                    .post(format!("http://{service}/v1/oid4vp/requests"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .expect("reachable")
                    .json()
                    .await
                    .expect("started");
                let result = http
                    .get(format!(
                        "http://{service}/v1/oid4vp/results/{}",
                        started["state"].as_str().expect("state")
                    ))
                    .bearer_auth(token);
                (started["link"].as_str().expect("link").to_owned(), result)
            }
        };
        let read = |r: &reqwest::RequestBuilder| {
            let r = r.try_clone().expect("a plain request");
            async move {
                r.send()
                    .await
                    .expect("reachable")
                    .json::<serde_json::Value>()
                    .await
                    .expect("json")
            }
        };
        let (link, result) = start("degree").await;
        let answered = ok(&run(&student, &["wallet", "answer", &link, "--yes"]));
        assert!(answered.contains("every check passed"), "{answered}");
        let r = read(&result).await;
        assert_eq!(r["status"], "passed", "{r}");
        // Beyond the registered scope: refused, and the verifier is not told by itself (that
        // would tell it the holder has a fitting credential); the holder's --decline tells it.
        let (wide, result) = start("student_id").await;
        let refused = run(&student, &["wallet", "answer", &wide, "--yes"]);
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("the verifier was not told"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        let r = read(&result).await;
        assert_eq!(r["status"], "waiting", "{r}");
        ok(&run(&student, &["wallet", "answer", &wide, "--decline"]));
        let r = read(&result).await;
        assert_eq!(r["status"], "declined", "{r}");
        assert_eq!(r["errorDescription"], "the holder declined", "{r}");
        // A link that passes the request by value is refused before anything is fetched.
        let by_value = run(
            &student,
            &[
                "wallet",
                "answer",
                "openid4vp://?client_id=x&request=eyJ",
                "--yes",
            ],
        );
        assert!(String::from_utf8_lossy(&by_value.stderr).contains("by reference only"));
        let _ = child.kill();
        let _ = child.wait();
    }

    // Issue 20, OpenID4VCI: the university offers a second diploma by link; a wrong transaction
    // code is refused; someone else's wallet with the link and the right code is refused (it
    // cannot sign with the holder's key); the student's wallet accepts it; the offer is spent.
    {
        let csv2 = d.join("class2.csv");
        std::fs::write(
            &csv2,
            format!("name,student_id,degree,major,gpa,graduation_date,holder_key\nLi Hua,7,MEng,CS,3.80,2028-07-01,{key}\n"),
        )
        .expect("csv");
        let out2 = d.join("out2");
        let o2 = out2.to_str().expect("utf-8");
        ok(&run(
            &uni,
            &[
                "issue",
                "--schema",
                "diploma",
                "--input",
                csv2.to_str().expect("utf-8"),
                "--out",
                o2,
            ],
        ));
        let issuer_at = "127.0.0.1:16760";
        let made = ok(&run(
            &uni,
            &[
                "issuer",
                "offer",
                "--batch",
                o2,
                "--public-url",
                &format!("http://{issuer_at}"),
            ],
        ));
        assert!(made.contains("1 offers written"), "{made}");
        let offers = std::fs::read_to_string(out2.join("offers.csv")).expect("offers.csv");
        let row: Vec<&str> = offers.lines().nth(1).expect("one offer").split(',').collect();
        let (link, tx_code) = (row[1], row[2]);
        assert!(link.starts_with("openid-credential-offer://"), "{link}");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_credctl"))
            .arg("--home")
            .arg(&uni)
            .args([
                "--ledger", &api, "issuer", "serve", "--batch", o2, "--listen", issuer_at,
            ])
            .env("CREDENCE_PASSWORD", PW)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("credctl issuer serve");
        let by = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(issuer_at).is_err() {
            assert!(std::time::Instant::now() < by, "the issuer service did not start");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let wrong = if tx_code == "000000" { "111111" } else { "000000" };
        let refused = run(&student, &["wallet", "accept", link, "--tx-code", wrong]);
        assert!(!refused.status.success());
        let e = String::from_utf8_lossy(&refused.stderr).into_owned();
        assert!(e.contains("invalid_grant") && e.contains("4 tries left"), "{e}");
        let mallory = d.join("mallory");
        tokio::task::block_in_place(|| {
            pin(
                Path::new(env!("CARGO_BIN_EXE_credctl")),
                &mallory,
                &api,
                &devnet_dir,
            )
        });
        ok(&run(&mallory, &["wallet", "init"]));
        let stolen = run(&mallory, &["wallet", "accept", link, "--tx-code", tx_code]);
        assert!(!stolen.status.success());
        let e = String::from_utf8_lossy(&stolen.stderr).into_owned();
        assert!(e.contains("invalid_proof") && e.contains("another key"), "{e}");
        let accepted = ok(&run(&student, &["wallet", "accept", link, "--tx-code", tx_code]));
        assert!(
            accepted.contains("imported UniversityDiploma") && accepted.contains("CLI University"),
            "{accepted}"
        );
        let again = run(&student, &["wallet", "accept", link, "--tx-code", tx_code]);
        assert!(String::from_utf8_lossy(&again.stderr).contains("delivered already"));
        let listed = ok(&run(&student, &["wallet", "list"]));
        assert_eq!(
            listed.lines().filter(|l| l.contains("UniversityDiploma")).count(),
            2,
            "both diplomas are held: {listed}"
        );
        let _ = child.kill();
        let _ = child.wait();
    }

    let history = ok(&run(&student, &["wallet", "history"]));
    assert!(
        history.contains("CLI Employer") && history.contains("degree"),
        "{history}"
    );
    let wrong =
        tokio::task::block_in_place(|| credctl(&student, &api, "not-the-password", &["wallet", "list"]));
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("password"));

    // Another consortium: same software, same chain id, other keys. Every role pinned to the
    // first refuses its node before reading or sending anything.
    let other_dir = d.join("other");
    let other = credctl::demo::start_devnet(&other_dir, 16_800, &mut |_| {})
        .await
        .expect("second devnet");
    let other_api = other.ledger.client.base().to_owned();
    let foreign = |home: &Path, args: &[&str]| {
        let o = tokio::task::block_in_place(|| credctl(home, &other_api, PW, args));
        assert!(
            !o.status.success(),
            "{args:?} succeeded against another consortium's node"
        );
        let e = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(e.contains("not the trusted genesis"), "{args:?}: {e}");
    };
    let c = cred.to_str().expect("utf-8");
    foreign(&uni, &["issuer", "register", "--types", "UniversityDiploma"]);
    foreign(&uni, &["revoke", "--index", "0"]);
    foreign(&student, &["wallet", "import", c]);
    foreign(&student, &["wallet", "answer", r, "--out", p, "--yes"]);
    foreign(&employer, &["verify", p]);
    foreign(&employer, &["verifier", "serve", "--listen", "127.0.0.1:0"]);
    foreign(
        &devnet_dir,
        &["governance", "approve", &"0".repeat(64), "--key", "unused"],
    );
    // Failover: with another consortium's node listed first, the next node, which serves the
    // pinned genesis, answers.
    let both = format!("{other_api},{api}");
    ok(&tokio::task::block_in_place(|| {
        credctl(&student, &both, PW, &["wallet", "import", c])
    }));
    // A home that pinned nothing trusts nothing.
    let fresh = d.join("fresh");
    let o = tokio::task::block_in_place(|| credctl(&fresh, &api, PW, &["verify", p]));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no genesis is pinned"));
    // Pinning by fingerprint: another chain's fingerprint is refused, the right one pins.
    let other_genesis = other_dir.join("devnet/genesis.json");
    let pinned = ok(&run(&employer, &["trust"]));
    let fp = pinned
        .lines()
        .find_map(|l| l.strip_prefix("genesis fingerprint "))
        .expect("the fingerprint is shown")
        .to_owned();
    let wrong_fp =
        tokio::task::block_in_place(|| credctl(&fresh, &other_api, PW, &["trust", "--fingerprint", &fp]));
    assert!(!wrong_fp.status.success());
    assert!(String::from_utf8_lossy(&wrong_fp.stderr).contains("does not have the fingerprint"));
    let pinned = ok(&tokio::task::block_in_place(|| {
        credctl(&fresh, &api, PW, &["trust", "--fingerprint", &fp])
    }));
    assert!(pinned.contains("pinned in"), "{pinned}");
    // A pinned home given another genesis file says so instead of switching.
    let o = run(
        &fresh,
        &["--genesis", other_genesis.to_str().expect("utf-8"), "verify", p],
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("pins chain"));
    other.stop().await;
    devnet.stop().await;
}

/// Issue 18 from the command line: three governance members, each in its own home, form a
/// 2-of-3 council (`credctl governance council propose|enrol|deal|check|show`); an opening
/// from a file that is not a presentation, and a share for no approved opening, are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_council_forms_and_opens_with_the_command_line() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let devnet_dir = d.join("devnet");
    let devnet = credctl::demo::start_devnet(d, 17_000, &mut |_| {})
        .await
        .expect("devnet");
    let api = devnet.ledger.client.base().to_owned();
    let password = std::fs::read_to_string(devnet_dir.join("password")).expect("devnet password");
    let homes: Vec<_> = (0..3).map(|i| d.join(format!("member-{i}"))).collect();
    let keys: Vec<String> = (0..3)
        .map(|i| {
            devnet_dir
                .join(format!("governance-{i}/governance.key"))
                .to_str()
                .expect("utf-8")
                .to_owned()
        })
        .collect();
    let run = |i: usize, args: &[&str]| {
        let (api, home, pw) = (api.clone(), homes[i].clone(), password.clone());
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        tokio::task::block_in_place(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            credctl(&home, &api, &pw, &a)
        })
    };
    for home in &homes {
        tokio::task::block_in_place(|| {
            pin(Path::new(env!("CARGO_BIN_EXE_credctl")), home, &api, &devnet_dir)
        });
    }
    let dids: Vec<String> = devnet
        .governance
        .iter()
        .map(|k| schemas::Did::from_public_key(k.public_key()).to_string())
        .collect();
    let members = dids.join(",");
    let council = |i: usize, cmd: &str| {
        ok(&run(
            i,
            &[
                "governance",
                "council",
                cmd,
                "--key",
                &keys[i],
                "--id",
                "regulators-2027",
            ],
        ))
    };
    let out = ok(&run(
        0,
        &[
            "governance",
            "council",
            "propose",
            "--key",
            &keys[0],
            "--id",
            "regulators-2027",
            "--name",
            "Financial regulators",
            "--members",
            &members,
            "--threshold",
            "2",
        ],
    ));
    let p = proposal_of(&out);
    ok(&run(1, &["governance", "approve", &p, "--key", &keys[1]]));
    for step in ["enrol", "deal", "check"] {
        for i in 0..3 {
            let out = council(i, step);
            assert!(out.contains("regulators-2027"), "{out}");
        }
    }
    let show = ok(&run(
        0,
        &["governance", "council", "show", "--id", "regulators-2027"],
    ));
    assert!(show.contains("in force; key "), "{show}");
    let key_hex = show
        .split("in force; key ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("the key");
    let key_bytes: [u8; 32] = hex::decode(key_hex).expect("hex").try_into().expect("32 bytes");
    zk::escrow::CouncilKey::from_bytes(&key_bytes).expect("a point");

    // An opening is proposed from the presentation the verifier received (its escrow proof goes
    // in the proposal): a file that is not one is refused with the reason, before anything is
    // sent. (The opening itself, from a bank that requires escrow to the vote and the shares,
    // runs in the demo story through the same library calls.)
    let not_a_presentation = d.join("not-a-presentation.json");
    std::fs::write(&not_a_presentation, "{\"hello\": 1}").expect("write");
    let refused = run(
        2,
        &[
            "governance",
            "council",
            "open",
            "--key",
            &keys[2],
            "--presentation",
            not_a_presentation.to_str().expect("utf-8"),
            "--legal-basis",
            "AML investigation 2027-114",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is not a presentation"),
        "{refused:?}"
    );
    let early = run(
        0,
        &[
            "governance",
            "council",
            "share",
            "--key",
            &keys[0],
            &"05".repeat(32),
        ],
    );
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("not approved"),
        "{early:?}"
    );
    devnet.stop().await;
}
