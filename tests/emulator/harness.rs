//! The project's AWS emulator (`tests/emulator/`, Python on the pinned moto, installed into
//! `.venv` by `scripts/test.sh`) as the Rust tests use it: one process on a free loopback
//! port, an SDK configuration pointing at it, and its control API (transition durations,
//! faults, alarm states, scripted failures and invoke replies, the AWS state, the request
//! log, service-model violations).
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use serde_json::{Value, json};

pub struct Emulator {
    child: Child,
    pub port: u16,
    pub endpoint: String,
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("MOTO_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/emulator")
}

impl Emulator {
    /// Starts the emulator; panics with the fix when it is not installed (a test must not
    /// pass silently without its oracle).
    pub fn start() -> Self {
        let python = python();
        assert!(
            python.exists(),
            "the emulator's Python is not installed at {}: run `bash scripts/test.sh` (it creates .venv with the pinned moto) or set MOTO_PYTHON",
            python.display()
        );
        let mut child = Command::new(&python)
            .arg(dir())
            .args(["--host", "127.0.0.1", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("emulator start line");
        let port: u16 = line
            .trim()
            .strip_prefix("EMULATOR_LISTENING port=")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected emulator start line {line:?}"));
        let e = Self {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        // Fast transitions for tests; scenarios set their own.
        e.set(
            json!({"create_seconds": 0.3, "update_seconds": 0.4, "weights_seconds": 0.2,
                     "delete_seconds": 0.2, "rollback_seconds": 0.2, "wait_scale": 0.002}),
        );
        e
    }

    /// SDK configuration pointing at this emulator with dummy credentials.
    pub async fn config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(
                "testing", "testing", None, None, "emulator",
            ))
            .load()
            .await
    }

    /// Environment for a child process (the real binary) to talk to this emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// One request to the control API; the JSON answer.
    pub fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        write!(
            stream,
            "{method} /_emulator/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read");
        let (head, payload) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        assert!(
            head.starts_with("HTTP/1.1 2") || head.starts_with("HTTP/1.0 2"),
            "control {method} {path}: {head}\n{payload}"
        );
        serde_json::from_str(payload).unwrap_or(Value::Null)
    }

    /// Transition durations (`create_seconds`, `update_seconds`, …, `wait_scale`).
    pub fn set(&self, settings: Value) {
        self.control("POST", "config", Some(settings));
    }

    pub fn faults(&self, faults: Value) {
        self.control("POST", "faults", Some(faults));
    }

    pub fn alarm_state(&self, name: &str, state: &str) {
        self.control(
            "POST",
            "alarm-state",
            Some(json!({"name": name, "state": state, "reason": "set by a test"})),
        );
    }

    pub fn fail_next_update(&self, endpoint: &str, reason: &str) {
        self.control(
            "POST",
            "fail-next-update",
            Some(json!({"endpoint": endpoint, "reason": reason})),
        );
    }

    pub fn invoke_result(&self, reply: Value) {
        self.control("POST", "invoke-results", Some(reply));
    }

    /// All AWS state.
    pub fn state(&self) -> Value {
        self.control("GET", "state", None)
    }

    /// Every SDK request so far: `{seq, service, operation, status, error_code, injected}`.
    pub fn requests(&self) -> Vec<Value> {
        self.control("GET", "requests", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn clear_requests(&self) {
        self.control("DELETE", "requests", None);
    }

    /// Requests that broke AWS's service model (a test asserts there are none).
    pub fn violations(&self) -> Vec<Value> {
        self.control("GET", "violations", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Internal emulator errors (an emulator bug, never the code under test).
    pub fn errors(&self) -> Vec<Value> {
        self.control("GET", "errors", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Panics unless every request so far was valid by the service models and the emulator
    /// itself had no internal error.
    pub fn assert_clean(&self) {
        let v = self.violations();
        assert!(v.is_empty(), "service-model violations: {v:#?}");
        let e = self.errors();
        assert!(e.is_empty(), "emulator errors: {e:#?}");
    }

    /// Requests per `service:operation`, from the request log.
    pub fn counts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut out = std::collections::BTreeMap::new();
        for r in self.requests() {
            let key = format!(
                "{}:{}",
                r["service"].as_str().unwrap_or("?"),
                r["operation"].as_str().unwrap_or("?")
            );
            *out.entry(key).or_default() += 1;
        }
        out
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
