//! The desktop wallet in its real window, driven through WebDriver (tauri-driver in front of
//! WebKitWebDriver) against a devnet of four validators and an observer (ports 17600-17704;
//! tauri-driver on 17800-17801): a wallet is created (the recovery phrase read off the screen
//! and typed back), pointed at the devnet, given a diploma a university issued to the holder
//! binding the Import screen shows, and used to answer an employer; the saved presentation is
//! then verified by `credctl verify --offline`. A request beyond the employer's registered scope
//! cannot be approved; the consent screen fits a 420-pixel window; the wallet unlocks with the
//! keyboard alone. Every main screen is saved as a PNG in `$CREDENCE_SCREENSHOTS` (default
//! `target/screenshots`).
//!
//! Needs a display, `dbus-daemon` (the test starts its own session bus: a second launch hands
//! its link to the running window over it), tauri-driver and xdotool (for the system's file
//! dialogs), so it is ignored by a plain test run; `.ci/test` runs it as `xvfb-run -a -s
//! "-screen 0 1280x800x24" cargo nextest run --workspace --run-ignored only -E
//! 'binary_id(credence-desktop::window)'` after the workspace tests (which build `credctl`).

mod common;

use common::{approve, ok, proposal_of};
use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PW: &str = "window-test-password";
const WALLET_PASSWORD: &str = "a long wallet password";
const DEVNET_BASE: u16 = 17_600;
const DRIVER_PORT: u16 = 17_800;
const CHROMEDRIVER_PORT: u16 = 17_820;
const SERVICE_PORT: u16 = 17_850;
const ISSUER_PORT: u16 = 17_860;
const WAIT: Duration = Duration::from_secs(60);

/// A D-Bus session bus of the test's own (each attempt gets a fresh one): the wallet's single
/// instance is a name on it, so a second launch finds the first here — never a developer's
/// running wallet, nor an app a failed attempt left behind.
struct SessionBus {
    daemon: Child,
    address: String,
}

impl SessionBus {
    fn start() -> SessionBus {
        use std::io::BufRead;
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("dbus-daemon cannot run ({e}): install the Debian package dbus-daemon")
            });
        let mut address = String::new();
        let out = daemon.stdout.take().expect("piped");
        std::io::BufReader::new(out)
            .read_line(&mut address)
            .expect("dbus-daemon prints its address");
        let address = address.trim().to_owned();
        assert!(
            address.contains(':'),
            "dbus-daemon printed no address: {address:?}"
        );
        SessionBus { daemon, address }
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// tauri-driver, stopped with SIGTERM so that it stops WebKitWebDriver and the app too.
struct Driver(Child);

