//! Who may act on what: the scope rules shared by every resource.

use super::roles::{Role, Roles};

/// The caller, as the rules see them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub roles: Roles,
    pub branch_id: Option<i64>,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.roles.has(Role::Admin)
    }

    /// Admins act on every branch; a manager on their own branch only.
    pub fn manages_branch(&self, branch_id: i64) -> bool {
        self.is_admin() || (self.roles.has(Role::Manager) && self.branch_id == Some(branch_id))
    }

    /// The branch a listing is limited to: none for admins, their own for managers.
    pub fn branch_scope(&self) -> Result<Option<i64>, &'static str> {
        if self.is_admin() {
            Ok(None)
        } else if self.roles.has(Role::Manager) {
            self.branch_id.map(Some).ok_or("a manager without a branch manages nothing")
        } else {
            Err("this needs the manager or admin role")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(roles: &[Role], branch: Option<i64>) -> Actor {
        Actor { id: 1, roles: Roles::new(roles.iter().copied()), branch_id: branch }
    }

    #[test]
    fn managers_act_on_their_own_branch_only() {
        let manager = actor(&[Role::Manager], Some(7));
        assert!(manager.manages_branch(7));
        assert!(!manager.manages_branch(8));
        assert_eq!(manager.branch_scope(), Ok(Some(7)));
        let admin = actor(&[Role::Admin], None);
        assert!(admin.manages_branch(8));
        assert_eq!(admin.branch_scope(), Ok(None));
        let employee = actor(&[], Some(7));
        assert!(!employee.manages_branch(7));
        assert!(employee.branch_scope().is_err());
        assert!(actor(&[Role::Manager], None).branch_scope().is_err());
    }
}
