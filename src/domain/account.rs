//! Account rules: password policy, activation codes, login lockout.

use crate::domain::time::Timestamp;
use chrono::TimeDelta;

use super::text::text_enum;

text_enum!(
    /// A disabled account cannot sign in; its tokens stop working at once.
    pub enum UserStatus in "users"."status" { Active = "active", Disabled = "disabled" }
);

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 256;
pub const LOCKOUT_THRESHOLD: i32 = 5;
pub const LOCKOUT_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// Checks a new password against the policy; the error names the broken rule.
pub fn check_password(password: &str, employee_no: &str) -> Result<(), &'static str> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err("must be at least 10 characters long");
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err("must be at most 256 characters long");
    }
    if password.trim().eq_ignore_ascii_case(employee_no.trim()) {
        return Err("must not be the employee number");
    }
    Ok(())
}

/// Why an account cannot change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRefusal {
    EmployeeNoTaken(String),
    /// An admin cannot disable or demote their own account.
    SelfLockout,
    /// An admin cannot reset their own account: it would sign them out with
    /// no password (changing the password is the way).
    SelfReset,
    ActivationCodeInvalid,
    /// The password changed between reading and writing it.
    PasswordChangedMeanwhile,
}

/// An admin changing their own account keeps it usable: they neither
/// disable it nor take away their own admin role.
pub fn check_self_change(
    is_self: bool,
    is_admin_now: bool,
    disabling: bool,
    keeps_admin: bool,
) -> Result<(), AccountRefusal> {
    if is_self && is_admin_now && (disabling || !keeps_admin) {
        return Err(AccountRefusal::SelfLockout);
    }
    Ok(())
}

/// The login-failure state of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: i32,
    pub window_started_at: Option<Timestamp>,
    pub locked_until: Option<Timestamp>,
}

impl Failures {
    /// How long the account stays locked, if it is locked now.
    pub fn locked_for(&self, now: Timestamp) -> Option<TimeDelta> {
        self.locked_until.filter(|until| *until > now).map(|until| until - now)
    }

    /// The state after one more failed attempt at `now`: failures count within
    /// a 15-minute window, and the fifth locks the account for 15 minutes.
    pub fn after_failure(self, now: Timestamp) -> Failures {
        let in_window = self.window_started_at.is_some_and(|start| now - start < LOCKOUT_WINDOW);
        let (count, window_started_at) =
            if in_window { (self.count + 1, self.window_started_at) } else { (1, Some(now)) };
        let locked_until =
            if count >= LOCKOUT_THRESHOLD { Some(now + LOCKOUT_WINDOW) } else { self.locked_until };
        Failures { count, window_started_at, locked_until }
    }

    pub fn is_clear(&self) -> bool {
        self.count == 0 && self.locked_until.is_none()
    }
}

/// Seconds to announce in Retry-After: rounded up, at least one.
pub fn retry_after_secs(wait: TimeDelta) -> u64 {
    let ms = wait.num_milliseconds().max(0) as u64;
    ms.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> Timestamp {
        Timestamp::from(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap().naive_utc())
            + TimeDelta::minutes(minutes)
    }

    #[test]
    fn password_policy() {
        assert!(check_password("short", "E1").is_err());
        assert!(check_password("E1234567890", "e1234567890").is_err());
        assert!(check_password("长城长城长城长城长城", "E1").is_ok(), "characters, not bytes");
        assert!(check_password("长城长城长", "E1").is_err());
        assert!(check_password("correct horse battery", "E1").is_ok());
    }

    #[test]
    fn fifth_failure_within_window_locks_for_fifteen_minutes() {
        let mut f = Failures { count: 0, window_started_at: None, locked_until: None };
        for minute in 0..4 {
            f = f.after_failure(t(minute));
            assert_eq!(f.locked_for(t(minute)), None);
        }
        f = f.after_failure(t(4));
        assert_eq!(f.count, 5);
        assert_eq!(f.locked_for(t(4)), Some(TimeDelta::minutes(15)));
        assert_eq!(f.locked_for(t(19)), None, "the lock expires");
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let mut f = Failures { count: 0, window_started_at: None, locked_until: None };
        for minute in [0, 1, 2, 3] {
            f = f.after_failure(t(minute));
        }
        f = f.after_failure(t(16));
        assert_eq!(f.count, 1);
        assert_eq!(f.locked_for(t(16)), None);
    }

    #[test]
    fn an_admin_cannot_lock_themself_out() {
        assert_eq!(check_self_change(true, true, true, true), Err(AccountRefusal::SelfLockout));
        assert_eq!(check_self_change(true, true, false, false), Err(AccountRefusal::SelfLockout));
        assert_eq!(check_self_change(true, true, false, true), Ok(()));
        assert_eq!(check_self_change(false, true, true, false), Ok(()), "another admin may");
        assert_eq!(
            check_self_change(true, false, true, false),
            Ok(()),
            "a non-admin changed by… nobody else"
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(TimeDelta::milliseconds(1)), 1);
        assert_eq!(retry_after_secs(TimeDelta::milliseconds(1001)), 2);
        assert_eq!(retry_after_secs(TimeDelta::zero()), 1);
    }
}