impl Driver {
    fn start(wallet_dir: &Path, bus: &SessionBus) -> Driver {
        let exe = std::env::var_os("TAURI_DRIVER").map_or_else(
            || {
                let cargo_bin = std::env::var_os("CARGO_HOME")
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
                    .map(|h| h.join("bin/tauri-driver"));
                cargo_bin
                    .filter(|p| p.exists())
                    .unwrap_or_else(|| "tauri-driver".into())
            },
            PathBuf::from,
        );
        let child = Command::new(&exe)
            .args(["--port", &DRIVER_PORT.to_string()])
            .args(["--native-port", &(DRIVER_PORT + 1).to_string()])
            .env("CREDENCE_DESKTOP_DIR", wallet_dir)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}. Install it with `cargo install tauri-driver --locked` \
                     (and WebKitWebDriver with `apt-get install webkit2gtk-driver`), or run .ci/test",
                    exe.display()
                )
            });
        let by = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", DRIVER_PORT)).is_err() {
            assert!(
                Instant::now() < by,
                "tauri-driver did not listen on {DRIVER_PORT} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver(child)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let by = Instant::now() + Duration::from_secs(10);
        while Instant::now() < by {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The WebDriver session and where its screenshots go.
struct Window {
    c: Client,
    shots: PathBuf,
}

impl Window {
    async fn open(app: &Path, shots: PathBuf) -> Window {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app.to_str().expect("utf-8 path") }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let c = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{DRIVER_PORT}"))
            .await
            .expect("a WebDriver session with the app");
        std::fs::create_dir_all(&shots).expect("screenshot folder");
        Window { c, shots }
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.c.find(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("no {css} on the screen: {e}\n{}", self.page().await),
        }
    }

    /// The notice line and the main area, for failure messages.
    async fn page(&self) -> String {
        let text = |css: &'static str| async move {
            match self.c.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            }
        };
        format!(
            "notice: {}\nscreen: {}",
            text("#notice").await,
            text("#main").await
        )
    }

    /// Waits until `css` matches an element whose text contains `needle`; returns that text.
    async fn wait_text(&self, css: &str, needle: &str) -> String {
        let by = Instant::now() + WAIT;
        loop {
            if let Ok(all) = self.c.find_all(Locator::Css(css)).await {
                for e in all {
                    if let Ok(t) = e.text().await
                        && t.contains(needle)
                    {
                        return t;
                    }
                }
            }
            assert!(
                Instant::now() < by,
                "waited {WAIT:?} for {css} to show {needle:?}\n{}",
                self.page().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screen(&self, heading: &str) {
        self.wait_text("#main h2", heading).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    async fn go(&self, route: &str, heading: &str) {
        self.click(&format!("#nav button[data-route={route}]")).await;
        self.screen(heading).await;
    }

    /// Pastes the request in `file` on the Answer screen and opens its consent screen.
    async fn review(&self, file: &Path) {
        self.go("answer", "Answer a request").await;
        let text = std::fs::read_to_string(file).expect("request file");
        self.type_into("#request-text", &text).await;
        self.click("#request button[type=submit]").await;
        self.screen("Review the request").await;
    }

    /// Clicks the "Choose…" button of the path field `css` and answers the system's file dialog
    /// (GTK, a window of its own: WebDriver cannot reach it) the way a holder does with the
    /// keyboard — types the full path and presses Enter —; the field then holds the path.
    async fn choose(&self, css: &str, title: &str, path: &Path, save: bool) {
        self.click(&format!("{css}-choose")).await;
        let open = || {
            xdotool(&["search", "--onlyvisible", "--name", title])
                .lines()
                .next()
                .map(str::to_owned)
        };
        let dialog = wait_for(|| async { open() }, &format!("a file dialog titled {title:?}")).await;
        let typed = path.to_str().expect("utf-8");
        // GTK may still be filling the dialog when it maps, and lose the first keys: each try,
        // while the dialog is still open, focuses it, opens the location entry (an open dialog;
        // a save dialog's name entry has the focus), replaces what the entry holds with the path
        // and presses Enter, then waits for the dialog to close.
        for _ in 0..5 {
            if open().is_none() {
                break;
            }
            xdotool_ok(&["windowfocus", "--sync", &dialog]);
            if !save {
                xdotool_ok(&["key", "--clearmodifiers", "ctrl+l"]);
            }
            xdotool_ok(&["key", "--clearmodifiers", "ctrl+a"]);
            xdotool_ok(&["type", "--delay", "25", typed]);
            xdotool_ok(&["key", "--clearmodifiers", "Return"]);
            let deadline = Instant::now() + Duration::from_secs(5);
            while open().is_some() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        assert!(
            open().is_none(),
            "the file dialog {title:?} did not take the path"
        );
        wait_for(
            || async { (self.value(css).await == typed).then_some(()) },
            &format!("the chosen path in {css}"),
        )
        .await;
    }

    async fn shot(&self, name: &str) {
        // Let the page finish painting (fonts, focus ring) before the picture.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let png = self.c.screenshot().await.expect("screenshot");
        assert!(
            png.starts_with(b"\x89PNG"),
            "the screenshot of {name} is not a PNG"
        );
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("write screenshot");
    }
}

/// Opens `link` with the desktop wallet the way the system does (`credence-desktop LINK`); the
/// single-instance plugin hands it to the running window and this second process exits.
fn open_with_the_wallet(app: &Path, bus: &SessionBus, wallet_dir: &Path, link: &str) {
    let mut second = Command::new(app)
        .arg(link)
        .env("CREDENCE_DESKTOP_DIR", wallet_dir)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .stdout(Stdio::null())
        .spawn()
        .expect("a second launch of the wallet");
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = second.try_wait().expect("wait") {
            assert!(status.success(), "the second launch failed: {status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("the second launch did not hand its link over to the first and exit");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs xdotool (on the test's display) and answers what it printed (`search` finding nothing
/// is not an error).
fn xdotool(args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("xdotool cannot run ({e}): install the Debian package xdotool"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs xdotool; it must succeed.
fn xdotool_ok(args: &[&str]) {
    let out = Command::new("xdotool")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("xdotool cannot run ({e}): install the Debian package xdotool"));
    assert!(
        out.status.success(),
        "xdotool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls `probe` until it answers something (within [`WAIT`]).
async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
    mut probe: impl FnMut() -> F,
    what: &str,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "waited in vain for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn screenshots_dir() -> PathBuf {
    std::env::var_os("CREDENCE_SCREENSHOTS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"),
        PathBuf::from,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: .ci/test runs it under Xvfb"]
async fn the_wallet_window_from_onboarding_to_a_verified_presentation() {
    let app = PathBuf::from(env!("CARGO_BIN_EXE_credence-desktop"));
    let cli = app.with_file_name("credctl");
    assert!(
        cli.exists(),
        "{} is missing: build it first with `cargo build -p wallet --bin credctl`",
        cli.display()
    );
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let devnet_dir = d.join("devnet");
    let devnet = credctl::demo::start_devnet(d, DEVNET_BASE, &mut |_| {})
        .await
        .expect("devnet");
    let api = devnet.ledger.client.base().to_owned();
    let run = |home: &Path, args: &[&str]| -> Output {
        tokio::task::block_in_place(|| common::credctl(&cli, home, &api, PW, args))
    };
    let (uni, employer) = (d.join("uni"), d.join("employer"));
    for home in [&uni, &employer] {
        tokio::task::block_in_place(|| common::pin(&cli, home, &api, &devnet_dir));
    }

    // The university and the employer, registered by governance (as in the CLI test).
    ok(&run(&uni, &["issuer", "init", "--name", "Window University"]));
    let p = proposal_of(&ok(&run(
        &uni,
        &["issuer", "register", "--types", "UniversityDiploma"],
    )));
    tokio::task::block_in_place(|| approve(&cli, &devnet_dir, &api, &p));
    ok(&run(
        &employer,
        &["verifier", "init", "--name", "Window Employer"],
    ));
    let p = proposal_of(&ok(&run(
        &employer,
        &[common::REGISTER_EMPLOYER, &["window-employer"]].concat(),
    )));
    tokio::task::block_in_place(|| approve(&cli, &devnet_dir, &api, &p));

    let bus = SessionBus::start();
    let _driver = Driver::start(&d.join("desktop"), &bus);
    let w = Window::open(&app, screenshots_dir()).await;

    // Onboarding: create, read the phrase off the screen, type it back.
    w.screen("Welcome").await;
    w.shot("01-onboarding").await;
    w.type_into("#new-password", WALLET_PASSWORD).await;
    w.click("#create button[type=submit]").await;
    w.screen("Your recovery phrase").await;
    let mut words = Vec::new();
    for li in w.c.find_all(Locator::Css("#phrase li")).await.expect("phrase") {
        words.push(li.text().await.expect("word"));
    }
    assert_eq!(words.len(), 24, "the phrase has 24 words: {words:?}");
    w.shot("02-recovery-phrase").await;
    w.type_into("#confirm-words", &words.join(" ")).await;
    w.click("#confirm button[type=submit]").await;
    w.screen("Your credentials").await;
    w.wait_text("#notice", "Recovery phrase confirmed").await;

    // Settings: the devnet's API.
    w.go("settings", "Settings").await;
    w.type_into("#ledger", &api).await;
    let genesis = devnet_dir.join("genesis.json");
    w.choose("#genesis", "Genesis file", &genesis, false).await;
    w.click("#settings button[type=submit]").await;
    w.wait_text("#notice", "Settings saved").await;
    w.wait_text("#trust", "4 validators. The genesis matches the pinned one")
        .await;
    w.shot("03-settings").await;

    // Import shows the holder binding; the university issues to it.
    w.go("import", "Import a credential").await;
    let binding: serde_json::Value =
        serde_json::from_str(&w.value("#holder-binding").await).expect("the binding is JSON");
    let key = binding["holderKey"].as_str().expect("holder key").to_owned();
    w.shot("04-import").await;
    let csv = d.join("class.csv");
    std::fs::write(
        &csv,
        format!(
            "name,student_id,degree,major,gpa,graduation_date,holder_key\n\
             Wang Fang,20260001,BEng,Computer Science,3.71,2026-07-01,{key}\n"
        ),
    )
    .expect("csv");
    let out = d.join("issued");
    ok(&run(
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
    ));
    // The credential file, chosen with the file picker's input.
    let cred = out.join("credential-2.json");
    w.find("#import-file")
        .await
        .send_keys(cred.to_str().expect("utf-8"))
        .await
        .expect("choose the file");
    let by = Instant::now() + WAIT;
    while w.value("#import-text").await.is_empty() {
        assert!(
            Instant::now() < by,
            "the chosen file was not read into the text area"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w.click("#import button[type=submit]").await;
    w.wait_text("#notice", "Imported University Diploma from Window University")
        .await;
    w.screen("Your credentials").await;
    w.wait_text(".card", "Window University").await;
    w.shot("05-credentials").await;

    // Detail: the issuer as registered and the revocation status, read live.
    w.click(".card-open").await;
    w.wait_text("#revocation", "not revoked").await;
    let detail = w.find("#main").await.text().await.expect("detail");
    assert!(detail.contains("Window University — active"), "{detail}");
    assert!(
        detail.contains("Wang Fang") && detail.contains("3.71"),
        "{detail}"
    );
    // Attributes as the schema describes them.
    assert!(
        detail.contains("Student number at the issuing university"),
        "{detail}"
    );
    w.shot("06-credential-detail").await;

    // The employer's request, pasted; the consent screen; approve and save.
    // The request names where the answer goes and a session value the employer tells the student.
    let request = d.join("request.json");
    let mut args = common::diploma_request("degree", &["gpa>=300"], request.to_str().expect("utf-8"));
    args.extend(["--answer-at", "https://verify.employer.example/v1/verify"]);
    let made = ok(&run(&employer, &args));
    let session = made
        .split("session ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("credctl request prints the session: {made}"))
        .to_owned();
    w.review(&request).await;
    w.wait_text("#scope", "inside").await;
    w.wait_text("#session", &session).await;
    let consent = w.find("#main").await.text().await.expect("consent");
    assert!(consent.contains("verify.employer.example"), "{consent}");
    assert!(consent.contains("Window Employer"), "{consent}");
    // Attributes named as people name them (the built-in schema's field names are not shown).
    assert!(consent.contains("Degree: BEng"), "{consent}");
    assert!(consent.contains("GPA ≥ 3.00"), "{consent}");
    assert!(
        consent.contains("Student number"),
        "hidden attributes are listed: {consent}"
    );
    w.shot("07-consent").await;
    let saved = d.join("presentation.json");
    w.choose("#save-to", "Save a copy", &saved, true).await;
    w.click("#approve").await;
    w.screen("Presentation ready").await;
    w.shot("08-presentation").await;
    let verified = ok(&run(
        &employer,
        &["verify", saved.to_str().expect("utf-8"), "--offline"],
    ));
    assert!(verified.contains("disclosed: degree = BEng"), "{verified}");

    // A request beyond the registered scope: shown loudly, and it cannot be approved.
    let wide = d.join("wide.json");
    ok(&run(
        &employer,
        &common::diploma_request("student_id", &[], wide.to_str().expect("utf-8")),
    ));
    w.review(&wide).await;
    let scope = w.wait_text("#scope", "Outside its registered scope").await;
    assert!(scope.contains("Student number"), "{scope}");
    assert!(
        !w.find("#approve").await.is_enabled().await.expect("enabled?"),
        "an out-of-scope request must not be approvable"
    );
    w.shot("09-out-of-scope").await;
    // A narrow window: the same screen reflows, nothing scrolls sideways.
    w.c.set_window_size(420, 800).await.expect("narrow window");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fits =
        w.c.execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1",
            vec![],
        )
        .await
        .expect("measure");
    assert_eq!(
        fits,
        serde_json::Value::Bool(true),
        "the consent screen scrolls sideways at 420 px"
    );
    w.shot("12-narrow-window").await;
    w.c.set_window_size(1280, 800).await.expect("wide window");
    w.click("#decline").await;
    w.wait_text("#notice", "Declined").await;

    // History: one disclosure, to the employer, of the degree, with the proof.
    w.go("history", "Disclosure history").await;
    let row = w.wait_text("#history tbody tr", "Window Employer").await;
    assert!(
        row.contains("Degree: BEng") && row.contains("GPA ≥ 3.00"),
        "{row}"
    );
    assert_eq!(
        w.c.find_all(Locator::Css("#history tbody tr"))
            .await
            .expect("rows")
            .len(),
        1,
        "the declined request left no record"
    );
    w.shot("10-history").await;

    // Issue 20: the employer's page in a real browser (Chromium) and the wallet's link flow.
    employer_page_to_desktop_wallet(&w, &app, &bus, &cli, &employer, &api, d).await;
    // Issue 20: the university's offer link, accepted in the wallet (OpenID4VCI).
    offer_to_desktop_wallet(&w, &run, &cli, &uni, &api, d, &key).await;

    // Issue 20: the wallet in Simplified Chinese, switched in Settings, and back.
    w.go("settings", "Settings").await;
    w.find("#language")
        .await
        .select_by_value("zh-CN")
        .await
        .expect("choose 简体中文");
    w.screen("设置").await;
    w.wait_text("#nav", "回应请求").await;
    w.shot("30-zh-settings").await;
    w.go("credentials", "你的凭证").await;
    w.wait_text(".card", "学位证书").await;
    w.shot("31-zh-credentials").await;
    w.click(".card-open").await;
    w.wait_text("#revocation", "未撤销").await;
    w.wait_text("#main table", "平均学分绩点").await;
    w.shot("32-zh-credential-detail").await;
    w.go("answer", "回应请求").await;
    let text = std::fs::read_to_string(&wide).expect("request file");
    w.type_into("#request-text", &text).await;
    w.click("#request button[type=submit]").await;
    w.screen("审阅请求").await;
    // The library's reason and the attribute, both in Chinese.
    w.wait_text("#scope", "超出其登记范围：它无权查看“学号”").await;
    w.shot("33-zh-consent").await;
    w.click("#decline").await;
    w.wait_text("#notice", "已拒绝").await;
    w.go("settings", "设置").await;
    w.find("#language")
        .await
        .select_by_value("en")
        .await
        .expect("choose English");
    w.screen("Settings").await;

    // Lock and unlock.
    w.click("#lock").await;
    w.screen("Unlock your wallet").await;
    w.shot("11-locked").await;
    // By keyboard alone: the password field has focus order, Enter submits.
    w.type_into("#password", &format!("{WALLET_PASSWORD}\u{E007}"))
        .await;
    w.screen("Your credentials").await;

    w.c.close().await.expect("close the session");
    devnet.stop().await;
}

/// A child process killed when dropped.
struct Child_(Child);

impl Drop for Child_ {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_port(port: u16, what: &str) {
    let by = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < by, "{what} did not listen on {port} within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Chromium, headless, behind chromedriver (Debian's `chromium` and `chromium-driver`).
async fn chromium() -> (Child_, Client) {
    let exe = std::env::var_os("CHROMEDRIVER").unwrap_or_else(|| "chromedriver".into());
    let driver = Child_(
        Command::new(&exe)
            .arg(format!("--port={CHROMEDRIVER_PORT}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start chromedriver: {e}. Install it with `apt-get install chromium chromium-driver`, or run .ci/setup")
            }),
    );
    wait_port(CHROMEDRIVER_PORT, "chromedriver");
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "chrome".into());
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,1000", "--lang=en-US"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{CHROMEDRIVER_PORT}"))
        .await
        .expect("a WebDriver session with Chromium");
    (driver, c)
}

/// Waits until `css` on the page matches an element whose text contains `needle`.
async fn page_text(c: &Client, css: &str, needle: &str) -> String {
    let by = Instant::now() + WAIT;
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
            && t.contains(needle)
        {
            return t;
        }
        if Instant::now() >= by {
            let body = match c.find(Locator::Css("body")).await {
                Ok(b) => b.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            panic!("waited {WAIT:?} for {css} to show {needle:?} on the employer's page:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn page_shot(c: &Client, name: &str) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = c.screenshot().await.expect("screenshot");
    assert!(
        png.starts_with(b"\x89PNG"),
        "the screenshot of {name} is not a PNG"
    );
    let dir = screenshots_dir();
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

/// Creates a request from the page with template `index`; returns its link and session value.
async fn page_request(c: &Client, index: usize) -> (String, String) {
    let select = c.find(Locator::Css("#template")).await.expect("templates");
    select.select_by_index(index).await.expect("pick a template");
    c.find(Locator::Css("#create"))
        .await
        .expect("create")
        .click()
        .await
        .expect("click create");
    page_text(c, "#status", "Waiting for the holder").await;
    let link = c
        .find(Locator::Css("#link"))
        .await
        .expect("link")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    let session = c
        .find(Locator::Css("#session"))
        .await
        .expect("session")
        .text()
        .await
        .expect("text");
    assert!(link.starts_with("openid4vp://"), "{link}");
    (link, session)
}

/// The employer's staff page (the verifier service, a real process) creates an OpenID4VP
/// request in Chromium; the desktop wallet opens its link, shows the consent with the session
/// value the page shows, and sends the answer itself; the page shows every check passed. Then a
/// request beyond the employer's registered scope: the wallet cannot approve it; the holder
/// declines, the wallet tells the verifier so (in the same words as any refusal), and the page
/// shows it declined.
async fn employer_page_to_desktop_wallet(
    w: &Window,
    app: &Path,
    bus: &SessionBus,
    cli: &Path,
    employer: &Path,
    api: &str,
    d: &Path,
) {
    let token = "window-staff-token-0123456789abcdef";
    let tokens = d.join("staff-tokens");
    std::fs::write(&tokens, format!("front-desk {token}\n")).expect("tokens");
    let templates = d.join("templates.json");
    std::fs::write(
        &templates,
        serde_json::json!([
            {"title": "Graduate hiring: degree, GPA at least 3.00",
             "request": {"credentialType": "UniversityDiploma", "disclose": ["degree"],
                 "predicates": [{"attribute": "gpa", "kind": {"atLeast": {"bound": 300}}}],
                 "purpose": "hiring", "tier": "selective"}},
            {"title": "Student number (beyond what we registered)",
             "request": {"credentialType": "UniversityDiploma", "disclose": ["student_id"],
                 "purpose": "hiring", "tier": "selective"}}
        ])
        .to_string(),
    )
    .expect("templates");
    let service = format!("127.0.0.1:{SERVICE_PORT}");
    let _service = Child_(
        Command::new(cli)
            .arg("--home")
            .arg(employer)
            .args(["--ledger", api, "verifier", "serve", "--listen", &service])
            .arg("--tokens")
            .arg(&tokens)
            .arg("--templates")
            .arg(&templates)
            .env("CREDENCE_PASSWORD", PW)
            .stdout(Stdio::null())
            .spawn()
            .expect("credctl verifier serve"),
    );
    tokio::task::block_in_place(|| wait_port(SERVICE_PORT, "the verifier service"));
    let (_chromedriver, c) = chromium().await;
    c.goto(&format!("http://{service}/"))
        .await
        .expect("the employer's page");
    page_text(&c, "h1", "Verify a credential").await;
    let t = c.find(Locator::Css("#token")).await.expect("token field");
    t.send_keys(&format!("{token}\u{E007}")).await.expect("sign in");
    page_text(&c, "#template", "Graduate hiring").await;
    page_text(&c, "#template-info", "gpa ≥ 300").await;
    page_shot(&c, "20-employer-page").await;

    let (link, session) = page_request(&c, 0).await;
    page_shot(&c, "21-employer-request").await;
    w.go("answer", "Answer a request").await;
    w.type_into("#request-link", &link).await;
    w.click("#request button[type=submit]").await;
    w.screen("Review the request").await;
    w.wait_text("#session", &session).await;
    w.wait_text("#scope", "inside").await;
    w.wait_text("#origin", &format!("http://{service}/v1/oid4vp/responses"))
        .await;
    w.shot("13-consent-by-link").await;
    w.click("#approve").await;
    w.screen("Answer sent").await;
    let sent = w.wait_text("#sent", "every check passed").await;
    assert_eq!(
        w.find("#sent")
            .await
            .attr("data-accepted")
            .await
            .expect("attr")
            .as_deref(),
        Some("true"),
        "{sent}"
    );
    w.shot("14-answer-sent").await;
    page_text(&c, "#status", "Every check passed").await;
    let checks = c.find_all(Locator::Css("#checks li")).await.expect("checks");
    assert!(checks.len() >= 8, "the page lists every check: {}", checks.len());
    for li in &checks {
        assert_eq!(
            li.attr("data-status").await.expect("attr").as_deref(),
            Some("passed"),
            "{}",
            li.text().await.unwrap_or_default()
        );
    }
    page_text(&c, "#disclosed", "BEng").await;
    page_shot(&c, "22-employer-passed").await;

    // Beyond the registered scope: the wallet will not answer; the holder declines.
    c.find(Locator::Css("#again"))
        .await
        .expect("again")
        .click()
        .await
        .expect("click");
    let (wide, _) = page_request(&c, 1).await;
    // This link the system opens with the wallet, as a browser or a QR scanner would: a second
    // launch hands it to the running window (over the D-Bus session bus) and exits; the link
    // waits in the box, and nothing is fetched until the holder asks.
    w.go("credentials", "Your credentials").await;
    tokio::task::block_in_place(|| open_with_the_wallet(app, bus, &d.join("desktop"), &wide));
    w.wait_text("#notice", "A verifier's link was opened with the wallet")
        .await;
    w.screen("Answer a request").await;
    assert_eq!(w.value("#request-link").await, wide);
    w.click("#request button[type=submit]").await;
    w.screen("Review the request").await;
    let scope = w.wait_text("#scope", "Outside its registered scope").await;
    assert!(scope.contains("Student number"), "{scope}");
    assert!(
        !w.find("#approve").await.is_enabled().await.expect("enabled?"),
        "an out-of-scope request must not be approvable"
    );
    w.click("#decline").await;
    w.wait_text("#notice", "The verifier was told you declined").await;
    let declined = page_text(&c, "#status", "declined").await;
    assert!(declined.contains("the holder declined"), "{declined}");
    page_shot(&c, "23-employer-declined").await;
    c.close().await.expect("close Chromium");
}

/// The university issues a second diploma to the holder's key and offers it by OpenID4VCI (its
/// issuer service a real process); the wallet's Import screen takes the offer link and the
/// transaction code; the credential shows in Credentials. A wrong transaction code is refused
/// first, saying so.
async fn offer_to_desktop_wallet(
    w: &Window,
    run: &impl Fn(&Path, &[&str]) -> Output,
    cli: &Path,
    uni: &Path,
    api: &str,
    d: &Path,
    key: &str,
) {
    let csv = d.join("class2.csv");
    std::fs::write(
        &csv,
        format!(
            "name,student_id,degree,major,gpa,graduation_date,holder_key\n\
             Wang Fang,20280001,MEng,Computer Science,3.90,2028-07-01,{key}\n"
        ),
    )
    .expect("csv");
    let batch = d.join("issued2");
    let b = batch.to_str().expect("utf-8");
    ok(&run(
        uni,
        &[
            "issue",
            "--schema",
            "diploma",
            "--input",
            csv.to_str().expect("utf-8"),
            "--out",
            b,
        ],
    ));
    let at = format!("127.0.0.1:{ISSUER_PORT}");
    ok(&run(
        uni,
        &[
            "issuer",
            "offer",
            "--batch",
            b,
            "--public-url",
            &format!("http://{at}"),
        ],
    ));
    let offers = std::fs::read_to_string(batch.join("offers.csv")).expect("offers.csv");
    let row: Vec<String> = offers
        .lines()
        .nth(1)
        .expect("one offer")
        .split(',')
        .map(str::to_owned)
        .collect();
    let (link, tx_code) = (&row[1], &row[2]);
    let _issuer = Child_(
        Command::new(cli)
            .arg("--home")
            .arg(uni)
            .args(["--ledger", api, "issuer", "serve", "--batch", b, "--listen", &at])
            .env("CREDENCE_PASSWORD", PW)
            .stdout(Stdio::null())
            .spawn()
            .expect("credctl issuer serve"),
    );
    tokio::task::block_in_place(|| wait_port(ISSUER_PORT, "the issuer service"));
    w.go("import", "Import a credential").await;
    w.type_into("#offer-link", link).await;
    let wrong = if tx_code == "000000" { "111111" } else { "000000" };
    w.type_into("#tx-code", wrong).await;
    w.click("#offer button[type=submit]").await;
    w.wait_text("#notice", "transaction code is wrong").await;
    w.type_into("#tx-code", tx_code).await;
    w.shot("15-offer").await;
    w.click("#offer button[type=submit]").await;
    w.wait_text("#notice", "Imported University Diploma from Window University")
        .await;
    w.screen("Your credentials").await;
    let by = Instant::now() + WAIT;
    while w.c.find_all(Locator::Css(".card")).await.map_or(0, |c| c.len()) < 2 {
        assert!(
            Instant::now() < by,
            "the offered credential does not show in Credentials\n{}",
            w.page().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w.shot("16-credentials-after-offer").await;
}
