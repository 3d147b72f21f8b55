//! A branch manager's pages: the campaign with the branch's quota, the
//! nominations (with each one's outcome through the rounds once results may
//! be shown), and the nomination form (nominee picked by name or number).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::refusals::{self, Shown};
use crate::console::session::Signed;
use crate::console::view::{fail, page, see_other, store, Failure, PageError, Words};
use crate::domain::campaign::{nomination_window, CampaignStatus, NominationStatus};
use crate::domain::nomination::{self as rules, TextProblem, STORY_MAX, SUMMARY_MAX, TITLE_MAX};
use crate::domain::roles::Role;
use crate::domain::round::{results_visible, Verdict};
use crate::http::AppState;
use crate::i18n::Lang;
use crate::store::campaigns::{self, Campaign};
use crate::store::nominations::{
    self, Nomination, NominationFilter, NominationSort, NominationText, TextPatch,
};
use crate::store::rounds::{self, BranchOutcomes, RoundOutcome};
use crate::store::users::{self, Pick};
use crate::store::PageRequest;

/// The manager's own branch; admins and others have no nomination pages.
fn own_branch(signed: &Signed) -> Result<i64, PageError> {
    signed.require(Role::Manager)?;
    signed.user.branch_id.ok_or_else(|| PageError::new(signed.lang, Failure::Forbidden))
}

pub struct Quota {
    pub submitted: i64,
    pub quota: i64,
    pub left: i64,
}

#[derive(Template)]
#[template(path = "campaign.html", config = "src/console/askama.toml")]
struct CampaignPage {
    w: Words,
    csrf: String,
    campaign: Campaign,
    window_open: bool,
    quota: Quota,
    nominations: Vec<Nomination>,
    /// Each nomination's verdicts in the closed rounds, once results may be
    /// shown to the reader; none before.
    outcomes: Option<BranchOutcomes>,
}

impl CampaignPage {
    fn quota_line(&self) -> String {
        let number = |n: i64| crate::i18n::Arg::from(self.w.number(n));
        let q = &self.quota;
        self.w.lang.t_args(
            "quota-left",
            &[("used", number(q.submitted)), ("quota", number(q.quota)), ("left", number(q.left))],
        )
    }

    fn status_word(&self, status: &NominationStatus) -> String {
        self.w.t(&format!("nomination-status-{status}"))
    }

    /// Screening has begun but its results are not the reader's yet: the
    /// page says when they will be.
    fn outcomes_later(&self) -> bool {
        self.outcomes.is_none() && self.campaign.status > CampaignStatus::Nominating
    }

    fn outcomes_of(&self, nomination_id: &i64) -> &[RoundOutcome] {
        self.outcomes.as_ref().map_or(&[], |o| o.of(*nomination_id))
    }

    fn verdict_word(&self, verdict: &Verdict) -> String {
        match verdict {
            Verdict::Advanced => self.w.t("outcome-advanced"),
            Verdict::NotAdvanced => self.w.t("outcome-not-advanced"),
            Verdict::RuledOut => self.w.t("outcome-ruled-out"),
            Verdict::Won { rank } => self.w.t1("outcome-won", "rank", self.w.number(*rank as i64)),
        }
    }

    fn verdict_class(&self, verdict: &Verdict) -> &'static str {
        match verdict {
            Verdict::Advanced => "advanced",
            Verdict::NotAdvanced => "not-advanced",
            Verdict::RuledOut => "out",
            Verdict::Won { .. } => "won",
        }
    }
}

