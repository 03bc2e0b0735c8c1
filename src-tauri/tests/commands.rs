//! The desktop app's commands through Tauri's IPC (mock runtime, no display): onboarding,
//! locking, errors as typed codes, settings, backup; and no response ever carries key material.

use credence_desktop::{AppState, with_commands};
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;

const COST: schemas::seal::Cost = schemas::seal::Cost {
    memory_kib: 1024,
    iterations: 1,
};

struct App {
    webview: tauri::WebviewWindow<tauri::test::MockRuntime>,
    responses: Vec<String>,
}

impl App {
    fn new(dir: &std::path::Path) -> App {
        let app = with_commands(mock_builder())
            .manage(AppState::new(dir.to_path_buf(), COST))
            .build(mock_context(noop_assets()))
            .expect("app builds");
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("window");
        App {
            webview,
            responses: Vec::new(),
        }
    }

    /// Runs a command; `Ok` with its JSON answer or `Err` with the error JSON.
    fn call(&mut self, cmd: &str, args: Value) -> Result<Value, Value> {
        let r = get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().expect("url"),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<Value>().expect("JSON answer"));
        self.responses.push(match &r {
            Ok(v) | Err(v) => v.to_string(),
        });
        r
    }
}

#[test]
fn onboarding_lock_errors_settings_and_no_secret_in_any_response() {
    let dir = tempfile::tempdir().expect("dir");
    let mut app = App::new(dir.path());
    let status = app.call("status", json!({})).expect("status");
    assert_eq!(status["exists"], false);

    let e = app.call("list_credentials", json!({})).expect_err("locked");
    assert_eq!(e["code"], "locked");
    let e = app
        .call("create_wallet", json!({"password": "short"}))
        .expect_err("weak");
    assert_eq!(e["code"], "weak_password");

    let words = app
        .call("create_wallet", json!({"password": "correct horse battery"}))
        .expect("created");
    let words: Vec<String> = serde_json::from_value(words).expect("words");
    assert_eq!(words.len(), 24);
    assert_eq!(
        app.call("status", json!({})).expect("status")["phraseUnconfirmed"],
        true
    );
    let mut wrong = words.clone();
    wrong.swap(0, 1);
    let e = app
        .call("confirm_phrase", json!({"words": wrong.join(" ")}))
        .expect_err("mismatch");
    assert!(e["code"] == "phrase_mismatch" || e["code"] == "bad_phrase", "{e}");
    app.call("confirm_phrase", json!({"words": words.join(" ")}))
        .expect("confirmed");
    assert_eq!(
        app.call("status", json!({})).expect("status")["phraseUnconfirmed"],
        false
    );

    let binding = app.call("holder_binding", json!({})).expect("binding");
    assert!(binding["holderKey"].is_string() && binding["holderCommitment"].is_string());
    assert_eq!(app.call("list_credentials", json!({})).expect("list"), json!([]));
    assert_eq!(app.call("history", json!({})).expect("history"), json!([]));
    let e = app
        .call(
            "import_credential",
            json!({"text": "{\"not\": \"a credential\"}"}),
        )
        .expect_err("refused");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
    let e = app
        .call("prepare_request", json!({"text": "garbage", "credential": null}))
        .expect_err("refused");
    assert_eq!(e["code"], "bad_request");
    let e = app
        .call("approve", json!({"saveTo": null}))
        .expect_err("nothing waits");
    assert_eq!(e["code"], "no_request");

    let e = app
        .call(
            "save_settings",
            json!({"settings": {"ledger": "ftp://x", "autoLockMinutes": 5, "provingKey": null}}),
        )
        .expect_err("bad url");
    assert_eq!(e["code"], "bad_settings");
    let not_genesis = dir.path().join("not-genesis.json");
    std::fs::write(&not_genesis, "{\"chainId\": 7}").expect("write");
    let e = app
        .call(
            "save_settings",
            json!({"settings": {"ledger": "http://127.0.0.1:1", "genesis": not_genesis.to_str().expect("utf-8"),
                "autoLockMinutes": 5, "provingKey": null}}),
        )
        .expect_err("not a genesis file");
    assert_eq!(e["code"], "bad_settings");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("not a Credence genesis file")),
        "{e}"
    );
    app.call(
        "save_settings",
        json!({"settings": {"ledger": "http://127.0.0.1:1, http://127.0.0.1:2", "autoLockMinutes": 1, "provingKey": null}}),
    )
    .expect("saved");
    let e = app.call("ledger_info", json!({})).expect_err("no node answers");
    assert_eq!(e["code"], "ledger");
    let backup = dir.path().join("backup.json");
    app.call("backup", json!({"path": backup.to_str().expect("utf-8")}))
        .expect("backup");
    assert!(backup.exists());

    app.call("lock", json!({})).expect("locked");
    assert_eq!(app.call("status", json!({})).expect("status")["unlocked"], false);
    let e = app
        .call("unlock", json!({"password": "not the password"}))
        .expect_err("wrong");
    assert_eq!(e["code"], "wrong_password");
    app.call("unlock", json!({"password": "correct horse battery"}))
        .expect("unlocked");
    app.call(
        "change_password",
        json!({"old": "correct horse battery", "new": "a new long password"}),
    )
    .expect("changed");

    // Restart: settings persisted; the wallet opens with the new password only.
    app.call("lock", json!({})).expect("locked");
    let mut again = App::new(dir.path());
    let s = again.call("status", json!({})).expect("status");
    assert_eq!(s["settings"]["ledger"], "http://127.0.0.1:1, http://127.0.0.1:2");
    assert_eq!(s["unlocked"], false);
    let e = again
        .call("unlock", json!({"password": "correct horse battery"}))
        .expect_err("old");
    assert_eq!(e["code"], "wrong_password");
    again
        .call("unlock", json!({"password": "a new long password"}))
        .expect("unlocked");

    // No response carried key material: read the secrets from the store and look for them.
    again.call("lock", json!({})).expect("locked");
    let store =
        wallet::keystore::Keystore::open(&dir.path().join("wallet"), "a new long password").expect("store");
    let mut secrets = Vec::new();
    for name in ["holder/sm2", "holder/unlinkable-secret"] {
        let b = store.get(name).expect("readable").expect("present");
        secrets.push(hex::encode(&*b));
        secrets.push(format!("{:?}", &*b).replace(' ', ""));
    }
    for r in app.responses.iter().chain(&again.responses) {
        let compact = r.replace(' ', "");
        for s in &secrets {
            assert!(!compact.contains(s.as_str()), "a response carries a secret: {r}");
        }
    }
}

