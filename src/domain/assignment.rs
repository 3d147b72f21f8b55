//! Who reviews which entry: k reviewers per entry from its panel, never a
//! conflict, loads balanced, the same plan for the same seed.

use std::collections::{BTreeMap, BTreeSet};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::round::{conflict, Candidate, ConflictScope, Panelist, Scope};

/// An entry that cannot get its k reviewers: every eligible panelist already
/// reviews it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Shortfall {
    pub nomination_id: i64,
    pub assigned: usize,
    pub needed: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// New (nomination_id, reviewer_id) pairs, in a stable order.
    pub new: Vec<(i64, i64)>,
    pub shortfalls: Vec<Shortfall>,
}

/// Plans assignments so that every entry has `k` reviewers.
///
/// `existing` assignments are kept as they are (they may carry reviews) and
/// count towards both k and each reviewer's load: calling this again tops up.
/// Hardest entries (fewest eligible reviewers) are served first; each slot
/// goes to the least-loaded eligible reviewer, ties broken by a seeded
/// shuffle; then new assignments move from the busiest to the idlest
/// reviewers of the same panel while that narrows the gap, so loads end up
/// within one of each other wherever the conflicts allow it.
pub fn plan(
    k: usize,
    scope: Scope,
    conflicts: ConflictScope,
    entries: &[Candidate],
    panel: &[Panelist],
    existing: &[(i64, i64)],
    seed: u64,
) -> Plan {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut panel: Vec<Panelist> = panel.to_vec();
    panel.sort_by_key(|p| p.id);
    panel.dedup_by_key(|p| p.id);
    panel.shuffle(&mut rng);
    let mut entries: Vec<Candidate> = entries.to_vec();
    entries.sort_by_key(|e| e.nomination_id);
    entries.shuffle(&mut rng);

    let mut on_entry: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    let mut load: BTreeMap<i64, usize> = panel.iter().map(|p| (p.id, 0)).collect();
    for (nomination, reviewer) in existing {
        on_entry.entry(*nomination).or_default().insert(*reviewer);
        if let Some(l) = load.get_mut(reviewer) {
            *l += 1;
        }
    }
    // Eligible panel positions per entry (positions give the shuffled tie-break).
    let eligible: Vec<Vec<usize>> = entries
        .iter()
        .map(|e| (0..panel.len()).filter(|&p| conflict(scope, conflicts, &panel[p], e).is_none()).collect())
        .collect();
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| eligible[i].len());

    let mut plan = Plan::default();
    let mut added: Vec<(usize, usize)> = Vec::new(); // (entry index, panel position)
    for i in order {
        let entry = &entries[i];
        let mut taken = on_entry.remove(&entry.nomination_id).unwrap_or_default();
        while taken.len() < k {
            let best = eligible[i]
                .iter()
                .copied()
                .filter(|&p| !taken.contains(&panel[p].id))
                .min_by_key(|&p| (load[&panel[p].id], p));
            let Some(p) = best else { break };
            taken.insert(panel[p].id);
            *load.get_mut(&panel[p].id).expect("panelist") += 1;
            added.push((i, p));
        }
        if taken.len() < k {
            plan.shortfalls.push(Shortfall {
                nomination_id: entry.nomination_id,
                assigned: taken.len(),
                needed: k,
            });
        }
        on_entry.insert(entry.nomination_id, taken);
    }

    // Even out along chains: while a reviewer carries two or more above
    // someone they can pass work to, directly or through others, move one new
    // assignment along each link of the shortest such chain. Only the two ends
    // change load, and the sum of squared loads falls, so this ends.
    let mut load_at: Vec<usize> = panel.iter().map(|p| load[&p.id]).collect();
    let mut slots_of: Vec<Vec<usize>> = vec![Vec::new(); panel.len()];
    for (slot, &(_, p)) in added.iter().enumerate() {
        slots_of[p].push(slot);
    }
    loop {
        let lightest = load_at.iter().copied().min().unwrap_or(0);
        let mut starts: Vec<usize> =
            (0..panel.len()).filter(|&p| !slots_of[p].is_empty() && load_at[p] >= lightest + 2).collect();
        starts.sort_by_key(|&p| (std::cmp::Reverse(load_at[p]), p));
        let Some(chain) = starts.into_iter().find_map(|start| {
            shortest_chain(start, &panel, &entries, &eligible, &added, &slots_of, &on_entry, &load_at)
        }) else {
            break;
        };
        for (slot, to) in chain {
            let (i, from) = added[slot];
            let taken = on_entry.get_mut(&entries[i].nomination_id).expect("entry");
            taken.remove(&panel[from].id);
            taken.insert(panel[to].id);
            slots_of[from].retain(|s| *s != slot);
            slots_of[to].push(slot);
            load_at[from] -= 1;
            load_at[to] += 1;
            added[slot] = (i, to);
        }
    }
    plan.new = added.into_iter().map(|(i, p)| (entries[i].nomination_id, panel[p].id)).collect();
    plan.new.sort_unstable();
    plan.shortfalls.sort_by_key(|s| s.nomination_id);
    plan
}

