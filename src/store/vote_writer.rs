//! Group commit for votes: one thread with its own connection takes every
//! vote of this node, writes as many as are waiting (up to a batch) in one
//! transaction of a few set-based statements (`votes::cast_batch`), commits
//! once, and only then answers each request. The database pays for one
//! commit and a handful of statements per batch instead of per vote, and a
//! request waits on a channel instead of holding a thread. On SQLite, which
//! has one writer at a time anyway, it is the only writer of votes; on
//! PostgreSQL each node has its own, and the database's constraints settle
//! what nodes race for.

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use tokio::sync::oneshot;

use crate::db::{self, Backend, DatabaseUrl, DbConn};
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
    checkpointer: Option<Checkpointer>,
}

impl VoteWriter {
    /// Opens the writer's connection and starts its thread. `queue` bounds the
    /// votes waiting (more is 503), `batch` the votes per transaction.
    pub fn start(url: &DatabaseUrl, queue: usize, batch: usize) -> anyhow::Result<VoteWriter> {
        let conn = connect(url).map_err(|e| anyhow::anyhow!("vote writer: {e}"))?;
        let (sender, receiver) = crossbeam_channel::bounded(queue);
        let writer_url = url.clone();
        let thread = std::thread::Builder::new()
            .name("vote-writer".into())
            .spawn(move || run(&writer_url, conn, receiver, batch.max(1)))?;
        let checkpointer = match url.backend {
            Backend::Sqlite => Some(Checkpointer::start(url)?),
            Backend::Postgres => None,
        };
        Ok(VoteWriter { sender: Some(sender), thread: Some(thread), checkpointer })
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
        self.checkpointer.take();
    }
}

/// A batch that failed is tried again this many times in all: on PostgreSQL
/// another node's commit can break a batch's constraint, a deadlock or a
/// serialization failure; the next try reads that commit and decides anew.
const ATTEMPTS: usize = 3;

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
        let mut attempt = 1;
        let written = loop {
            let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                write_batch(&mut conn, &pending, now)
            }));
            match written {
                Ok(Err(diesel::result::Error::DatabaseError(_, info))) if attempt < ATTEMPTS => {
                    tracing::warn!(error = info.message(), attempt, "a vote batch failed; trying again");
                    attempt += 1;
                }
                written => break written,
            }
        };
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

/// One transaction for the batch: each run of votes as one set, each
/// withdrawal in its own savepoint. A refused vote or withdrawal is an
/// answer; any other database error rolls back the whole batch, so no vote
/// is reported lost that was in fact saved, nor the reverse.
fn write_batch(
    conn: &mut DbConn,
    pending: &[Job],
    now: chrono::NaiveDateTime,
) -> Result<Vec<Answer>, diesel::result::Error> {
    db::write_tx(conn, |conn| {
        let mut answers = Vec::with_capacity(pending.len());
        let mut casts: Vec<&Cast> = Vec::new();
        for (command, _) in pending {
            match command {
                Command::Cast(cast) => casts.push(cast),
                Command::Withdraw { round_id, voter_id, nomination_id } => {
                    cast_all(conn, &mut casts, now, &mut answers)?;
                    let withdrawn = conn
                        .transaction(|conn| votes::withdraw(conn, *round_id, *voter_id, *nomination_id, now));
                    match withdrawn {
                        Err(VoteError::Db(e)) => return Err(e),
                        answer => answers.push(answer.map(|()| None)),
                    }
                }
            }
        }
        cast_all(conn, &mut casts, now, &mut answers)?;
        Ok(answers)
    })
}

/// Records the votes gathered so far and empties the list.
fn cast_all(
    conn: &mut DbConn,
    casts: &mut Vec<&Cast>,
    now: chrono::NaiveDateTime,
    answers: &mut Vec<Answer>,
) -> diesel::QueryResult<()> {
    if !casts.is_empty() {
        let cast = votes::cast_batch(conn, casts, now)?;
        answers.extend(cast.into_iter().map(|answer| answer.map(Some).map_err(VoteError::Refused)));
        casts.clear();
    }
    Ok(())
}

/// The writer's connection. On PostgreSQL its statements are planned for
/// each batch's own values: a plan cached while the votes table was small
/// would scan the whole table once it has grown.
fn connect(url: &DatabaseUrl) -> anyhow::Result<DbConn> {
    let mut conn = url.connect()?;
    match &mut conn {
        DbConn::Pg(pg) => pg.batch_execute("SET plan_cache_mode = force_custom_plan")?,
        // The checkpointer copies the WAL back; this is only the backstop
        // should it fall behind (SQLite's default, 1,000 pages, would make
        // the writer stop for a checkpoint every few hundred batches).
        DbConn::Sqlite(lite) => lite.batch_execute("PRAGMA wal_autocheckpoint = 20000")?,
    }
    Ok(conn)
}

fn reconnect(url: &DatabaseUrl) -> DbConn {
    loop {
        match connect(url) {
            Ok(conn) => return conn,
            Err(e) => {
                tracing::error!(error = %e, "the vote writer cannot reconnect; retrying");
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }
}

/// SQLite: copies the write-ahead log back into the database on its own
/// thread and connection, every 100 ms, with a PASSIVE checkpoint (it never
/// blocks the writer), so the vote writer does not stop to do it.
struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(url: &DatabaseUrl) -> anyhow::Result<Checkpointer> {
        let mut conn = url.connect().map_err(|e| anyhow::anyhow!("checkpointer: {e}"))?;
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let thread = std::thread::Builder::new().name("wal-checkpoint".into()).spawn(move || {
            while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(std::time::Duration::from_millis(100))
            {
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        })?;
        Ok(Checkpointer { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
