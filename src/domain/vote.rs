//! Employee voting: who may vote for what, receipts, and what counts as a burst.

use std::collections::{HashMap, HashSet};

use crate::domain::time::Timestamp;
use rand::RngCore;

use super::round::{RoundKind, RoundStatus};

/// Why a vote (or a withdrawal) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteRefusal {
    NotAVotingRound,
    NotOpen,
    OutsideWindow,
    NoSuchEntry,
    RuledOut,
    OwnNomination,
    AlreadyVoted,
    NoVotesLeft,
    WithdrawalNotAllowed,
    NoSuchVote,
    KeyReused,
    /// The Idempotency-Key's vote was withdrawn since: a late retry must not bring it back.
    KeyWithdrawn,
}

/// The round as voting sees it.
#[derive(Debug, Clone, Copy)]
pub struct VotingRound {
    pub kind: RoundKind,
    pub status: RoundStatus,
    pub opens_at: Option<Timestamp>,
    pub closes_at: Option<Timestamp>,
    pub allow_withdrawal: bool,
}

/// Votes are taken (and withdrawn) only in a vote or combined round that is
/// open and, if it has a window, inside it: `opens_at ≤ now < closes_at`.
pub fn check_round(round: &VotingRound, now: Timestamp) -> Result<(), VoteRefusal> {
    if round.kind == RoundKind::Review {
        return Err(VoteRefusal::NotAVotingRound);
    }
    if round.status != RoundStatus::Open {
        return Err(VoteRefusal::NotOpen);
    }
    if round.opens_at.is_some_and(|t| now < t) || round.closes_at.is_some_and(|t| now >= t) {
        return Err(VoteRefusal::OutsideWindow);
    }
    Ok(())
}

pub fn check_withdrawal(round: &VotingRound, now: Timestamp) -> Result<(), VoteRefusal> {
    check_round(round, now)?;
    if !round.allow_withdrawal {
        return Err(VoteRefusal::WithdrawalNotAllowed);
    }
    Ok(())
}

/// The entry as voting sees it.
#[derive(Debug, Clone, Copy)]
pub struct Ballot {
    pub nominee_id: i64,
    pub still_submitted: bool,
}

pub fn check_entry(entry: Option<Ballot>, voter: i64) -> Result<(), VoteRefusal> {
    let entry = entry.ok_or(VoteRefusal::NoSuchEntry)?;
    if !entry.still_submitted {
        return Err(VoteRefusal::RuledOut);
    }
    if entry.nominee_id == voter {
        return Err(VoteRefusal::OwnNomination);
    }
    Ok(())
}

/// What an Idempotency-Key already made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earlier {
    pub round_id: i64,
    pub nomination_id: i64,
    pub receipt: String,
    pub withdrawn: bool,
}

/// What is on record, as far as a batch of votes needs it: the rounds and
/// entries voted for, and the votes, used votes and keys of the voters in the
/// batch. [`decide`] adds each vote it accepts, so a later vote in the same
/// batch sees the earlier ones.
#[derive(Debug, Default)]
pub struct Standing {
    /// Round → (the round, votes per voter).
    pub rounds: HashMap<i64, (VotingRound, i32)>,
    /// (round, nomination) → the entry.
    pub entries: HashMap<(i64, i64), Ballot>,
    /// (round, voter, nomination) of every standing vote.
    pub votes: HashSet<(i64, i64, i64)>,
    /// (round, voter) → votes used.
    pub used: HashMap<(i64, i64), i32>,
    /// (voter, Idempotency-Key) → what it made.
    pub keys: HashMap<(i64, String), Earlier>,
}

/// One vote as asked for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub round_id: i64,
    pub nomination_id: i64,
    pub voter_id: i64,
    pub key: Option<&'a str>,
}

/// A vote's receipt, and whether it was given before (a retry with the same key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub receipt: String,
    pub replayed: bool,
}

