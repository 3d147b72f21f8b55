//! Group commit for votes: one thread with its own connection takes every
//! vote of this node, writes as many as are waiting (up to a batch) in one
//! transaction (`votes::cast_batch`), commits once, and only then answers
//! each request. The database pays for one commit per batch instead of per
//! vote (and on PostgreSQL a handful of statements per batch), and a
//! request waits on a channel instead of holding a thread. On SQLite, which
//! has one writer at a time anyway, it is the only writer of votes; on
//! PostgreSQL each node has a few, and the database's constraints settle
//! what they and other nodes race for.

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use diesel::connection::SimpleConnection;
use tokio::sync::oneshot;

use crate::db::{self, Backend, DatabaseUrl, DbConn};
use crate::domain::time::Timestamp;
use crate::store::votes::{self, Cast, Receipt};
use crate::store::{StoreError, StoreResult, Unavailable};

pub enum Command {
    Cast(Cast),
    Withdraw { round_id: i64, voter_id: i64, nomination_id: i64 },
}

/// What the writer answers: a receipt for a vote, nothing for a withdrawal.
pub type Answer = StoreResult<Option<Receipt>>;

type Job = (Command, oneshot::Sender<Answer>);

pub struct VoteWriter {
    sender: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
    checkpointer: Option<Checkpointer>,
}

impl VoteWriter {
    /// Opens the writers' connections and starts their threads, which take
    /// votes from one queue: `queue` bounds the votes waiting (more is 503),
    /// `batch` the votes per transaction. On PostgreSQL there are `writers` of
    /// them, so that one batch's round trips overlap another's (two gave 1.2×
    /// one in `bench/voting.py`, three no more); they race as two nodes would,
    /// and the constraints settle it the same way.
    pub fn start(
        url: &DatabaseUrl,
        queue: usize,
        batch: usize,
        writers: usize,
    ) -> anyhow::Result<VoteWriter> {
        let (sender, receiver) = crossbeam_channel::bounded(queue);
        let batch = batch.max(1);
        let writers = match url.backend {
            Backend::Sqlite => 1,
            Backend::Postgres => writers.max(1),
        };
        let mut threads = Vec::new();
        for _ in 0..writers {
            let conn = connect(url).map_err(|e| anyhow::anyhow!("vote writer: {e}"))?;
            let (writer_url, receiver) = (url.clone(), receiver.clone());
            threads.push(
                std::thread::Builder::new()
                    .name("vote-writer".into())
                    .spawn(move || run(&writer_url, conn, receiver, batch))?,
            );
        }
        let checkpointer = match url.backend {
            Backend::Sqlite => Some(Checkpointer::start(url)?),
            Backend::Postgres => None,
        };
        Ok(VoteWriter { sender: Some(sender), threads, checkpointer })
    }

    pub async fn submit(&self, command: Command) -> StoreResult<Option<Receipt>> {
        let unavailable = StoreError::Unavailable;
        let (reply, answer) = oneshot::channel();
        let sender = self.sender.as_ref().ok_or(unavailable(Unavailable::ShuttingDown))?;
        sender.try_send((command, reply)).map_err(|e| match e {
            TrySendError::Full(_) => unavailable(Unavailable::VoteQueueFull),
            TrySendError::Disconnected(_) => unavailable(Unavailable::VoteWriterStopped),
        })?;
        answer.await.map_err(|_| unavailable(Unavailable::VoteNotSaved))?
    }
}

impl Drop for VoteWriter {
    /// Lets the writer finish what is queued, then waits for it.
    fn drop(&mut self) {
        self.sender.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        self.checkpointer.take();
    }
}

/// A run is tried this many times in all: on PostgreSQL another node's
/// commit can break one of its constraints, or the two can deadlock; the
/// next try reads that commit and decides anew.
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
        // Consecutive votes make one run, each withdrawal its own: one
        // transaction a run, so a transaction takes its row locks in one
        // ordered sweep (no deadlock between nodes) and commits once.
        let commands: Vec<&Command> = pending.iter().map(|(command, _)| command).collect();
        let mut answers = Vec::with_capacity(pending.len());
        for run in commands.chunk_by(|a, b| matches!((a, b), (Command::Cast(_), Command::Cast(_)))) {
            answers.extend(write_run(url, &mut conn, run));
        }
        for ((_, reply), answer) in pending.into_iter().zip(answers) {
            let _ = reply.send(answer);
        }
    }
}