/// Settings name two nodes of a real devnet (in this process, ports 18600-18704): the first
/// answers; when it goes down the next command is answered by the second; with both down the
/// holder gets a `ledger` error that points at Settings.
#[test]
fn a_node_that_goes_down_is_replaced_by_the_next_that_answers() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let mut devnet = rt
        .block_on(credctl::demo::start_devnet(
            &dir.path().join("devnet"),
            18_600,
            &mut |_| {},
        ))
        .expect("devnet");
    let apis = devnet.apis.clone();
    let mut app = App::new(&dir.path().join("app"));
    let genesis = devnet.genesis_file.to_str().expect("utf-8").to_owned();
    app.call(
        "save_settings",
        json!({"settings": {"ledger": format!("{}, {}", apis[0], apis[1]), "genesis": genesis,
            "autoLockMinutes": 5, "provingKey": null}}),
    )
    .expect("saved");
    let info = app
        .call("ledger_info", json!({}))
        .expect("the first node answers");
    assert_eq!(info["node"], apis[0]);
    assert_eq!(info["validators"].as_array().map(Vec::len), Some(4));
    assert!(info["height"].is_u64(), "{info}");

    rt.block_on(devnet.stop_node(0));
    let info = app
        .call("ledger_info", json!({}))
        .expect("the second node takes over");
    assert_eq!(info["node"], apis[1]);

    rt.block_on(devnet.stop_node(1));
    let e = app.call("ledger_info", json!({})).expect_err("no node answers");
    assert_eq!(e["code"], "ledger");
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains("Settings")),
        "{e}"
    );
    rt.block_on(devnet.stop());
}

