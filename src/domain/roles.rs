use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Manager,
    Reviewer,
    Employee,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Reviewer, Role::Employee];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Reviewer => "reviewer",
            Role::Employee => "employee",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim().to_ascii_lowercase()).ok_or_else(|| {
            format!("unknown role {:?} (admin, manager, reviewer, employee)", super::excerpt(s))
        })
    }
}

/// A user's roles. Everyone is an employee; the others are added on top.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Self {
        let mut all: Vec<Role> = roles.into_iter().chain([Role::Employee]).collect();
        all.sort();
        all.dedup();
        Roles(all)
    }

    pub fn employee() -> Self {
        Roles::new([])
    }

    pub fn has(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn as_slice(&self) -> &[Role] {
        &self.0
    }

    /// Parses the stored or imported form: names joined by ';' (or ',').
    pub fn parse(text: &str) -> Result<Self, String> {
        let roles = text
            .split([';', ','])
            .filter(|part| !part.trim().is_empty())
            .map(Role::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Roles::new(roles))
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|r| r.as_str()).collect();
        f.write_str(&names.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyone_is_an_employee_and_order_is_canonical() {
        let roles = Roles::parse("reviewer; Manager").unwrap();
        assert_eq!(roles.to_string(), "manager;reviewer;employee");
        assert!(roles.has(Role::Employee));
        assert_eq!(Roles::parse("").unwrap(), Roles::employee());
    }

    #[test]
    fn unknown_roles_are_refused() {
        assert!(Roles::parse("employee;boss").unwrap_err().contains("boss"));
        // A long unknown role comes back cut short.
        let message = Roles::parse(&"x".repeat(10_000)).unwrap_err();
        assert!(message.contains(&format!("{}…", "x".repeat(32))) && message.len() < 100, "{message}");
    }
}