/// Every rule of a vote, in one place, in the order a client sees them:
/// the round must exist; a key seen before answers as it did then (or says
/// why it cannot); then the round must be open, the entry votable, the vote
/// new and the voter within their limit. An accepted vote is added to
/// `standing` under a fresh receipt.
pub fn decide(standing: &mut Standing, vote: Request, now: Timestamp) -> Result<Accepted, VoteRefusal> {
    let (round, limit) = *standing.rounds.get(&vote.round_id).ok_or(VoteRefusal::NoSuchEntry)?;
    if let Some(key) = vote.key {
        if let Some(earlier) = standing.keys.get(&(vote.voter_id, key.to_owned())) {
            if (earlier.round_id, earlier.nomination_id) != (vote.round_id, vote.nomination_id) {
                return Err(VoteRefusal::KeyReused);
            }
            if earlier.withdrawn {
                return Err(VoteRefusal::KeyWithdrawn);
            }
            return Ok(Accepted { receipt: earlier.receipt.clone(), replayed: true });
        }
    }
    check_round(&round, now)?;
    check_entry(standing.entries.get(&(vote.round_id, vote.nomination_id)).copied(), vote.voter_id)?;
    if standing.votes.contains(&(vote.round_id, vote.voter_id, vote.nomination_id)) {
        return Err(VoteRefusal::AlreadyVoted);
    }
    let used = standing.used.entry((vote.round_id, vote.voter_id)).or_insert(0);
    if *used >= limit {
        return Err(VoteRefusal::NoVotesLeft);
    }
    *used += 1;
    standing.votes.insert((vote.round_id, vote.voter_id, vote.nomination_id));
    let receipt = new_receipt();
    if let Some(key) = vote.key {
        let earlier = Earlier {
            round_id: vote.round_id,
            nomination_id: vote.nomination_id,
            receipt: receipt.clone(),
            withdrawn: false,
        };
        standing.keys.insert((vote.voter_id, key.to_owned()), earlier);
    }
    Ok(Accepted { receipt, replayed: false })
}

