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
    // Timed to the answer's head: after answering, actix may wait up to its
    // client-disconnect timeout (2 s) before it closes the connection.
    let head = read_until(&mut rd, "\r\n\r\n").await;
    let took = start.elapsed();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), rd.read_to_end(&mut rest))
        .await
        .expect("closed after answering without the body")
        .unwrap();
    (status(head.as_bytes()), took)
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

on_both!(a_kept_alive_connection_cannot_hold_a_half_sent_head);

/// Reads from `rd` until `want` has arrived (one response on a kept-alive
/// connection), or the server closes.
async fn read_until(rd: &mut (impl AsyncReadExt + Unpin), want: &str) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains(want) {
        let n =
            tokio::time::timeout(Duration::from_secs(5), rd.read(&mut buf)).await.expect("answered").unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// actix-web times only a connection's first request head; the reaper
/// (src/connections.rs) cuts a kept-alive connection whose next head never
/// completes, 15 s after its last answer, and never a request still running.
async fn a_kept_alive_connection_cannot_hold_a_half_sent_head(app: TestApp) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let slow_head = async {
        let (mut rd, mut wr) = TcpStream::connect(&address).await.unwrap().into_split();
        wr.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
        assert!(read_until(&mut rd, "\"ok\"").await.starts_with("HTTP/1.1 200"));
        let answered = Instant::now();
        let mut buf = [0u8; 256];
        for byte in b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ".iter().cycle() {
            let _ = wr.write_all(&[*byte]).await;
            match tokio::time::timeout(Duration::from_secs(1), rd.read(&mut buf)).await {
                Err(_) => {}
                Ok(Ok(0) | Err(_)) => return answered.elapsed(),
                Ok(Ok(n)) => panic!("answered a head never finished: {}", String::from_utf8_lossy(&buf[..n])),
            }
            assert!(answered.elapsed() < Duration::from_secs(30), "a half-sent head held its connection");
        }
        unreachable!()
    };
    // Meanwhile a request whose body takes longer than that to arrive (a CSV
    // upload has 2 minutes) is answered, not cut.
    let slow_body = async {
        let (mut rd, mut wr) = TcpStream::connect(&address).await.unwrap().into_split();
        let body = b"employee_no,name,branch_code,role\n";
        wr.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
        read_until(&mut rd, "\"ok\"").await;
        let head = format!(
            "POST /api/v1/imports/employees HTTP/1.1\r\nHost: t\r\ncontent-type: text/csv\r\nauthorization: Bearer {}\r\ncontent-length: {}\r\n\r\n",
            app.admin(),
            body.len()
        );
        wr.write_all(head.as_bytes()).await.unwrap();
        let started = Instant::now();
        for byte in body {
            wr.write_all(&[*byte]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(600)).await;
        }
        let answer = read_until(&mut rd, "\r\n\r\n").await;
        (started.elapsed(), answer)
    };
    let (held, (took, answer)) = tokio::join!(slow_head, slow_body);
    assert!(held >= Duration::from_secs(14) && held < Duration::from_secs(20), "{held:?}");
    assert!(took > Duration::from_secs(17), "{took:?}");
    // Answered on the whole body: its header names a column the import does not know.
    assert!(answer.starts_with("HTTP/1.1 422 "), "the slow upload was cut: {answer:?}");
    assert!(answer.contains(r#"unknown column \"role\" in the header line"#), "{answer:?}");
}
