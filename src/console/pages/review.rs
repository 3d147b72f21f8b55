//! A reviewer's pages: the queue of a round with progress, and one entry's
//! dossier beside the rubric (criteria by name), with save-and-next.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::refusals;
use crate::console::session::Signed;
use crate::console::view::{fail, page, see_other, store, Failure, PageError, Words};
use crate::domain::roles::Role;
use crate::domain::round::RoundStatus;
use crate::http::AppState;
use crate::store::reviews::{self, Assignment, MyAssignments, QueueLine};
use crate::store::rounds::{self, Criterion, Round};

/// The round and the reviewer's queue in it (titles and flags, no dossiers).
async fn queue_of(
    state: &AppState,
    signed: &Signed,
    round_id: i64,
) -> Result<(Round, Vec<QueueLine>), PageError> {
    let lang = signed.lang;
    signed.require(Role::Reviewer)?;
    let reviewer = signed.user.id;
    let (round, lines) = store(state, lang, move |conn| {
        Ok((rounds::get(conn, round_id)?, reviews::queue(conn, round_id, reviewer)?))
    })
    .await?
    .map_err(|e| fail(lang, e))?;
    // A round with nothing for this reviewer is not theirs to see.
    if lines.is_empty() {
        return Err(PageError::new(lang, Failure::NotFound));
    }
    Ok((round, lines))
}

/// The round and one entry of the reviewer's queue, with the queue's counts;
/// an entry not in their queue is not there.
async fn entry_of(
    state: &AppState,
    signed: &Signed,
    round_id: i64,
    nomination_id: i64,
) -> Result<(Round, MyAssignments, Assignment), PageError> {
    let lang = signed.lang;
    signed.require(Role::Reviewer)?;
    let reviewer = signed.user.id;
    let (round, mut queue) = store(state, lang, move |conn| {
        let round = rounds::get(conn, round_id)?;
        let queue = reviews::one_of_mine(conn, &round, reviewer, nomination_id)?;
        Ok((round, queue))
    })
    .await?
    .map_err(|e| fail(lang, e))?;
    let entry = queue.items.pop().ok_or_else(|| PageError::new(lang, Failure::NotFound))?;
    Ok((round, queue, entry))
}

#[derive(Template)]
#[template(path = "queue.html", config = "src/console/askama.toml")]
struct QueuePage {
    w: Words,
    csrf: String,
    round: Round,
    lines: Vec<QueueLine>,
    done: i64,
    next: Option<i64>,
    /// The browser draft of the entry saved last (save-and-next), to forget.
    saved_key: Option<String>,
}

#[derive(Deserialize)]
pub struct AfterQuery {
    after: Option<i64>,
}

pub async fn queue(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<i64>,
    query: web::Query<AfterQuery>,
) -> Result<HttpResponse, PageError> {
    let (round, lines) = queue_of(&state, &signed, id.into_inner()).await?;
    let next = next_unscored(&lines, None);
    let done = lines.iter().filter(|l| l.reviewed).count() as i64;
    let saved_key = query.after.map(|entry| review_draft_key(signed.user.id, round.id, entry));
    let csrf = signed.csrf.clone();
    Ok(page(
        StatusCode::OK,
        &QueuePage { w: Words::new(signed.lang), csrf, round, lines, done, next, saved_key },
    ))
}

/// Where the browser keeps one person's unsaved scores of one entry.
fn review_draft_key(owner: i64, round_id: i64, nomination_id: i64) -> String {
    format!("u{owner}-review-{round_id}-{nomination_id}")
}

/// The first entry not yet scored after `after` (wrapping round), if any,
/// in a queue in order.
fn next_unscored(queue: &[QueueLine], after: Option<i64>) -> Option<i64> {
    let open =
        queue.iter().filter(|l| !l.reviewed && Some(l.nomination_id) != after).map(|l| l.nomination_id);
    let mut later = open.clone().filter(|id| after.is_none_or(|at| *id > at));
    later.next().or_else(|| open.clone().next())
}

/// One criterion's line in the rubric: what it is and what was entered.
pub struct Line {
    pub criterion: Criterion,
    pub value: String,
    pub problem: Option<String>,
}

#[derive(Template)]
#[template(path = "review.html", config = "src/console/askama.toml")]
struct ReviewPage {
    w: Words,
    csrf: String,
    round: Round,
    entry: Assignment,
    lines: Vec<Line>,
    comment: String,
    done: i64,
    total: i64,
    open: bool,
    saved: bool,
    problem: Option<String>,
    notice: Option<String>,
    owner: i64,
    previous: Option<i64>,
}

impl ReviewPage {
    /// The browser keeps drafts per person and per entry.
    fn draft_key(&self) -> String {
        self.key_of(self.entry.nomination_id)
    }

