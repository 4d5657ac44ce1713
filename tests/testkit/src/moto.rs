//! The media storage test bed: a real S3 server (moto in server mode, from the workspace
//! venv) with a bucket and IAM-checked credentials, and generated files with their SHA-256.
//! [`crate::proxy`] cuts the way to it.
//!
//! moto accepts any credentials unless told to enforce IAM, so [`MotoServer::start`]
//! creates the bucket, an IAM user allowed `s3:*` and that user's access key, then turns
//! enforcement on (`/moto-api/reset-auth`): from then on a wrong key or secret is refused
//! with 403 like on real S3. The setup runs through boto3 (installed with moto) because
//! moto's IAM API wants signed query requests that are no business of the code under test.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tgc_common::config::{MediaStorage, S3Storage};
use tgc_common::secret::Secret;
use tgc_service::mediaprocessor::Storage;

/// How long moto may take to listen and be set up: generous, never a measurement.
const START_GUARD: Duration = Duration::from_secs(60);

/// The region the settings name (moto's default).
pub const REGION: &str = "us-east-1";

/// A moto S3 server on a free port of 127.0.0.1, killed on drop.
pub struct MotoServer {
    child: Child,
    pub addr: SocketAddr,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// Creates the bucket, the IAM user, policy and access key, then (with `enforce`) enforces
/// IAM; prints the key as JSON.
const SETUP: &str = r#"
import json, sys, urllib.request
import boto3
endpoint, bucket, enforce = sys.argv[1], sys.argv[2], sys.argv[3] == "enforce"
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="setup", aws_secret_access_key="setup")
boto3.client("s3", **kw).create_bucket(Bucket=bucket)
iam = boto3.client("iam", **kw)
iam.create_user(UserName="tgc-media")
iam.put_user_policy(UserName="tgc-media", PolicyName="media", PolicyDocument=json.dumps(
    {"Version": "2012-10-17",
     "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="tgc-media")["AccessKey"]
if not enforce:
    # Unsigned requests are anonymous: a bucket policy lets them read what they wrote.
    boto3.client("s3", **kw).put_bucket_policy(Bucket=bucket, Policy=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                        "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
if enforce:
    urllib.request.urlopen(urllib.request.Request(
        endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
        headers={"Content-Type": "text/plain"})).read()
print(json.dumps({"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}))
"#;

impl MotoServer {
    /// A server that checks credentials like S3 does.
    pub fn start() -> MotoServer {
        MotoServer::start_with(true)
    }

    /// A server that takes unsigned requests: a plain HTTP object server at
    /// [`MotoServer::bucket_url`], for the HTTP backend.
    pub fn start_without_auth() -> MotoServer {
        MotoServer::start_with(false)
    }

    fn start_with(enforce_auth: bool) -> MotoServer {
        let python = crate::python::python();
        let moto_server = python.with_file_name("moto_server");
        assert!(
            moto_server.exists(),
            "no moto_server beside {} (run ./test.sh, which installs tests/py/requirements.txt into .venv)",
            python.display()
        );
        let dir = tempfile::tempdir().expect("a temp dir for moto's log");
        let log = dir.path().join("moto.log");
        let port = free_port();
        let mut child = Command::new(&moto_server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", moto_server.display()));
        let lines = copy_lines(child.stderr.take().expect("piped stderr"), &log);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut server = MotoServer {
            child,
            addr,
            bucket: "tgc-media".to_owned(),
            access_key: String::new(),
            secret_key: String::new(),
            log,
            _dir: dir,
        };
        server.wait_listening(&lines);
        let output = Command::new(&python)
            .args(["-c", SETUP, &server.endpoint(), &server.bucket])
            .arg(if enforce_auth { "enforce" } else { "open" })
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        assert!(
            output.status.success(),
            "setting moto up failed: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            server.log_tail()
        );
        let keys: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("the setup prints the access key");
        server.access_key = keys["access_key"].as_str().expect("access_key").to_owned();
        server.secret_key = keys["secret_key"].as_str().expect("secret_key").to_owned();
        server
    }

    /// Waits for moto's "Running on" line (werkzeug prints it once it listens).
    fn wait_listening(&mut self, lines: &std::sync::mpsc::Receiver<String>) {
        let deadline = Instant::now() + START_GUARD;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains("Running on") => return,
                Ok(_) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    panic!("moto_server exited ({status}):\n{}", self.log_tail());
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(
                    "moto_server did not listen on {} within {START_GUARD:?}:\n{}",
                    self.addr,
                    self.log_tail()
                ),
            }
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bucket as a plain HTTP location (path-style).
    pub fn bucket_url(&self) -> String {
        format!("{}/{}", self.endpoint(), self.bucket)
    }

    /// The settings of the bucket with the working credentials.
    pub fn settings(&self) -> MediaStorage {
        self.settings_with(&self.endpoint(), &self.bucket, &self.secret_key)
    }

    /// The settings with another endpoint (a proxy), bucket or secret key.
    pub fn settings_with(&self, endpoint: &str, bucket: &str, secret_key: &str) -> MediaStorage {
        MediaStorage::S3(S3Storage {
            endpoint: endpoint.parse().expect("an endpoint URL"),
            bucket: bucket.to_owned(),
            region: REGION.to_owned(),
            access_key: self.access_key.clone(),
            secret_key: Secret::new(secret_key.to_owned()),
        })
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies a child's output line by line into `log` (for failure messages) on a thread,
/// handing each line to the returned channel as well, until the output closes.
fn copy_lines(
    output: impl std::io::Read + Send + 'static,
    log: &Path,
) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let mut file = std::fs::File::create(log).expect("moto's log file");
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(output).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(file, "{line}");
            // The receiver goes once moto listens; the log file keeps the rest.
            let _ = sender.send(line);
        }
    });
    lines
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port on 127.0.0.1")
}

/// Writes `size` pseudo-random bytes (a xorshift stream from `seed`, so misplaced parts
/// show) to `path`; returns their SHA-256.
pub fn write_generated(path: &Path, size: u64, seed: u64) -> [u8; 32] {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("a temp file"));
    let mut hash = Sha256::new();
    let mut state = seed | 1;
    let mut left = size;
    let mut block = vec![0u8; 64 * 1024];
    while left > 0 {
        for word in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes()[..word.len()]);
        }
        let take = usize::try_from(left.min(block.len() as u64)).expect("a block");
        file.write_all(&block[..take])
            .expect("writing the temp file");
        hash.update(&block[..take]);
        left -= take as u64;
    }
    file.flush().expect("flushing the temp file");
    hash.finalize().into()
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A key like the pipeline's (32 hex digits), distinct per name.
pub fn object_key(name: &str) -> String {
    format!(
        "{:032x}",
        u128::from_le_bytes(sha256(name.as_bytes())[..16].try_into().unwrap())
    )
}

/// A storage backend under test, and what keeps its store alive.
pub struct Backend {
    pub storage: Storage,
    /// A local store's temporary directory.
    dir: Option<tempfile::TempDir>,
    /// Held so the server lives as long as the backend.
    _moto: Option<MotoServer>,
}

impl Backend {
    /// The directory of a local store (where its objects are files).
    pub fn local_dir(&self) -> PathBuf {
        self.dir
            .as_ref()
            .expect("a local store")
            .path()
            .join("media")
    }

    /// A local directory store in a temporary directory.
    pub fn local() -> Backend {
        let dir = tempfile::tempdir().expect("a temp dir");
        let settings = MediaStorage::Local {
            dir: dir.path().join("media"),
        };
        Backend {
            storage: Storage::from_settings(&settings).expect("a local storage"),
            dir: Some(dir),
            _moto: None,
        }
    }

    /// The S3 backend against a fresh moto server with IAM-checked credentials.
    pub fn s3() -> Backend {
        let moto = MotoServer::start();
        Backend {
            storage: Storage::from_settings(&moto.settings()).expect("an S3 storage"),
            dir: None,
            _moto: Some(moto),
        }
    }

    /// The HTTP backend over moto taking unsigned requests (a plain object server: PUT, GET,
    /// HEAD; it has no WebDAV listing).
    pub fn http() -> Backend {
        let moto = MotoServer::start_without_auth();
        let settings = MediaStorage::Http {
            url: moto.bucket_url().parse().expect("the bucket URL"),
        };
        Backend {
            storage: Storage::from_settings(&settings).expect("an HTTP storage"),
            dir: None,
            _moto: Some(moto),
        }
    }
}
