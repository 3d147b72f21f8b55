//! The demo's shape for a number of employees: branches and their sizes,
//! who manages and who reviews, quotas and cuts. Pure, so it is tested here.

use rand::Rng;

use super::text::MEMBER_COMPANIES;

pub const BRANCHES: usize = 200;
/// Every member company has at least this many branches, so that its
/// reviewers come from several branches and each entry has reviewers from
/// outside its own branch.
const MIN_BRANCHES: usize = 3;
pub const REVIEWERS_PER_COMPANY: usize = 6;
pub const GROUP_PANEL: usize = 21;
pub const REVIEWS_PER_ENTRY: i32 = 3;
pub const VOTES_PER_VOTER: i32 = 10;
/// The places at the start of each branch's staff list: its manager, a
/// member-company reviewer, a group reviewer and a second member-company
/// reviewer for small companies. Nominees come from after them.
pub const STAFF_SLOTS: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    pub company: usize,
    /// This branch's number within its company.
    pub index: usize,
    /// Global index of its first employee; its staff are `first..first + size`.
    pub first: usize,
    pub size: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub employees: usize,
    pub branches: Vec<Branch>,
    pub nominations_per_branch: usize,
    pub round1_seats: usize,
    pub winners: usize,
}

impl Plan {
    /// 300,000 employees give the real award: 15 nominations a branch
    /// (3,000), 620 seats after round 1, 310 winners. Fewer employees scale
    /// the field down with them.
    pub fn new(employees: usize, rng: &mut impl Rng) -> Plan {
        let shares: Vec<u64> = MEMBER_COMPANIES.iter().map(|(_, _, share)| u64::from(*share)).collect();
        let per_company = largest_remainder(BRANCHES as u64 - (MIN_BRANCHES * shares.len()) as u64, &shares)
            .into_iter()
            .map(|n| n as usize + MIN_BRANCHES);
        let mut branches = Vec::with_capacity(BRANCHES);
        let mut weights = Vec::with_capacity(BRANCHES);
        for (company, count) in per_company.enumerate() {
            for index in 0..count {
                branches.push(Branch { company, index, first: 0, size: 0 });
                // Branches of a company differ in size by up to 2:1.
                let base = shares[company] * 1_000_000 / count as u64;
                weights.push(base * rng.gen_range(70..=140) / 100);
            }
        }
        let mut first = 0;
        for (branch, size) in branches.iter_mut().zip(largest_remainder(employees as u64, &weights)) {
            branch.first = first;
            branch.size = size as usize;
            first += branch.size;
        }
        let nominations_per_branch = (employees / 20_000).clamp(1, 15);
        let winners = (nominations_per_branch * BRANCHES / 4).min(310);
        Plan { employees, branches, nominations_per_branch, round1_seats: 2 * winners, winners }
    }

    /// Global indexes of a company's round-1 reviewers: the reviewer slot of
    /// its branches in turn, so they sit in different branches.
    pub fn company_reviewers(&self, company: usize) -> Vec<usize> {
        let own: Vec<&Branch> = self.branches.iter().filter(|b| b.company == company).collect();
        own.iter()
            .cycle()
            .take(REVIEWERS_PER_COMPANY)
            .enumerate()
            .map(|(i, b)| b.first + 1 + 2 * (i / own.len()))
            .collect()
    }

    /// Global indexes of the group panel: the group-reviewer slot of each
    /// company's branches in turn, so that every company is represented.
    pub fn group_panel(&self) -> Vec<usize> {
        (0..GROUP_PANEL)
            .map(|i| {
                let company = i % MEMBER_COMPANIES.len();
                let nth = i / MEMBER_COMPANIES.len();
                let branch =
                    self.branches.iter().filter(|b| b.company == company).nth(nth).expect("3 branches");
                branch.first + 2
            })
            .collect()
    }
}

/// Splits `total` in proportion to `weights` by the largest remainder, so the
/// parts add up to `total` exactly.
fn largest_remainder(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u64 = weights.iter().sum();
    let mut parts: Vec<u64> = weights.iter().map(|w| total * w / sum).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(total * weights[i] % sum), i));
    let missing = total - parts.iter().sum::<u64>();
    for &i in order.iter().take(missing as usize) {
        parts[i] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn plan(employees: usize, seed: u64) -> Plan {
        Plan::new(employees, &mut ChaCha8Rng::seed_from_u64(seed))
    }

    impl Plan {
        /// The smallest branch must hold its staff and its nominees.
        fn smallest_branch(&self) -> usize {
            self.branches.iter().map(|b| b.size).min().unwrap_or(0)
        }
    }

    #[test]
    fn the_real_award_at_full_size() {
        let p = plan(300_000, 1);
        assert_eq!(
            (p.branches.len(), p.nominations_per_branch, p.round1_seats, p.winners),
            (200, 15, 620, 310)
        );
        assert_eq!(p.branches.iter().map(|b| b.size).sum::<usize>(), 300_000);
        assert!(p.smallest_branch() > STAFF_SLOTS + 2 * p.nominations_per_branch);
    }

    #[test]
    fn branches_tile_the_staff_and_every_company_has_three() {
        for employees in [5_000, 40_000, 300_000] {
            let p = plan(employees, 7);
            let mut next = 0;
            for b in &p.branches {
                assert_eq!(b.first, next);
                next += b.size;
            }
            assert_eq!(next, employees);
            for company in 0..MEMBER_COMPANIES.len() {
                assert!(p.branches.iter().filter(|b| b.company == company).count() >= MIN_BRANCHES);
            }
        }
    }

    #[test]
    fn a_small_demo_still_fills_its_rounds() {
        let p = plan(5_000, 3);
        assert_eq!((p.nominations_per_branch, p.winners, p.round1_seats), (1, 50, 100));
        assert!(p.smallest_branch() > STAFF_SLOTS + p.nominations_per_branch);
    }

    #[test]
    fn reviewers_are_staff_slots_in_several_branches() {
        let p = plan(300_000, 5);
        for company in 0..MEMBER_COMPANIES.len() {
            let reviewers = p.company_reviewers(company);
            assert_eq!(reviewers.len(), REVIEWERS_PER_COMPANY);
            let branches: std::collections::BTreeSet<usize> = reviewers
                .iter()
                .map(|&r| p.branches.iter().position(|b| (b.first..b.first + b.size).contains(&r)).unwrap())
                .collect();
            assert!(branches.len() >= MIN_BRANCHES);
            assert!(reviewers
                .iter()
                .all(|&r| p.branches.iter().any(|b| (b.first..b.first + STAFF_SLOTS).contains(&r))));
            assert!(branches.iter().all(|&b| p.branches[b].company == company));
        }
        let panel = p.group_panel();
        assert_eq!(panel.iter().collect::<std::collections::BTreeSet<_>>().len(), GROUP_PANEL);
    }

    #[test]
    fn the_same_seed_gives_the_same_plan() {
        assert_eq!(plan(100_000, 9), plan(100_000, 9));
        assert_ne!(plan(100_000, 9), plan(100_000, 10));
    }

    #[test]
    fn largest_remainder_adds_up() {
        assert_eq!(largest_remainder(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(largest_remainder(7, &[5, 0, 5]), vec![4, 0, 3]);
    }
}