    fn key_of(&self, nomination_id: i64) -> String {
        review_draft_key(self.owner, self.round.id, nomination_id)
    }

    /// The entry saved just before this one (save-and-next): its draft goes.
    fn previous_key(&self) -> String {
        self.previous.map(|id| self.key_of(id)).unwrap_or_default()
    }
}

fn score_text(score: f64) -> String {
    if score.fract() == 0.0 {
        format!("{score:.0}")
    } else {
        score.to_string()
    }
}

fn review_page(signed: &Signed, round: Round, queue: &MyAssignments, entry: Assignment) -> ReviewPage {
    let lines = round
        .criteria
        .iter()
        .map(|c| Line {
            criterion: c.clone(),
            value: entry
                .my_scores
                .as_ref()
                .and_then(|s| s.get(&c.id))
                .map(|s| score_text(*s))
                .unwrap_or_default(),
            problem: None,
        })
        .collect();
    ReviewPage {
        w: Words::new(signed.lang),
        csrf: signed.csrf.clone(),
        open: round.status == RoundStatus::Open,
        comment: entry.my_comment.clone().unwrap_or_default(),
        round,
        entry,
        lines,
        done: queue.done,
        total: queue.total,
        saved: false,
        problem: None,
        notice: None,
        owner: signed.user.id,
        previous: None,
    }
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
    /// The entry saved by save-and-next before this one.
    after: Option<i64>,
}

pub async fn entry(
    state: web::Data<AppState>,
    signed: Signed,
    path: web::Path<(i64, i64)>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let (round_id, nomination_id) = path.into_inner();
    let (round, queue, entry) = entry_of(&state, &signed, round_id, nomination_id).await?;
    let mut review = review_page(&signed, round, &queue, entry);
    // A closed round's page shows what was recorded, never a browser's draft.
    if query.saved.is_some() || !review.open {
        review.saved = true;
    }
    if query.saved.is_some() {
        review.notice = Some(signed.lang.t("review-saved"));
    }
    review.previous = query.after;
    Ok(page(StatusCode::OK, &review))
}

/// `score-{criterion id}` per criterion, `comment`, `csrf` and `action`
/// (`save`, or `next` for save-and-next).
pub async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let fields: BTreeMap<String, String> = form.into_inner().into_iter().collect();
    let value = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    signed.check_post(&req, value("csrf"))?;
    let lang = signed.lang;
    let (round_id, nomination_id) = path.into_inner();
    let (round, queue, entry) = entry_of(&state, &signed, round_id, nomination_id).await?;
    let mut review = review_page(&signed, round, &queue, entry);
    review.comment = value("comment").to_owned();
    let mut scores = BTreeMap::new();
    for line in &mut review.lines {
        line.value = value(&format!("score-{}", line.criterion.id)).trim().to_owned();
        match line.value.parse::<f64>() {
            Ok(score) if score.is_finite() && (0.0..=line.criterion.max_score).contains(&score) => {
                scores.insert(line.criterion.id, score);
            }
            Ok(_) => {
                line.problem =
                    Some(lang.t_args(
                        "review-out-of-range",
                        &[("max", score_text(line.criterion.max_score).into())],
                    ))
            }
            Err(_) if line.value.is_empty() => line.problem = Some(lang.t("field-required")),
            Err(_) => line.problem = Some(lang.t("review-not-a-number")),
        }
    }
    if review.comment.chars().count() > 2000 {
        review.problem = Some(lang.t_args("field-too-long", &[("max", 2000.into())]));
    }
    if review.problem.is_some() || review.lines.iter().any(|l| l.problem.is_some()) {
        return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, &review));
    }
    let user = (*signed.user).clone();
    let comment = Some(review.comment.trim().to_owned()).filter(|c| !c.is_empty());
    let saved = store(&state, lang, move |conn| {
        reviews::submit(conn, &user, round_id, nomination_id, scores, comment)
    })
    .await?;
    if let Err(refused) = saved {
        let shown = refusals::shown(lang, refused);
        review.problem = Some(shown.text);
        return Ok(page(shown.status, &review));
    }
    if value("action") == "next" {
        let reviewer = signed.user.id;
        let lines = store(&state, lang, move |conn| reviews::queue(conn, round_id, reviewer))
            .await?
            .map_err(|e| fail(lang, e))?;
        return Ok(match next_unscored(&lines, Some(nomination_id)) {
            Some(next) => {
                see_other(&format!("/console/rounds/{round_id}/entries/{next}?after={nomination_id}"))
            }
            None => see_other(&format!("/console/rounds/{round_id}?after={nomination_id}")),
        });
    }
    Ok(see_other(&format!("/console/rounds/{round_id}/entries/{nomination_id}?saved=1")))
}
