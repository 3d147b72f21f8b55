//! The demo's campaign and its nominations: every branch's quota, submitted.

use std::time::Duration;

use chrono::TimeDelta;
use indicatif::HumanCount;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::plan::{Plan, STAFF_SLOTS};
use super::text;
use super::{fail, Entrant, Org, People, Phase};
use crate::db::{self, DbConn};
use crate::domain::access::Actor;
use crate::domain::campaign::CampaignStatus;
use crate::domain::roles::{Role, Roles};
use crate::store;
use crate::store::campaigns::{CampaignChanges, NewCampaign};
use crate::store::nominations::NominationText;

pub(super) fn nominations(
    conn: &mut DbConn,
    admin: i64,
    plan: &Plan,
    org: &Org,
    people: &People,
    rng: &mut ChaCha8Rng,
    phases: &mut Vec<(&'static str, Duration, String)>,
) -> anyhow::Result<(i64, Vec<Entrant>)> {
    let quota = plan.nominations_per_branch;
    let phase = Phase::start("nominations", (plan.branches.len() * quota) as u64);
    let now = db::now();
    let campaign = store::campaigns::create(
        conn,
        admin,
        NewCampaign {
            name: "2026年度“最美消保人”评选".into(),
            nomination_opens_at: now - TimeDelta::minutes(1),
            nomination_closes_at: now + TimeDelta::days(30),
            nominations_per_branch: quota as i32,
            winners_target: plan.winners as i32,
        },
    )
    .map_err(fail("creating the campaign"))?;
    let to = |status: CampaignStatus| CampaignChanges { status: Some(status), ..Default::default() };
    store::campaigns::update(conn, admin, campaign.id, to(CampaignStatus::Nominating), None)
        .map_err(fail("opening nominations"))?;
    let mut field = Vec::new();
    for (b, branch) in plan.branches.iter().enumerate() {
        let manager = Actor {
            id: people.ids[branch.first],
            roles: Roles::new([Role::Employee, Role::Manager]),
            branch_id: Some(org.branches[b].0),
        };
        let mut nominees: Vec<usize> = (branch.first + STAFF_SLOTS..branch.first + branch.size)
            .collect::<Vec<_>>()
            .choose_multiple(rng, quota)
            .copied()
            .collect();
        nominees.sort_unstable();
        for i in nominees {
            let case = text::case(rng, &people.names[i], &org.branches[b].1);
            let text =
                NominationText { title: case.title, summary: case.summary, story: case.story, links: vec![] };
            let draft = store::nominations::create(conn, &manager, campaign.id, people.ids[i], text)
                .map_err(fail("nominating"))?;
            store::nominations::submit(conn, &manager, draft.id, None).map_err(fail("submitting"))?;
            let quality: f64 = rng.sample(StandardNormal);
            let buzz: f64 = rng.sample(StandardNormal);
            field.push(Entrant {
                nomination_id: draft.id,
                nominee_id: people.ids[i],
                company: branch.company,
                quality,
                // Good cases get talked about; some people are simply well known.
                popularity: (0.6 * quality + 0.8 * buzz).exp(),
            });
            phase.bar.inc(1);
        }
    }
    store::campaigns::update(conn, admin, campaign.id, to(CampaignStatus::Screening), None)
        .map_err(fail("starting the screening"))?;
    phase.finish(phases, format!("{} submitted, {quota} per branch", HumanCount(field.len() as u64)));
    Ok((campaign.id, field))
}