pub async fn campaign(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let (lang, branch, campaign_id) = (signed.lang, own_branch(&signed)?, id.into_inner());
    let is_admin = signed.has(Role::Admin);
    let found = store(&state, lang, move |conn| {
        let campaign = campaigns::get(conn, campaign_id)?;
        // The rule of the results API: admins at once, everyone else once published.
        let outcomes = results_visible(is_admin, campaign.status == CampaignStatus::Published)
            .then(|| rounds::branch_outcomes(conn, campaign_id, branch))
            .transpose()?;
        let counts = nominations::counts(conn, campaign_id, Some(branch))?;
        let filter = NominationFilter { branch_id: Some(branch), ..Default::default() };
        let list = nominations::list(
            conn,
            campaign_id,
            &filter,
            NominationSort::Id,
            PageRequest { page: 1, per_page: 500 },
        )?;
        Ok((campaign, counts, list.items, outcomes))
    })
    .await?;
    let (campaign, counts, nominations, outcomes) = found.map_err(|e| fail(lang, e))?;
    let row = counts.branches.first();
    let quota = Quota {
        submitted: row.map_or(0, |r| r.submitted),
        quota: counts.nominations_per_branch as i64,
        left: row.map_or(counts.nominations_per_branch as i64, |r| r.quota_left),
    };
    let window_open = nomination_window(
        campaign.status,
        campaign.nomination_opens_at,
        campaign.nomination_closes_at,
        crate::db::now(),
    )
    .is_ok();
    Ok(page(
        StatusCode::OK,
        &CampaignPage {
            w: Words::new(lang),
            csrf: signed.csrf.clone(),
            campaign,
            window_open,
            quota,
            nominations,
            outcomes,
        },
    ))
}

/// What the form shows: the values typed, and a message per field.
#[derive(Default)]
pub struct Draft {
    pub nominee_id: String,
    pub nominee_label: String,
    pub title: String,
    pub summary: String,
    pub story: String,
}

#[derive(Default)]
pub struct Problems {
    pub form: Option<String>,
    pub nominee: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub story: Option<String>,
}

impl Problems {
    fn any(&self) -> bool {
        self.form.is_some()
            || self.nominee.is_some()
            || self.title.is_some()
            || self.summary.is_some()
            || self.story.is_some()
    }

    fn show(&mut self, shown: Shown) {
        match shown.field {
            Some("nominee_id") => self.nominee = Some(shown.text),
            Some("title") => self.title = Some(shown.text),
            Some("summary") => self.summary = Some(shown.text),
            Some("story") => self.story = Some(shown.text),
            _ => self.form = Some(shown.text),
        }
    }
}

#[derive(Template)]
#[template(path = "nomination_form.html", config = "src/console/askama.toml")]
struct FormPage {
    w: Words,
    csrf: String,
    campaign: Campaign,
    /// None for a new nomination.
    nomination: Option<Nomination>,
    draft: Draft,
    problems: Problems,
    /// Set after a successful save: the browser's copy of the draft may go.
    saved: bool,
    notice: Option<String>,
    limits: (u64, u64, u64),
    owner: i64,
}

impl FormPage {
    /// The browser keeps drafts per person and per form.
    fn draft_key(&self) -> String {
        match &self.nomination {
            Some(n) => format!("u{}-nomination-{}", self.owner, n.id),
            None => self.new_draft_key(),
        }
    }

    fn new_draft_key(&self) -> String {
        format!("u{}-new-nomination-{}", self.owner, self.campaign.id)
    }

    fn editable(&self) -> bool {
        self.nomination.as_ref().is_none_or(|n| n.status.is_editable())
    }

    fn status_word(&self, status: &NominationStatus) -> String {
        self.w.t(&format!("nomination-status-{status}"))
    }
}

fn form_page(signed: &Signed, campaign: Campaign, nomination: Option<Nomination>, draft: Draft) -> FormPage {
    FormPage {
        w: Words::new(signed.lang),
        csrf: signed.csrf.clone(),
        campaign,
        nomination,
        draft,
        problems: Problems::default(),
        saved: false,
        notice: None,
        limits: (TITLE_MAX, SUMMARY_MAX, STORY_MAX),
        owner: signed.user.id,
    }
}

pub async fn new_form(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let (lang, campaign_id) = (signed.lang, id.into_inner());
    own_branch(&signed)?;
    let campaign = store(&state, lang, move |conn| campaigns::get(conn, campaign_id))
        .await?
        .map_err(|e| fail(lang, e))?;
    let mut form = form_page(&signed, campaign, None, Draft::default());
    if let Err(refusal) = nomination_window(
        form.campaign.status,
        form.campaign.nomination_opens_at,
        form.campaign.nomination_closes_at,
        crate::db::now(),
    ) {
        form.problems.form = Some(refusals::window(lang, refusal));
    }
    Ok(page(StatusCode::OK, &form))
}

