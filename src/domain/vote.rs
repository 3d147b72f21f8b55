//! Employee voting: who may vote for what, receipts, and what counts as a burst.

use chrono::NaiveDateTime;
use rand::RngCore;

use super::round::{RoundKind, RoundStatus};

/// Why a vote (or a withdrawal) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
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

impl Refusal {
    /// (HTTP status, stable code, message)
    pub fn describe(self) -> (u16, &'static str, &'static str) {
        match self {
            Refusal::NotAVotingRound => {
                (409, "not_a_voting_round", "this round is decided by reviewers, not votes")
            }
            Refusal::NotOpen => (409, "invalid_state", "the round is not open for voting"),
            Refusal::OutsideWindow => (409, "window_closed", "voting is outside the round's window"),
            Refusal::NoSuchEntry => (404, "not_found", "no such entry in this round"),
            Refusal::RuledOut => (409, "ruled_out", "this nomination has been ruled out"),
            Refusal::OwnNomination => (403, "own_nomination", "nobody votes for their own nomination"),
            Refusal::AlreadyVoted => (409, "already_voted", "you have already voted for this entry"),
            Refusal::NoVotesLeft => (409, "no_votes_left", "you have used all your votes in this round"),
            Refusal::WithdrawalNotAllowed => {
                (409, "withdrawal_not_allowed", "votes in this round cannot be withdrawn")
            }
            Refusal::NoSuchVote => (404, "not_found", "you have no vote for this entry"),
            Refusal::KeyReused => {
                (409, "idempotency_key_reused", "this Idempotency-Key was used for another vote")
            }
            Refusal::KeyWithdrawn => {
                (409, "vote_withdrawn", "the vote made with this Idempotency-Key has been withdrawn")
            }
        }
    }
}

/// The round as voting sees it.
#[derive(Debug, Clone, Copy)]
pub struct VotingRound {
    pub kind: RoundKind,
    pub status: RoundStatus,
    pub opens_at: Option<NaiveDateTime>,
    pub closes_at: Option<NaiveDateTime>,
    pub allow_withdrawal: bool,
}

/// Votes are taken (and withdrawn) only in a vote or combined round that is
/// open and, if it has a window, inside it: `opens_at ≤ now < closes_at`.
pub fn check_round(round: &VotingRound, now: NaiveDateTime) -> Result<(), Refusal> {
    if round.kind == RoundKind::Review {
        return Err(Refusal::NotAVotingRound);
    }
    if round.status != RoundStatus::Open {
        return Err(Refusal::NotOpen);
    }
    if round.opens_at.is_some_and(|t| now < t) || round.closes_at.is_some_and(|t| now >= t) {
        return Err(Refusal::OutsideWindow);
    }
    Ok(())
}

pub fn check_withdrawal(round: &VotingRound, now: NaiveDateTime) -> Result<(), Refusal> {
    check_round(round, now)?;
    if !round.allow_withdrawal {
        return Err(Refusal::WithdrawalNotAllowed);
    }
    Ok(())
}

/// The entry as voting sees it.
#[derive(Debug, Clone, Copy)]
pub struct Ballot {
    pub nominee_id: i64,
    pub still_submitted: bool,
}

pub fn check_entry(entry: Option<Ballot>, voter: i64) -> Result<(), Refusal> {
    let entry = entry.ok_or(Refusal::NoSuchEntry)?;
    if !entry.still_submitted {
        return Err(Refusal::RuledOut);
    }
    if entry.nominee_id == voter {
        return Err(Refusal::OwnNomination);
    }
    Ok(())
}

/// A receipt: 128 random bits from the operating system's generator, in hex.
/// It says nothing of the voter or the choice; only its holder can tie it to them.
pub fn new_receipt() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Idempotency keys: 1 to 100 visible ASCII characters.
pub fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 100 && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The minute a vote falls in, as whole minutes since the Unix epoch: bursts
/// are counted per source and minute.
pub fn minute_of(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp().div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap().and_hms_opt(9, minute, 0).unwrap()
    }

    fn round(kind: RoundKind, status: RoundStatus) -> VotingRound {
        VotingRound { kind, status, opens_at: Some(at(10)), closes_at: Some(at(20)), allow_withdrawal: false }
    }

    #[test]
    fn only_open_voting_rounds_inside_their_window() {
        let open = round(RoundKind::Vote, RoundStatus::Open);
        assert_eq!(check_round(&open, at(10)), Ok(()));
        assert_eq!(check_round(&open, at(9)), Err(Refusal::OutsideWindow));
        assert_eq!(check_round(&open, at(20)), Err(Refusal::OutsideWindow));
        assert_eq!(check_round(&round(RoundKind::Combined, RoundStatus::Open), at(15)), Ok(()));
        assert_eq!(
            check_round(&round(RoundKind::Review, RoundStatus::Open), at(15)),
            Err(Refusal::NotAVotingRound)
        );
        assert_eq!(check_round(&round(RoundKind::Vote, RoundStatus::Closed), at(15)), Err(Refusal::NotOpen));
        assert_eq!(check_withdrawal(&open, at(15)), Err(Refusal::WithdrawalNotAllowed));
        let windowless = VotingRound { opens_at: None, closes_at: None, allow_withdrawal: true, ..open };
        assert_eq!(check_withdrawal(&windowless, at(59)), Ok(()));
    }

    #[test]
    fn never_for_oneself_nor_a_ruled_out_entry() {
        let entry = Ballot { nominee_id: 7, still_submitted: true };
        assert_eq!(check_entry(Some(entry), 8), Ok(()));
        assert_eq!(check_entry(Some(entry), 7), Err(Refusal::OwnNomination));
        assert_eq!(check_entry(Some(Ballot { still_submitted: false, ..entry }), 8), Err(Refusal::RuledOut));
        assert_eq!(check_entry(None, 8), Err(Refusal::NoSuchEntry));
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
