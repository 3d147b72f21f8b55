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
#[derive(Debug, Clone, PartialEq, Eq, Default, diesel::FromSqlRow, diesel::AsExpression)]
#[diesel(sql_type = diesel::sql_types::Text)]
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

impl Roles {
    /// The stored form: the names in order, joined by ';'. Every account is
    /// an employee, so there are eight forms, and each is a constant.
    pub fn as_str(&self) -> &'static str {
        match (self.has(Role::Admin), self.has(Role::Manager), self.has(Role::Reviewer)) {
            (false, false, false) => "employee",
            (false, false, true) => "reviewer;employee",
            (false, true, false) => "manager;employee",
            (false, true, true) => "manager;reviewer;employee",
            (true, false, false) => "admin;employee",
            (true, false, true) => "admin;reviewer;employee",
            (true, true, false) => "admin;manager;employee",
            (true, true, true) => "admin;manager;reviewer;employee",
        }
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Roles {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for Roles
where
    DB: diesel::backend::Backend,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
        <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.as_str(), out)
    }
}

/// Stored as the names joined by ';'. An unknown name in the column is an
/// error, never read as "employee only".
impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for Roles
where
    DB: diesel::backend::Backend,
    String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
        Roles::parse(&text).map_err(|reason| format!("users.roles holds {text:?}: {reason}").into())
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
    fn the_stored_form_is_the_names_in_order() {
        let all = Role::ALL.len();
        for mask in 0..(1u32 << all) {
            let roles = Roles::new(
                Role::ALL.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, r)| *r),
            );
            let joined: Vec<&str> = roles.as_slice().iter().map(|r| r.as_str()).collect();
            assert_eq!(roles.as_str(), joined.join(";"));
            assert_eq!(Roles::parse(roles.as_str()).unwrap(), roles);
        }
    }

    #[test]
    fn unknown_roles_are_refused() {
        assert!(Roles::parse("employee;boss").unwrap_err().contains("boss"));
        // A long unknown role comes back cut short.
        let message = Roles::parse(&"x".repeat(10_000)).unwrap_err();
        assert!(message.contains(&format!("{}…", "x".repeat(32))) && message.len() < 100, "{message}");
    }
}
