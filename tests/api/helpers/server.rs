//! The one launcher of the `awards` binary: its commands run to completion
//! ([`run_awards`]), and `awards serve` as a child process ([`Server`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The real binary with cheap password hashing, plain logs, and no secret
/// inherited from the environment.
pub fn awards_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_awards"));
    command
        .env("AWARDS_ARGON2_MEMORY_KIB", "1024")
        .env("AWARDS_ARGON2_ITERATIONS", "1")
        .env("NO_COLOR", "1")
        .env_remove("AWARDS_JWT_SECRET")
        .env_remove("AWARDS_ADMIN_PASSWORD");
    command
}

/// How a command ended, and what it printed.
pub struct Ran {
    /// The exit code (none when a signal ended it).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `awards ARGS` on this database to completion.
pub fn run_awards(args: &[&str], url: &str) -> Ran {
    run(awards_command().args(args).env("AWARDS_DATABASE_URL", url), "")
}

/// Runs a command to completion with this on its standard input.
pub fn run(command: &mut Command, input: &str) -> Ran {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the awards binary runs");
    let mut stdin = child.stdin.take().expect("stdin");
    // A command that does not read its input may have exited already.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().expect("the awards binary ends");
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Collects what a pipe carries until it closes.
fn drain(pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = vec![];
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            into.lock().unwrap().push_str(&String::from_utf8_lossy(&line));
            line.clear();
        }
    })
}

/// `awards serve` as a child process, its output captured in full.
pub struct Server {
    child: Child,
    pub address: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    drains: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `awards serve` on a free port (2 workers, 4 connections) with
    /// this signing key and waits until it listens. Logs are warnings and the
    /// start-up lines unless `configure` (which may set anything) says more.
    pub fn start(url: &str, jwt_secret: &str, configure: impl FnOnce(&mut Command)) -> Server {
        let mut command = awards_command();
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", "2", "--pool-size", "4"])
            .env("AWARDS_DATABASE_URL", url)
            .env("AWARDS_JWT_SECRET", jwt_secret)
            .env("AWARDS_LOG", "warn,awards::cli=info");
        configure(&mut command);
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("awards serve starts");
        let (stdout, stderr) = (Arc::new(Mutex::new(String::new())), Arc::new(Mutex::new(String::new())));
        let drains = vec![
            drain(child.stdout.take().unwrap(), stdout.clone()),
            drain(child.stderr.take().unwrap(), stderr.clone()),
        ];
        let started = Instant::now();
        let port = loop {
            let log = stderr.lock().unwrap().clone();
            let listening = log.lines().find(|l| l.contains("listening") && l.contains("port"));
            // `port=N` in text, `"port":N` in JSON.
            if let Some(port) = listening.and_then(|l| {
                let digits = l.split("port").last()?.trim_start_matches(['=', '"', ':', ' ']);
                digits.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u16>().ok()
            }) {
                break port;
            }
            assert!(child.try_wait().unwrap().is_none(), "awards serve exited: {log}");
            assert!(started.elapsed() < Duration::from_secs(60), "awards serve did not start: {log}");
            std::thread::sleep(Duration::from_millis(20));
        };
        Server { child, address: format!("http://127.0.0.1:{port}"), stdout, stderr, drains }
    }

    /// The first admin's password, printed when it started on an empty
    /// database (stdout is read on a thread of its own, so it may lag the log).
    pub fn first_admin_password(&self) -> String {
        let started = Instant::now();
        loop {
            let printed = self.stdout.lock().unwrap().clone();
            let password = printed
                .lines()
                .find(|l| l.trim_start().starts_with("password:"))
                .and_then(|l| l.split_whitespace().last())
                .map(str::to_owned);
            if let Some(password) = password {
                return password;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no first admin password printed: {printed}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops it as an operator would (SIGTERM) and returns (stdout, stderr).
    pub fn stop(mut self) -> (String, String) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.output()
    }

    /// Kills it with SIGKILL, as a crash would: nothing gets to finish.
    /// Returns (stdout, stderr).
    pub fn kill(mut self) -> (String, String) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the killed server is reaped");
        self.output()
    }

    fn output(&mut self) -> (String, String) {
        for drain in self.drains.drain(..) {
            drain.join().unwrap();
        }
        let stdout = self.stdout.lock().unwrap().clone();
        let stderr = self.stderr.lock().unwrap().clone();
        (stdout, stderr)
    }
}

impl Drop for Server {
    /// A test that fails leaves no server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