/// Two consortiums (ports 18800-18904 and 19000-19104): a wallet pins nothing on its own (the
/// error shows the node's fingerprint), pins by the fingerprint in Settings, and from then on
/// refuses the other consortium's node and its genesis file.
#[test]
fn the_wallet_pins_one_consortium_and_refuses_the_other() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let start = |sub: &str, base| {
        rt.block_on(credctl::demo::start_devnet(
            &dir.path().join(sub),
            base,
            &mut |_| {},
        ))
        .expect("devnet")
    };
    let (ours, theirs) = (start("ours", 18_800), start("theirs", 19_000));
    let mut app = App::new(&dir.path().join("app"));
    let settings = |ledger: &str, extra: Value| {
        let mut s = json!({"ledger": ledger, "autoLockMinutes": 5, "provingKey": null});
        s.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        json!({ "settings": s })
    };
    app.call("save_settings", settings(&ours.apis[0], json!({})))
        .expect("saved");
    let e = app
        .call("ledger_info", json!({}))
        .expect_err("nothing is trusted yet");
    assert_eq!(e["code"], "untrusted");
    let fingerprint = ours.trust.fingerprint().to_string();
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains(&fingerprint)),
        "{e}"
    );

    // Their fingerprint while pointing at our node: refused, nothing pinned.
    let their_fp = theirs.trust.fingerprint().to_string();
    app.call(
        "save_settings",
        settings(&ours.apis[0], json!({ "fingerprint": their_fp })),
    )
    .expect("saved");
    let e = app.call("ledger_info", json!({})).expect_err("wrong fingerprint");
    assert_eq!(e["code"], "untrusted");
    app.call(
        "save_settings",
        settings(&ours.apis[0], json!({ "fingerprint": fingerprint })),
    )
    .expect("saved");
    let info = app.call("ledger_info", json!({})).expect("pinned by fingerprint");
    assert_eq!(info["fingerprint"], fingerprint.as_str());

    // Their node, or their genesis file, is refused from now on.
    app.call("save_settings", settings(&theirs.apis[0], json!({})))
        .expect("saved");
    let e = app
        .call("ledger_info", json!({}))
        .expect_err("another consortium's node");
    assert_eq!(e["code"], "ledger");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("not the trusted genesis")),
        "{e}"
    );
    let their_file = theirs.genesis_file.to_str().expect("utf-8").to_owned();
    app.call(
        "save_settings",
        settings(&ours.apis[0], json!({ "genesis": their_file })),
    )
    .expect("saved");
    let e = app
        .call("ledger_info", json!({}))
        .expect_err("another consortium's genesis file");
    assert_eq!(e["code"], "bad_settings");
    rt.block_on(ours.stop());
    rt.block_on(theirs.stop());
}

/// A real devnet (ports 19200-19304) where a university issued the holder a diploma and an
/// employer asks for it twice: once a second request is under review, `approve` and `decline`
/// naming the first one's ticket are refused as `stale_request`; approving names the second
/// and answers the second request.
#[test]
fn approve_and_decline_act_only_on_the_review_under_way() {
    use wallet::roles::{Identity, approve};
    const PASSWORD: &str = "correct horse battery";
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let devnet = rt
        .block_on(credctl::demo::start_devnet(
            &dir.path().join("devnet"),
            19_200,
            &mut |_| {},
        ))
        .expect("devnet");
    let mut app = App::new(&dir.path().join("app"));
    let genesis = devnet.genesis_file.to_str().expect("utf-8").to_owned();
    app.call(
        "save_settings",
        json!({"settings": {"ledger": devnet.apis[0], "genesis": genesis, "autoLockMinutes": 5,
            "provingKey": null}}),
    )
    .expect("saved");
    app.call("create_wallet", json!({ "password": PASSWORD }))
        .expect("created");
    let binding: wallet::issuer::HolderBinding =
        serde_json::from_value(app.call("holder_binding", json!({})).expect("binding")).expect("a binding");

    let registered = |proposal| {
        for member in devnet.governance.iter().take(2) {
            rt.block_on(approve(&devnet.ledger, member, proposal))
                .expect("approved");
        }
    };
    let (university, _) = Identity::create(
        &dir.path().join("university"),
        "Review University",
        PASSWORD,
        COST,
    )
    .expect("issuer");
    registered(
        rt.block_on(university.register_issuer(&devnet.ledger, vec!["UniversityDiploma".into()]))
            .expect("proposed"),
    );
    let (employer, _) =
        Identity::create(&dir.path().join("employer"), "Review Employer", PASSWORD, COST).expect("verifier");
    registered(
        rt.block_on(employer.register_verifier(
            &devnet.ledger,
            vec![schemas::ledger::ScopeItem {
                credential_type: "UniversityDiploma".into(),
                disclose: vec!["degree".into()],
                predicates: vec![],
                escrow: None,
            }],
            vec!["employment screening".into()],
            "review-employer/v1".into(),
        ))
        .expect("proposed"),
    );
    let schema = schemas::credential_schema::CredentialSchema::builtin("university-diploma").expect("schema");
    let row = wallet::issuer::Row::new(
        2,
        json!({"name": "Li Hua", "student_id": "2022010001", "degree": "Bachelor of Engineering",
            "major": "Computer Science", "gpa": 3.62, "graduation_date": "2026-07-01"}),
        binding,
    );
    let (batch, _) = rt
        .block_on(university.issue_and_anchor(
            &devnet.ledger,
            &schema,
            vec![row],
            (wallet::now() - 60, None),
            false,
            &|_| {},
        ))
        .expect("issued");
    app.call(
        "import_credential",
        json!({ "text": batch.credentials[0].1.to_json().to_string() }),
    )
    .expect("imported");

    let spec = wallet::verifier::RequestSpec {
        credential_type: "UniversityDiploma".into(),
        accepted_issuers: vec![university.did()],
        disclose: vec!["degree".into()],
        predicates: vec![],
        purpose: "employment screening".into(),
        ttl_secs: 600,
        tier: schemas::presentation::Tier::Selective,
    };
    let mut review = |request: &schemas::presentation::SignedRequest| {
        let text = serde_json::to_string(request).expect("request JSON");
        let r = app
            .call("prepare_request", json!({ "text": text, "credential": null }))
            .expect("under review");
        r["ticket"].as_u64().expect("a ticket")
    };
    let first = wallet::verifier::make_request(employer.key(), &spec, wallet::now(), &mut rand_core::OsRng);
    let second = wallet::verifier::make_request(employer.key(), &spec, wallet::now(), &mut rand_core::OsRng);
    let (old, current) = (review(&first), review(&second));
    assert_ne!(old, current);

    let e = app
        .call("approve", json!({ "saveTo": null, "ticket": old }))
        .expect_err("the first review is over");
    assert_eq!(e["code"], "stale_request", "{e}");
    let e = app
        .call("decline", json!({ "ticket": old }))
        .expect_err("the first review is over");
    assert_eq!(e["code"], "stale_request", "{e}");
    let answered = app
        .call("approve", json!({ "saveTo": null, "ticket": current }))
        .expect("the current review is answered");
    let presentation: schemas::presentation::Presentation =
        serde_json::from_str(answered["presentation"].as_str().expect("a presentation")).expect("parses");
    assert_eq!(
        presentation.request, second,
        "it answers the request under review"
    );
    rt.block_on(devnet.stop());
}