/// Breadth-first search from `start` over "may take one of my new
/// assignments" links, to the nearest reviewer carrying at least two less.
/// Returns the moves (slot, new reviewer position) along the way.
#[allow(clippy::too_many_arguments)]
fn shortest_chain(
    start: usize,
    panel: &[Panelist],
    entries: &[Candidate],
    eligible: &[Vec<usize>],
    added: &[(usize, usize)],
    slots_of: &[Vec<usize>],
    on_entry: &BTreeMap<i64, BTreeSet<i64>>,
    load_at: &[usize],
) -> Option<Vec<(usize, usize)>> {
    let mut via: Vec<Option<(usize, usize)>> = vec![None; panel.len()];
    let mut seen = vec![false; panel.len()];
    seen[start] = true;
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(from) = queue.pop_front() {
        for &slot in &slots_of[from] {
            let i = added[slot].0;
            let taken = &on_entry[&entries[i].nomination_id];
            for &to in &eligible[i] {
                if seen[to] || taken.contains(&panel[to].id) {
                    continue;
                }
                seen[to] = true;
                via[to] = Some((from, slot));
                if load_at[to] + 2 <= load_at[start] {
                    let mut chain = Vec::new();
                    let mut at = to;
                    while let Some((previous, slot)) = via[at] {
                        chain.push((slot, at));
                        at = previous;
                    }
                    return Some(chain);
                }
                queue.push_back(to);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `companies` member companies of `branches` branches each; one entry per
    /// branch and index below `per_branch`; reviewers spread over the branches.
    fn field(
        companies: i64,
        branches: i64,
        per_branch: i64,
        reviewers: i64,
    ) -> (Vec<Candidate>, Vec<Panelist>) {
        let mut entries = Vec::new();
        for c in 0..companies {
            for b in 0..branches {
                for n in 0..per_branch {
                    let branch = c * 100 + b;
                    entries.push(Candidate {
                        nomination_id: branch * 100 + n,
                        member_company_id: c,
                        branch_id: branch,
                        nominee_id: 1_000_000 + branch * 100 + n,
                        nominated_by: 2_000_000 + branch,
                    });
                }
            }
        }
        let panel = (0..reviewers)
            .map(|r| {
                let c = r % companies;
                Panelist {
                    id: r + 1,
                    member_company_id: Some(c),
                    branch_id: Some(c * 100 + (r / companies) % branches),
                }
            })
            .collect();
        (entries, panel)
    }

    fn loads(plan: &Plan, existing: &[(i64, i64)]) -> BTreeMap<i64, usize> {
        let mut loads = BTreeMap::new();
        for (_, r) in plan.new.iter().chain(existing) {
            *loads.entry(*r).or_insert(0) += 1;
        }
        loads
    }

    fn spread(loads: &BTreeMap<i64, usize>, panel: &[Panelist], company: Option<i64>) -> usize {
        let of: Vec<usize> = panel
            .iter()
            .filter(|p| company.is_none() || p.member_company_id == company)
            .map(|p| loads.get(&p.id).copied().unwrap_or(0))
            .collect();
        of.iter().max().unwrap_or(&0) - of.iter().min().unwrap_or(&0)
    }

    #[test]
    fn every_entry_gets_k_conflict_free_reviewers_and_loads_within_one() {
        let (entries, panel) = field(3, 4, 5, 12);
        for scope in [Scope::Group, Scope::MemberCompany] {
            let plan = plan(3, scope, ConflictScope::Branch, &entries, &panel, &[], 7);
            assert_eq!(plan.shortfalls, vec![]);
            assert_eq!(plan.new.len(), entries.len() * 3);
            for (nomination, reviewer) in &plan.new {
                let e = entries.iter().find(|e| e.nomination_id == *nomination).unwrap();
                let p = panel.iter().find(|p| p.id == *reviewer).unwrap();
                assert_eq!(conflict(scope, ConflictScope::Branch, p, e), None);
            }
            let loads = loads(&plan, &[]);
            match scope {
                Scope::Group => assert!(spread(&loads, &panel, None) <= 1, "{loads:?}"),
                Scope::MemberCompany => {
                    for c in 0..3 {
                        assert!(spread(&loads, &panel, Some(c)) <= 1, "{loads:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn loads_even_out_through_a_chain_of_moves() {
        // k = 1. Reviewers 1, 2, 3 in branches 1, 2, 3. Four entries from
        // branch 3 (reviewers 1 or 2 may take them) and two from branch 1
        // (reviewers 2 or 3). 2/2/2 is possible only by passing work along.
        let panel: Vec<Panelist> =
            (1..=3).map(|id| Panelist { id, member_company_id: Some(id), branch_id: Some(id) }).collect();
        let entry = |id, branch| Candidate {
            nomination_id: id,
            member_company_id: branch,
            branch_id: branch,
            nominee_id: 100 + id,
            nominated_by: 200,
        };
        let entries: Vec<Candidate> =
            (1..=4).map(|id| entry(id, 3)).chain((5..=6).map(|id| entry(id, 1))).collect();
        for seed in 0..50 {
            let plan = plan(1, Scope::Group, ConflictScope::Branch, &entries, &panel, &[], seed);
            let loads = loads(&plan, &[]);
            assert_eq!(loads.values().copied().collect::<Vec<_>>(), vec![2, 2, 2], "seed {seed}: {loads:?}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_plan() {
        let (entries, panel) = field(2, 3, 4, 7);
        let a = plan(2, Scope::Group, ConflictScope::Branch, &entries, &panel, &[], 42);
        let mut reversed = entries.clone();
        reversed.reverse();
        assert_eq!(a, plan(2, Scope::Group, ConflictScope::Branch, &reversed, &panel, &[], 42));
        assert_ne!(a, plan(2, Scope::Group, ConflictScope::Branch, &entries, &panel, &[], 43));
    }

    #[test]
    fn topping_up_keeps_what_exists() {
        let (entries, panel) = field(2, 3, 4, 8);
        let first = plan(2, Scope::Group, ConflictScope::Branch, &entries, &panel, &[], 1);
        let more = plan(3, Scope::Group, ConflictScope::Branch, &entries, &panel, &first.new, 1);
        assert_eq!(more.new.len(), entries.len(), "one more each");
        assert!(more.new.iter().all(|pair| !first.new.contains(pair)));
        assert!(plan(
            3,
            Scope::Group,
            ConflictScope::Branch,
            &entries,
            &panel,
            &[first.new, more.new].concat(),
            1
        )
        .new
        .is_empty());
    }

    #[test]
    fn entries_without_enough_eligible_reviewers_are_reported() {
        // Two reviewers, both of company 0: under member-company conflicts
        // they cannot review company 0's entries at all.
        let (entries, _) = field(2, 1, 1, 0);
        let panel = [
            Panelist { id: 1, member_company_id: Some(0), branch_id: Some(0) },
            Panelist { id: 2, member_company_id: Some(0), branch_id: Some(0) },
            Panelist { id: 3, member_company_id: None, branch_id: None },
        ];
        let plan = plan(2, Scope::Group, ConflictScope::MemberCompany, &entries, &panel, &[], 1);
        assert_eq!(
            plan.shortfalls,
            vec![Shortfall { nomination_id: 0, assigned: 1, needed: 2 }],
            "company 0's entry has only the group reviewer"
        );
        assert_eq!(plan.new.len(), 3);
    }

    proptest! {
        #[test]
        fn never_a_conflict_and_never_short_without_reason(
            companies in 1i64..4, branches in 1i64..4, per_branch in 1i64..4,
            reviewers in 0i64..12, k in 1usize..4, seed in any::<u64>(),
        ) {
            let (entries, panel) = field(companies, branches, per_branch, reviewers);
            let plan = plan(k, Scope::Group, ConflictScope::Branch, &entries, &panel, &[], seed);
            for e in &entries {
                let mine: Vec<i64> = plan.new.iter().filter(|(n, _)| *n == e.nomination_id).map(|(_, r)| *r).collect();
                let eligible = panel.iter().filter(|p| conflict(Scope::Group, ConflictScope::Branch, p, e).is_none()).count();
                prop_assert_eq!(mine.len(), k.min(eligible));
                let short = plan.shortfalls.iter().any(|s| s.nomination_id == e.nomination_id);
                prop_assert_eq!(short, eligible < k);
            }
            let pairs: BTreeSet<&(i64, i64)> = plan.new.iter().collect();
            prop_assert_eq!(pairs.len(), plan.new.len(), "no reviewer twice on one entry");
        }
    }
}
