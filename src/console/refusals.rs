//! The same refusals the API answers (`http::refusals`), as the console shows
//! them: in the reader's language, next to the field they concern. Refusals a
//! console page cannot meet fall back to the catalog's words for their `code`.

use actix_web::http::StatusCode;

use super::view::problem_text;
use crate::domain::campaign::WindowRefusal;
use crate::domain::nomination::NominationRefusal;
use crate::domain::refusal::{Refusal, Unique};
use crate::domain::round::{Conflict, ReviewRefusal};
use crate::http::errors::AppError;
use crate::i18n::Lang;
use crate::store::StoreError;

/// A refusal on a page: which field it concerns (none: the whole form), what
/// the reader is told, and the status the page is answered with.
pub struct Shown {
    pub field: Option<&'static str>,
    pub text: String,
    pub status: StatusCode,
}

pub fn window(lang: Lang, refusal: WindowRefusal) -> String {
    match refusal {
        WindowRefusal::NotNominating(_) => lang.t("refusal-not-nominating"),
        WindowRefusal::NotYetOpen => lang.t("refusal-window-not-open"),
        WindowRefusal::Closed => lang.t("refusal-window-closed"),
    }
}

fn nomination(lang: Lang, refusal: NominationRefusal) -> Option<(Option<&'static str>, String)> {
    let nominee = Some("nominee_id");
    Some(match refusal {
        NominationRefusal::OtherBranch => (None, lang.t("refusal-other-branch")),
        NominationRefusal::NomineeNotYours | NominationRefusal::NomineeUnknown(_) => {
            (nominee, lang.t("refusal-nominee-not-yours"))
        }
        NominationRefusal::NomineeGroupStaff => (nominee, lang.t("refusal-nominee-group-staff")),
        NominationRefusal::NomineeDisabled => (nominee, lang.t("refusal-nominee-disabled")),
        NominationRefusal::NomineeMoved => (nominee, lang.t("refusal-nominee-moved")),
        NominationRefusal::AlreadyNominated => (nominee, lang.t("refusal-already-nominated")),
        NominationRefusal::QuotaExhausted { quota } => {
            (None, lang.t_args("refusal-quota-exhausted", &[("quota", quota.into())]))
        }
        NominationRefusal::WrongStatus { .. } => (None, lang.t("refusal-nomination-status")),
        _ => return None,
    })
}

fn review(lang: Lang, refusal: ReviewRefusal) -> (Option<&'static str>, String) {
    match refusal {
        ReviewRefusal::Conflict(
            Conflict::SameBranch | Conflict::SameMemberCompany | Conflict::OtherPanel,
        )
        | ReviewRefusal::Conflict(Conflict::Nominee | Conflict::Nominator) => {
            (None, lang.t("refusal-review-conflict"))
        }
        ReviewRefusal::NotAssigned | ReviewRefusal::OffPanel => (None, lang.t("refusal-review-not-assigned")),
        ReviewRefusal::OutsideWindow => (None, lang.t("refusal-review-window")),
    }
}

/// What the console shows for a store call's failure.
pub fn shown(lang: Lang, error: StoreError) -> Shown {
    let specific = match &error {
        StoreError::Refused(Refusal::Nomination(r)) => nomination(lang, *r),
        StoreError::Refused(Refusal::Window(r)) => Some((None, window(lang, *r))),
        StoreError::Refused(Refusal::Duplicate(Unique::Nominee)) => {
            Some((Some("nominee_id"), lang.t("refusal-already-nominated")))
        }
        StoreError::Refused(Refusal::Review(r)) => Some(review(lang, *r)),
        StoreError::Refused(Refusal::VersionMismatch { .. } | Refusal::ChangedMeanwhile { .. }) => {
            Some((None, lang.t("refusal-changed-meanwhile")))
        }
        StoreError::Refused(Refusal::Invalid(issues)) => {
            issues.first().map(|i| (field_name(&i.field), lang.t("refusal-invalid-field")))
        }
        _ => None,
    };
    let answer = AppError::from(error);
    let status = answer.status;
    match specific {
        Some((field, text)) => Shown { field, text, status },
        None => Shown { field: None, text: problem_text(lang, &answer), status },
    }
}

/// The fields console forms know, by the names the store gives them.
fn field_name(field: &str) -> Option<&'static str> {
    ["nominee_id", "title", "summary", "story", "scores", "comment"].into_iter().find(|f| *f == field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nomination_refusal_lands_on_its_field_in_chinese() {
        let shown = shown(Lang::ZhCn, NominationRefusal::AlreadyNominated.into());
        assert_eq!(shown.field, Some("nominee_id"));
        assert_eq!(shown.status, StatusCode::CONFLICT);
        assert!(!shown.text.is_ascii(), "{}", shown.text);
        let quota = shown_quota(Lang::ZhCn);
        assert!(quota.contains('3'), "{quota}");
        let window = super::shown(Lang::En, WindowRefusal::Closed.into());
        assert_eq!(window.field, None);
        assert!(window.text.is_ascii());
    }

    fn shown_quota(lang: Lang) -> String {
        shown(lang, NominationRefusal::QuotaExhausted { quota: 3 }.into()).text
    }
}