/// The window asks for the status every half minute: that must not keep the wallet open. An idle
/// wallet locks itself at the next status; a holder's command counts as activity.
#[test]
fn the_wallet_locks_itself_when_idle_though_the_window_keeps_asking_its_status() {
    use tauri::Manager;
    let dir = tempfile::tempdir().expect("dir");
    let mut app = App::new(dir.path());
    app.call("create_wallet", json!({"password": "correct horse battery"}))
        .expect("created");
    app.call(
        "save_settings",
        json!({"settings": {"ledger": "http://127.0.0.1:1", "autoLockMinutes": 1, "provingKey": null}}),
    )
    .expect("one minute");
    let idle = |app: &App, secs: u64| {
        let state = app.webview.state::<AppState>();
        tauri::async_runtime::block_on(state.backdate_activity(std::time::Duration::from_secs(secs)));
    };
    let unlocked = |app: &mut App| app.call("status", json!({})).expect("status")["unlocked"] == true;

    // A holder's command 50 s in keeps it open past the minute.
    idle(&app, 50);
    app.call("list_credentials", json!({})).expect("still open");
    idle(&app, 20);
    assert!(unlocked(&mut app), "a command counts as activity");

    // Status polls 50 s in do not: 70 s after the last command it locks.
    app.call("list_credentials", json!({})).expect("still open");
    idle(&app, 50);
    assert!(unlocked(&mut app), "50 s idle is under the minute");
    idle(&app, 20);
    assert!(
        !unlocked(&mut app),
        "the window's status polls kept an idle wallet open"
    );
    let e = app.call("list_credentials", json!({})).expect_err("locked");
    assert_eq!(e["code"], "locked");
}

/// `choose_file` names its dialogs in camelCase, and where no dialog can be shown (this mock
/// window) it says so and answers no path.
#[test]
fn choose_file_names_each_kind_and_says_when_no_dialog_can_be_shown() {
    let dir = tempfile::tempdir().expect("dir");
    let mut app = App::new(dir.path());
    for kind in [
        "backupOpen",
        "backupSave",
        "presentationSave",
        "genesis",
        "provingKey",
    ] {
        let e = app
            .call("choose_file", json!({"kind": kind, "title": "Pick"}))
            .expect_err("no dialog plugin here");
        assert_eq!(e["code"], "no_dialog", "{kind}: {e}");
    }
    let e = app
        .call("choose_file", json!({"kind": "anyFile", "title": "x"}))
        .expect_err("an unknown kind");
    assert!(e.to_string().contains("anyFile"), "{e}");
    assert_eq!(credence_desktop::dialog_title("Pick\u{0} a\nfile"), "Pick afile");
    assert_eq!(
        credence_desktop::dialog_title(&"长".repeat(500)).chars().count(),
        120
    );
}
