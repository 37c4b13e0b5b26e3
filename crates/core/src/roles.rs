//! Who a caller is: an administrator, staff or an end user, as the origin
//! named them at login and the verified session carries it. A request
//! without a session is an end user.

use serde::Serialize;

/// Who is calling; roles come only from the verified session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Role {
    /// An administrator.
    Admin,
    /// Staff (agents).
    Staff,
    /// Anyone else, including callers without a session.
    EndUser,
}

impl Role {
    /// The role of a verified session from the roles the origin named at
    /// login: admin wins over staff; anything else is an end user.
    pub fn from_session_roles(roles: &[String]) -> Self {
        let has = |r: &str| roles.iter().any(|x| x.trim().eq_ignore_ascii_case(r));
        if has("admin") {
            Self::Admin
        } else if has("staff") {
            Self::Staff
        } else {
            Self::EndUser
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_from_the_session() {
        assert_eq!(
            Role::from_session_roles(&["staff".into(), "Admin".into()]),
            Role::Admin
        );
        assert_eq!(Role::from_session_roles(&["staff".into()]), Role::Staff);
        assert_eq!(Role::from_session_roles(&[]), Role::EndUser);
    }
}
