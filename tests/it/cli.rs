//! The `tgcollector` binary as an operator uses it: `config check` and `accounts list|import`,
//! run as a process against files in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_tgcollector");

/// A Telethon StringSession: '1' + URL-safe base64 of dc_id | IPv4 | port BE | 256-byte key.
fn telethon_string(dc_id: u8, key_byte: u8) -> String {
    use base64::Engine as _;
    let mut raw = vec![dc_id, 149, 154, 167, 51];
    raw.extend_from_slice(&443u16.to_be_bytes());
    raw.extend(std::iter::repeat_n(key_byte, 256));
    format!("1{}", base64::engine::general_purpose::URL_SAFE.encode(raw))
}

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// A directory with a config file that puts the sessions in `./sessions`.
    fn new(config: &str) -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("tgc.properties"), config).expect("write config");
        Workspace { dir }
    }

    fn sessions(&self) -> PathBuf {
        self.dir.path().join("sessions")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BINARY)
            .arg("--config")
            .arg(self.dir.path().join("tgc.properties"))
            .args(args)
            .env_remove("TGC_CONFIG")
            .env_remove("RUST_LOG")
            .output()
            .expect("run tgcollector")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn config_check_accepts_the_shipped_file_and_masks_secrets() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.properties");
    let out = Command::new(BINARY)
        .args(["config", "check", "--config"])
        .arg(&shipped)
        .output()
        .expect("run");
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("sessions.dir = "), "{stdout}");
    assert!(stdout.contains("telegram.api_hash = ***"), "{stdout}");
    assert!(
        !stdout.contains("b18441a1ff607e10a989891a5462e627"),
        "{stdout}"
    );
}

#[test]
fn config_check_warns_about_secret_files_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let key = tgc_service::cryptor::keygen::config_value(&tgc_service::cryptor::keygen::generate());
    let ws = Workspace::new("telegram.api_id = 1\n");
    std::fs::write(ws.dir.path().join("keys"), &key).expect("key file");
    std::fs::write(
        ws.dir.path().join("tgc.properties"),
        "telegram.api_id = 1\ntelegram.api_hash = 0123456789abcdef0123456789abcdef\ncrypto.keys_file = keys\n",
    )
    .expect("config");
    let chmod = |name: &str, mode: u32| {
        std::fs::set_permissions(
            ws.dir.path().join(name),
            std::fs::Permissions::from_mode(mode),
        )
        .expect("chmod");
    };
    chmod("tgc.properties", 0o644);
    chmod("keys", 0o640);
    let out = ws.run(&["config", "check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for (name, mode) in [("tgc.properties", "644"), ("keys", "640")] {
        assert!(
            stderr.lines().any(|l| l.contains(name)
                && l.contains(&format!("mode {mode}"))
                && l.contains("chmod 600")),
            "{name}: {stderr}"
        );
    }

    chmod("tgc.properties", 0o600);
    chmod("keys", 0o600);
    let out = ws.run(&["config", "check"]);
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn config_check_fails_naming_file_line_key_and_suggestion() {
    let ws = Workspace::new("server.listn = 127.0.0.1:1\nserver.max_concurrency = lots\n");
    let out = ws.run(&["config", "check"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("tgc.properties:1"), "{stderr}");
    assert!(stderr.contains("server.listen"), "{stderr}");
    assert!(stderr.contains("tgc.properties:2"), "{stderr}");
    assert!(stderr.contains("lots"), "{stderr}");
}

#[test]
fn import_from_a_string_creates_a_private_session_that_list_shows() {
    let ws = Workspace::new("sessions.dir = sessions\n");
    let out = ws.run(&[
        "accounts",
        "import",
        "--telethon-string",
        &telethon_string(2, 7),
        "--name",
        "alice",
        "--offline",
    ]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let file = ws.sessions().join("alice.session");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&file)
        .expect("session file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let out = ws.run(&["accounts", "list"]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("alice.session"), "{stdout}");
    assert!(stdout.contains("2 149.154.167.51:443"), "{stdout}");
}

#[test]
fn import_refuses_a_malformed_string_and_says_why() {
    let ws = Workspace::new("sessions.dir = sessions\n");
    let cases = [
        ("2AAAA", "'1'"),
        ("1@@@@", "base64"),
        (&telethon_string(2, 7)[..40], "expected 263"),
        ("1A", "base64"),
    ];
    for (string, expected) in cases {
        let out = ws.run(&[
            "accounts",
            "import",
            "--telethon-string",
            string,
            "--name",
            "x",
            "--offline",
        ]);
        assert!(!out.status.success(), "accepted {string}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.to_lowercase().contains(&expected.to_lowercase()),
            "for {string}: {stderr}"
        );
        let first_line = stderr.lines().next().unwrap_or_default();
        let parts: Vec<&str> = first_line.split(": ").collect();
        assert!(
            parts.windows(2).all(|pair| pair[0] != pair[1]),
            "each reason is said once: {first_line}"
        );
    }
    assert!(!ws.sessions().join("x.session").exists());
}

#[test]
fn import_refuses_to_overwrite_an_account() {
    let ws = Workspace::new("sessions.dir = sessions\n");
    let args = |key| {
        vec![
            "accounts".to_string(),
            "import".into(),
            "--telethon-string".into(),
            telethon_string(2, key),
            "--name".into(),
            "alice".into(),
            "--offline".into(),
        ]
    };
    let first = ws.run(&args(1).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(first.status.success(), "{}", text(&first.stderr));
    let second = ws.run(&args(2).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!second.status.success());
    assert!(text(&second.stderr).contains("alice.session"));
}

#[test]
fn list_reports_a_bad_file_and_still_lists_the_good_ones() {
    let ws = Workspace::new("sessions.dir = sessions\n");
    let out = ws.run(&[
        "accounts",
        "import",
        "--telethon-string",
        &telethon_string(4, 9),
        "--name",
        "good",
        "--offline",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(ws.sessions().join("broken.session"), b"not a database").expect("write");

    let out = ws.run(&["accounts", "list"]);
    assert!(
        !out.status.success(),
        "a bad file must make list exit non-zero"
    );
    assert!(text(&out.stdout).contains("good.session"));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("broken.session"), "{stderr}");
    assert!(
        stderr.contains("1 account(s) loaded, 1 file(s) failed"),
        "{stderr}"
    );
}

#[test]
fn import_of_a_telethon_file_copies_it_into_the_sessions_dir() {
    let ws = Workspace::new("sessions.dir = sessions\n");
    // Make a real session file with tgcollector itself, outside sessions.dir, then import it.
    let elsewhere = Workspace::new("sessions.dir = store\n");
    let out = elsewhere.run(&[
        "accounts",
        "import",
        "--telethon-string",
        &telethon_string(5, 3),
        "--name",
        "carol",
        "--offline",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let source = elsewhere.dir.path().join("store/carol.session");

    let out = ws.run(&["accounts", "import", "--telethon-file"]);
    assert!(!out.status.success(), "a missing path is a usage error");
    let out = ws.run(&[
        "accounts",
        "import",
        "--telethon-file",
        source.to_str().expect("utf-8 path"),
        "--offline",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(ws.sessions().join("carol.session").is_file());

    let missing = ws.run(&[
        "accounts",
        "import",
        "--telethon-file",
        "/nonexistent/x.session",
    ]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("/nonexistent/x.session"));
}