#[derive(Deserialize)]
pub struct NominationForm {
    csrf: String,
    #[serde(default)]
    nominee_id: String,
    #[serde(default)]
    nominee_label: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    story: String,
    /// `save`, `submit` or `withdraw`.
    #[serde(default)]
    action: String,
}

impl NominationForm {
    fn draft(&self) -> Draft {
        Draft {
            nominee_id: self.nominee_id.chars().take(20).collect(),
            nominee_label: self.nominee_label.chars().take(200).collect(),
            title: self.title.clone(),
            summary: self.summary.clone(),
            story: self.story.clone(),
        }
    }

    /// The texts by the rules of `domain`, each problem in the reader's words.
    fn check(&self, lang: Lang, problems: &mut Problems) -> NominationText {
        let say = |problem: TextProblem| match problem {
            TextProblem::Blank => lang.t("field-required"),
            TextProblem::TooLong { max } => lang.t_args("field-too-long", &[("max", (max as i64).into())]),
            TextProblem::ControlCharacter => lang.t("field-control-character"),
        };
        problems.title = rules::check_line(&self.title, TITLE_MAX).err().map(say);
        problems.summary = rules::check_line(&self.summary, SUMMARY_MAX).err().map(say);
        problems.story = rules::check_story(&self.story).err().map(say);
        NominationText {
            title: self.title.trim().to_owned(),
            summary: self.summary.trim().to_owned(),
            story: self.story.trim().to_owned(),
            links: vec![],
        }
    }
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<i64>,
    form: web::Form<NominationForm>,
) -> Result<HttpResponse, PageError> {
    signed.check_post(&req, &form.csrf)?;
    let (lang, campaign_id) = (signed.lang, id.into_inner());
    own_branch(&signed)?;
    let campaign = store(&state, lang, move |conn| campaigns::get(conn, campaign_id))
        .await?
        .map_err(|e| fail(lang, e))?;
    let mut problems = Problems::default();
    let text = form.check(lang, &mut problems);
    let nominee_id = form.nominee_id.trim().parse::<i64>().ok();
    if nominee_id.is_none() {
        problems.nominee = Some(lang.t("nominee-pick"));
    }
    let (Some(nominee_id), false) = (nominee_id, problems.any()) else {
        let mut page_data = form_page(&signed, campaign, None, form.draft());
        page_data.problems = problems;
        return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, &page_data));
    };
    let actor = signed.actor();
    let submit = form.action == "submit";
    let created = store(&state, lang, move |conn| {
        let nomination = nominations::create(conn, &actor, campaign_id, nominee_id, text)?;
        if !submit {
            return Ok((nomination, None));
        }
        // A refused submit leaves the draft saved: the manager is told why, on its page.
        match nominations::submit(conn, &actor, nomination.id, None) {
            Ok(submitted) => Ok((submitted, None)),
            Err(refused) => Ok((nomination, Some(refused))),
        }
    })
    .await?;
    match created {
        Ok((nomination, None)) => Ok(see_other(&format!("/console/nominations/{}?saved=1", nomination.id))),
        Ok((nomination, Some(refused))) => {
            let shown = refusals::shown(lang, refused);
            let mut page_data = form_page(&signed, campaign, Some(nomination.clone()), draft_of(&nomination));
            page_data.saved = true;
            page_data.problems.form =
                Some(lang.t_args("nomination-saved-not-submitted", &[("why", shown.text.into())]));
            Ok(page(shown.status, &page_data))
        }
        Err(refused) => {
            let shown = refusals::shown(lang, refused);
            let status = shown.status;
            let mut page_data = form_page(&signed, campaign, None, form.draft());
            page_data.problems.show(shown);
            Ok(page(status, &page_data))
        }
    }
}