/// A receipt: 128 random bits in hex, from a cryptographically secure
/// generator seeded by the operating system (a system call per vote would
/// cost more than the vote). It says nothing of the voter or the choice;
/// only its holder can tie it to them.
pub fn new_receipt() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Idempotency keys: 1 to 100 visible ASCII characters.
pub fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 100 && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The minute a vote falls in, as whole minutes since the Unix epoch: bursts
/// are counted per source and minute.
pub fn minute_of(t: Timestamp) -> i64 {
    t.and_utc().timestamp().div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32) -> Timestamp {
        chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap().and_hms_opt(9, minute, 0).unwrap().into()
    }

    fn round(kind: RoundKind, status: RoundStatus) -> VotingRound {
        VotingRound { kind, status, opens_at: Some(at(10)), closes_at: Some(at(20)), allow_withdrawal: false }
    }

    #[test]
    fn only_open_voting_rounds_inside_their_window() {
        let open = round(RoundKind::Vote, RoundStatus::Open);
        assert_eq!(check_round(&open, at(10)), Ok(()));
        assert_eq!(check_round(&open, at(9)), Err(VoteRefusal::OutsideWindow));
        assert_eq!(check_round(&open, at(20)), Err(VoteRefusal::OutsideWindow));
        assert_eq!(check_round(&round(RoundKind::Combined, RoundStatus::Open), at(15)), Ok(()));
        assert_eq!(
            check_round(&round(RoundKind::Review, RoundStatus::Open), at(15)),
            Err(VoteRefusal::NotAVotingRound)
        );
        assert_eq!(
            check_round(&round(RoundKind::Vote, RoundStatus::Closed), at(15)),
            Err(VoteRefusal::NotOpen)
        );
        assert_eq!(check_withdrawal(&open, at(15)), Err(VoteRefusal::WithdrawalNotAllowed));
        let windowless = VotingRound { opens_at: None, closes_at: None, allow_withdrawal: true, ..open };
        assert_eq!(check_withdrawal(&windowless, at(59)), Ok(()));
    }

    #[test]
    fn never_for_oneself_nor_a_ruled_out_entry() {
        let entry = Ballot { nominee_id: 7, still_submitted: true };
        assert_eq!(check_entry(Some(entry), 8), Ok(()));
        assert_eq!(check_entry(Some(entry), 7), Err(VoteRefusal::OwnNomination));
        assert_eq!(
            check_entry(Some(Ballot { still_submitted: false, ..entry }), 8),
            Err(VoteRefusal::RuledOut)
        );
        assert_eq!(check_entry(None, 8), Err(VoteRefusal::NoSuchEntry));
    }

    /// Round 1 open until minute 20 with 2 votes each; entries 10 and 11 (11 is voter 7's own).
    fn standing() -> Standing {
        let mut s = Standing::default();
        s.rounds.insert(1, (round(RoundKind::Vote, RoundStatus::Open), 2));
        s.entries.insert((1, 10), Ballot { nominee_id: 5, still_submitted: true });
        s.entries.insert((1, 11), Ballot { nominee_id: 7, still_submitted: true });
        s.entries.insert((1, 12), Ballot { nominee_id: 6, still_submitted: true });
        s
    }

    fn ask(round_id: i64, nomination_id: i64, voter_id: i64, key: Option<&str>) -> Request<'_> {
        Request { round_id, nomination_id, voter_id, key }
    }

    #[test]
    fn a_batch_sees_its_own_earlier_votes() {
        let mut s = standing();
        let first = decide(&mut s, ask(1, 10, 8, None), at(15)).unwrap();
        assert!(!first.replayed);
        assert_eq!(decide(&mut s, ask(1, 10, 8, None), at(15)), Err(VoteRefusal::AlreadyVoted));
        assert!(decide(&mut s, ask(1, 11, 8, None), at(15)).is_ok());
        assert_eq!(decide(&mut s, ask(1, 12, 8, None), at(15)), Err(VoteRefusal::NoVotesLeft));
        assert_eq!(s.used[&(1, 8)], 2);
        assert_eq!(decide(&mut s, ask(1, 11, 7, None), at(15)), Err(VoteRefusal::OwnNomination));
        assert_eq!(decide(&mut s, ask(1, 99, 7, None), at(15)), Err(VoteRefusal::NoSuchEntry));
        assert_eq!(decide(&mut s, ask(2, 10, 7, None), at(15)), Err(VoteRefusal::NoSuchEntry));
        assert_eq!(decide(&mut s, ask(1, 10, 9, None), at(20)), Err(VoteRefusal::OutsideWindow));
        assert_eq!(s.votes.len(), 2);
    }

    #[test]
    fn a_key_answers_as_it_did_the_first_time() {
        let mut s = standing();
        let first = decide(&mut s, ask(1, 10, 8, Some("k")), at(15)).unwrap();
        let again = decide(&mut s, ask(1, 10, 8, Some("k")), at(15)).unwrap();
        assert_eq!(again, Accepted { receipt: first.receipt.clone(), replayed: true });
        // Even after the window: a retry learns what happened to its vote.
        assert_eq!(decide(&mut s, ask(1, 10, 8, Some("k")), at(30)).unwrap().receipt, first.receipt);
        assert_eq!(decide(&mut s, ask(1, 12, 8, Some("k")), at(15)), Err(VoteRefusal::KeyReused));
        // Another voter's key of the same name is theirs alone.
        assert!(!decide(&mut s, ask(1, 10, 9, Some("k")), at(15)).unwrap().replayed);
        s.keys.get_mut(&(8, "k".to_owned())).unwrap().withdrawn = true;
        assert_eq!(decide(&mut s, ask(1, 10, 8, Some("k")), at(15)), Err(VoteRefusal::KeyWithdrawn));
        assert_eq!(s.used[&(1, 8)], 1);
    }

    #[test]
    fn receipts_are_128_bit_and_distinct() {
        let a = new_receipt();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_receipt());
    }

    #[test]
    fn keys_and_minutes() {
        assert!(valid_idempotency_key("3f2a-retry-1"));
        assert!(!valid_idempotency_key(""));
        assert!(!valid_idempotency_key("has space"));
        assert!(!valid_idempotency_key(&"x".repeat(101)));
        assert_eq!(minute_of(at(10)) + 1, minute_of(at(11)));
        assert_eq!(minute_of(at(10)), minute_of(at(10) + chrono::TimeDelta::seconds(59)));
    }
}
