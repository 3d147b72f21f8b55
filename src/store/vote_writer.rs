//! Group commit for votes on SQLite: one thread with its own connection takes
//! every vote, writes as many as are waiting (up to a batch) in one
//! transaction, each in its own savepoint, commits once, and only then
//! answers each request. SQLite has one writer at a time anyway; this makes
//! it pay for one commit per batch instead of one per vote, and a request
//! waits on a channel instead of holding a thread.

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use diesel::Connection;
use tokio::sync::oneshot;

use crate::db::{self, DatabaseUrl, DbConn};
use crate::error::{AppError, AppResult};
use crate::store::votes::{self, Cast, Receipt, VoteError};

pub enum Command {
    Cast(Cast),
    Withdraw { round_id: i64, voter_id: i64, nomination_id: i64 },
}

/// What the writer answers: a receipt for a vote, nothing for a withdrawal.
pub type Answer = Result<Option<Receipt>, VoteError>;

type Job = (Command, oneshot::Sender<Answer>);

pub struct VoteWriter {
    sender: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl VoteWriter {
    /// Opens the writer's connection and starts its thread. `queue` bounds the
    /// votes waiting (more is 503), `batch` the votes per transaction.
    pub fn start(url: &DatabaseUrl, queue: usize, batch: usize) -> anyhow::Result<VoteWriter> {
        let conn = url.connect().map_err(|e| anyhow::anyhow!("vote writer: {e}"))?;
        let (sender, receiver) = crossbeam_channel::bounded(queue);
        let url = url.clone();
        let thread = std::thread::Builder::new()
            .name("vote-writer".into())
            .spawn(move || run(&url, conn, receiver, batch.max(1)))?;
        Ok(VoteWriter { sender: Some(sender), thread: Some(thread) })
    }

    pub async fn submit(&self, command: Command) -> AppResult<Option<Receipt>> {
        let (reply, answer) = oneshot::channel();
        let sender = self.sender.as_ref().ok_or_else(|| AppError::unavailable("shutting down", 1))?;
        sender.try_send((command, reply)).map_err(|e| match e {
            TrySendError::Full(_) => AppError::unavailable("too many votes waiting; retry shortly", 1),
            TrySendError::Disconnected(_) => AppError::unavailable("the vote writer has stopped", 1),
        })?;
        let answer = answer.await.map_err(|_| AppError::unavailable("the vote was not saved; retry", 1))?;
        Ok(answer?)
    }
}

impl Drop for VoteWriter {
    /// Lets the writer finish what is queued, then waits for it.
    fn drop(&mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(url: &DatabaseUrl, mut conn: DbConn, jobs: Receiver<Job>, batch: usize) {
    while let Ok(first) = jobs.recv() {
        let mut pending = vec![first];
        while pending.len() < batch {
            match jobs.try_recv() {
                Ok(job) => pending.push(job),
                Err(_) => break,
            }
        }
        let now = db::now();
        let written =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write_batch(&mut conn, &pending, now)));
        match written {
            Ok(Ok(answers)) => {
                for ((_, reply), answer) in pending.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            failed => {
                match failed {
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, votes = pending.len(), "a vote batch was not saved")
                    }
                    _ => tracing::error!(
                        votes = pending.len(),
                        "the vote writer panicked; the batch was not saved"
                    ),
                }
                for (_, reply) in pending {
                    let _ = reply.send(Err(VoteError::NotCommitted));
                }
            }
        }
        if db::is_broken(&mut conn) {
            conn = reconnect(url);
        }
    }
}

/// One transaction for the batch, a savepoint per vote. A refused vote rolls
/// back its savepoint only; any other database error rolls back the batch,
/// so no vote is reported lost that was in fact saved, nor the reverse.
fn write_batch(
    conn: &mut DbConn,
    pending: &[Job],
    now: chrono::NaiveDateTime,
) -> Result<Vec<Answer>, diesel::result::Error> {
    db::write_tx(conn, |conn| {
        let mut answers = Vec::with_capacity(pending.len());
        for (command, _) in pending {
            match conn.transaction(|conn| apply(conn, command, now)) {
                Err(VoteError::Db(e)) => return Err(e),
                answer => answers.push(answer),
            }
        }
        Ok(answers)
    })
}

fn reconnect(url: &DatabaseUrl) -> DbConn {
    loop {
        match url.connect() {
            Ok(conn) => return conn,
            Err(e) => {
                tracing::error!(error = %e, "the vote writer cannot reconnect; retrying");
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }
}

/// One command, as every backend runs it (inside a transaction or savepoint).
pub fn apply(conn: &mut DbConn, command: &Command, now: chrono::NaiveDateTime) -> Answer {
    match command {
        Command::Cast(cast) => votes::cast(conn, cast, now).map(Some),
        Command::Withdraw { round_id, voter_id, nomination_id } => {
            votes::withdraw(conn, *round_id, *voter_id, *nomination_id, now).map(|()| None)
        }
    }
}
