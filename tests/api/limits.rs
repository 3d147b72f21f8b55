//! Overload limits: bodies over the limits, and slow bodies, are cut off.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;
use crate::on_both;

on_both!(oversized_and_slow_bodies_are_cut_off);

/// Sends `head` (and nothing more unless `dribble`), and reads until the
/// server closes: the answer's status and how long it took.
async fn raw(app: &TestApp, head: String, dribble: bool) -> (u16, Duration) {
    let start = Instant::now();
    let stream = TcpStream::connect(app.address.trim_start_matches("http://")).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(head.as_bytes()).await.unwrap();
    if dribble {
        // One byte of the announced body every 500 ms: never finishes in time.
        let reading = async {
            let mut answer = Vec::new();
            rd.read_to_end(&mut answer).await.map(|_| answer)
        };
        tokio::pin!(reading);
        loop {
            tokio::select! {
                answer = &mut reading => return (status(&answer.unwrap()), start.elapsed()),
                _ = tokio::time::sleep(Duration::from_millis(500)) => { let _ = wr.write_all(b" ").await; }
            }
            assert!(start.elapsed() < Duration::from_secs(30), "a slow body held its connection");
        }
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), rd.read_to_end(&mut answer))
        .await
        .expect("answered without the body")
        .unwrap();
    (status(&answer), start.elapsed())
}

fn status(answer: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(answer);
    assert!(text.contains("application/problem+json"), "{text}");
    text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{text}"))
}

async fn oversized_and_slow_bodies_are_cut_off(app: TestApp) {
    // A Content-Length over the limit is refused before a byte of the body is
    // sent (a 10 GB one too: nothing is allocated for it).
    let login = |length: u64| {
        format!("POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n")
    };
    let (code, took) = raw(&app, login(64 * 1024 + 1), false).await;
    assert_eq!(code, 413);
    assert!(took < Duration::from_secs(2), "{took:?}");
    let import = format!(
        "POST /api/v1/imports/employees HTTP/1.1\r\nHost: t\r\ncontent-type: text/csv\r\nauthorization: Bearer {}\r\ncontent-length: 10000000000\r\n\r\n",
        app.admin()
    );
    let (code, _) = raw(&app, import, false).await;
    assert_eq!(code, 413);
    // A body that trickles in is answered 408 when its time is up, not waited for.
    let (code, took) = raw(&app, login(1000), true).await;
    assert_eq!(code, 408);
    assert!(took >= Duration::from_secs(9) && took < Duration::from_secs(15), "{took:?}");
}