fn draft_of(n: &Nomination) -> Draft {
    Draft {
        nominee_id: n.nominee_id.to_string(),
        nominee_label: format!("{}（{}）", n.nominee_name, n.nominee_employee_no),
        title: n.title.clone(),
        summary: n.summary.clone(),
        story: n.story.clone().unwrap_or_default(),
    }
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

async fn own_nomination(
    state: &AppState,
    signed: &Signed,
    id: i64,
) -> Result<(Campaign, Nomination), PageError> {
    let lang = signed.lang;
    own_branch(signed)?;
    let (campaign, nomination) = store(state, lang, move |conn| {
        let nomination = nominations::get(conn, id)?;
        Ok((campaigns::get(conn, nomination.campaign_id)?, nomination))
    })
    .await?
    .map_err(|e| fail(lang, e))?;
    // Another branch's nomination does not exist for this manager.
    if !signed.actor().manages_branch(nomination.branch_id) {
        return Err(PageError::new(lang, Failure::NotFound));
    }
    Ok((campaign, nomination))
}

pub async fn edit_form(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<i64>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let (campaign, nomination) = own_nomination(&state, &signed, id.into_inner()).await?;
    let draft = draft_of(&nomination);
    let mut form = form_page(&signed, campaign, Some(nomination), draft);
    if query.saved.is_some() {
        form.saved = true;
        form.notice = Some(signed.lang.t("nomination-saved"));
    }
    Ok(page(StatusCode::OK, &form))
}

pub async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<i64>,
    form: web::Form<NominationForm>,
) -> Result<HttpResponse, PageError> {
    signed.check_post(&req, &form.csrf)?;
    let lang = signed.lang;
    let (campaign, nomination) = own_nomination(&state, &signed, id.into_inner()).await?;
    let (id, version) = (nomination.id, nomination.version);
    let actor = signed.actor();
    let action = form.action.clone();
    let mut problems = Problems::default();
    let text = if action == "withdraw" { None } else { Some(form.check(lang, &mut problems)) };
    if problems.any() {
        let mut page_data = form_page(&signed, campaign, Some(nomination), form.draft());
        page_data.problems = problems;
        return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, &page_data));
    }
    let changed = store(&state, lang, move |conn| match (action.as_str(), text) {
        ("withdraw", _) => nominations::withdraw(conn, &actor, id, Some(version)),
        (action, Some(text)) => {
            let patch = TextPatch {
                title: Some(text.title),
                summary: Some(text.summary),
                story: Some(text.story),
                links: None,
            };
            let saved = if nomination.status.is_editable() {
                nominations::update(conn, &actor, id, patch, Some(version))?
            } else {
                nominations::get(conn, id)?
            };
            if action == "submit" {
                nominations::submit(conn, &actor, id, Some(saved.version))
            } else {
                Ok(saved)
            }
        }
        _ => nominations::get(conn, id),
    })
    .await?;
    match changed {
        Ok(nomination) => Ok(see_other(&format!("/console/nominations/{}?saved=1", nomination.id))),
        Err(refused) => {
            let shown = refusals::shown(lang, refused);
            let status = shown.status;
            let (campaign, current) = own_nomination(&state, &signed, id).await?;
            let mut page_data = form_page(&signed, campaign, Some(current), form.draft());
            page_data.problems.show(shown);
            Ok(page(status, &page_data))
        }
    }
}

#[derive(Deserialize)]
pub struct StaffQuery {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "staff_options.html", config = "src/console/askama.toml")]
struct StaffOptions {
    w: Words,
    people: Vec<Pick>,
    searched: bool,
}

/// `GET /console/campaigns/{id}/staff?q=`: the branch's own active staff
/// whose name or employee number holds `q` (a fragment for the picker).
pub async fn staff(
    state: web::Data<AppState>,
    signed: Signed,
    query: web::Query<StaffQuery>,
) -> Result<HttpResponse, PageError> {
    let (lang, branch) = (signed.lang, own_branch(&signed)?);
    let q: String = query.q.trim().chars().take(50).collect();
    if q.is_empty() {
        return Ok(page(
            StatusCode::OK,
            &StaffOptions { w: Words::new(lang), people: vec![], searched: false },
        ));
    }
    let people = store(&state, lang, move |conn| users::branch_staff_matching(conn, branch, &q, 20))
        .await?
        .map_err(|e| fail(lang, e))?;
    Ok(page(StatusCode::OK, &StaffOptions { w: Words::new(lang), people, searched: true }))
}
