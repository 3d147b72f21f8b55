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
        let thread = std::thread::Builder::new()
            .name("vote-writer".into())
            .spawn(move || run(conn, receiver, batch.max(1)))?;
        Ok(VoteWriter { sender: Some(sender), thread: Some(thread) })
    }

    pub async fn submit(&self, command: Command) -> AppResult<Option<Receipt>> {
        let (reply, answer) = oneshot::channel();
        let sender = self.sender.as_ref().ok_or_else(|| AppError::unavailable("shutting down", 1))?;
        sender.try_send((command, reply)).map_err(|e| match e {
            TrySendError::Full(_) => AppError::unavailable("too many votes waiting; retry shortly", 1),
            TrySendError::Disconnected(_) => AppError::unavailable("the vote writer has stopped", 1),
        })?;
        let answer = answer
            .await
            .map_err(|_| AppError::internal(anyhow::anyhow!("the vote writer dropped a vote")))?;
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

fn run(mut conn: DbConn, jobs: Receiver<Job>, batch: usize) {
    while let Ok(first) = jobs.recv() {
        let mut pending = vec![first];
        while pending.len() < batch {
            match jobs.try_recv() {
                Ok(job) => pending.push(job),
                Err(_) => break,
            }
        }
        let now = db::now();
        let written = db::write_tx(&mut conn, |conn| {
            Ok::<_, diesel::result::Error>(
                pending
                    .iter()
                    .map(|(command, _)| conn.transaction(|conn| apply(conn, command, now)))
                    .collect::<Vec<Answer>>(),
            )
        });
        match written {
            Ok(answers) => {
                for ((_, reply), answer) in pending.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, votes = pending.len(), "a vote batch failed to commit");
                for (_, reply) in pending {
                    let _ = reply.send(Err(VoteError::NotCommitted));
                }
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