/// Writes a run and answers each of its commands. A run of several votes
/// that other transactions kept crossing is written vote by vote, so that a
/// vote it cannot get past costs only its own answer (503, try again).
fn write_run(url: &DatabaseUrl, conn: &mut DbConn, run: &[&Command]) -> Vec<Answer> {
    match attempt(url, conn, run) {
        Ok(answers) => answers,
        Err(Failure::Crossed) if run.len() > 1 => {
            run.chunks(1).flat_map(|one| write_run(url, conn, one)).collect()
        }
        Err(_) => run.iter().map(|_| Err(StoreError::Unavailable(Unavailable::VoteNotSaved))).collect(),
    }
}

enum Failure {
    /// Other transactions got in the way of every attempt.
    Crossed,
    /// Anything else: a lost connection, a lock held too long, a panic.
    Failed,
}

/// One transaction for the run, tried again (up to [`ATTEMPTS`] in all) when
/// another transaction got in the way.
fn attempt(url: &DatabaseUrl, conn: &mut DbConn, run: &[&Command]) -> Result<Vec<Answer>, Failure> {
    let mut attempt = 1;
    loop {
        let now = db::now();
        let written =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write_tx(&mut *conn, run, now)));
        if db::is_broken(conn) {
            *conn = reconnect(url);
        }
        match written {
            Ok(Ok(answers)) => return Ok(answers),
            Ok(Err(e)) if got_in_the_way(&e) => {
                if attempt == ATTEMPTS {
                    tracing::warn!(error = %e, commands = run.len(), "a vote transaction was crossed every time");
                    return Err(Failure::Crossed);
                }
                attempt += 1;
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, commands = run.len(), "votes were not saved");
                return Err(Failure::Failed);
            }
            Err(_) => {
                tracing::error!(commands = run.len(), "the vote writer panicked; votes were not saved");
                return Err(Failure::Failed);
            }
        }
    }
}

/// Errors that another transaction causes and a new try can get past.
fn got_in_the_way(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match e {
        Error::DatabaseError(
            Kind::UniqueViolation | Kind::CheckViolation | Kind::SerializationFailure,
            _,
        ) => true,
        Error::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

/// A run of votes, or one withdrawal, in one transaction. A refused vote is
/// an answer; a refused withdrawal rolls its transaction back, then is one;
/// any other error rolls it all back.
fn write_tx(
    conn: &mut DbConn,
    run: &[&Command],
    now: Timestamp,
) -> Result<Vec<Answer>, diesel::result::Error> {
    let written = db::write_tx(conn, |conn| match run {
        [Command::Withdraw { round_id, voter_id, nomination_id }] => {
            votes::withdraw(conn, *round_id, *voter_id, *nomination_id, now).map(|()| vec![Ok(None)]).map_err(
                |e| match e {
                    StoreError::Db(e) => Stop::Db(e),
                    refused => Stop::Refused(refused),
                },
            )
        }
        _ => {
            let casts: Vec<&Cast> = run
                .iter()
                .filter_map(|command| match command {
                    Command::Cast(cast) => Some(cast),
                    Command::Withdraw { .. } => None,
                })
                .collect();
            let answers = votes::cast_batch(conn, &casts, now)?;
            Ok(answers.into_iter().map(|answer| answer.map(Some).map_err(StoreError::from)).collect())
        }
    });
    match written {
        Ok(answers) => Ok(answers),
        Err(Stop::Db(e)) => Err(e),
        Err(Stop::Refused(refused)) => Ok(vec![Err(refused)]),
    }
}

/// What ends one of the writer's transactions early: the database (the run
/// is tried again, or fails), or a refused withdrawal (which is its answer).
/// The database's errors stay as diesel gives them, so that a broken unique
/// rule is a race to retry here, not a refusal.
enum Stop {
    Db(diesel::result::Error),
    Refused(StoreError),
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Self {
        Stop::Db(e)
    }
}

/// The writer's connection. On PostgreSQL its statements (`db::prepared`)
/// are planned once, generically (planning them for every batch was a
/// quarter of the database's time), with sequential scans off:
/// the writer only ever looks rows up by key, and a plan made while the
/// votes table was small must not scan it once it has grown.
fn connect(url: &DatabaseUrl) -> anyhow::Result<DbConn> {
    let mut conn = url.connect()?;
    match &mut conn {
        // A close holds its round row for a moment; far longer means
        // something is stuck, and the votes are better answered 503.
        DbConn::Pg(pg) => pg.batch_execute(
            "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; SET lock_timeout = '10s'",
        )?,
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
