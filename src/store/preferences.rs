//! What a person chose for themselves in the console: its language, and
//! signing out (which ends every console session they began before).

use diesel::prelude::*;

use crate::db::schema::users;
use crate::db::DbConn;
use crate::domain::time::Timestamp;
use crate::i18n::Lang;

pub fn lang(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<Lang>> {
    let tag: Option<Option<String>> =
        users::table.find(user_id).select(users::lang).first(conn).optional()?;
    Ok(tag.flatten().as_deref().and_then(Lang::from_tag))
}

pub fn set_lang(conn: &mut DbConn, user_id: i64, lang: Lang) -> QueryResult<()> {
    diesel::update(users::table.find(user_id)).set(users::lang.eq(lang.tag())).execute(conn)?;
    Ok(())
}

/// Every console session of the person begun before `at` is over.
pub fn sign_out_console(conn: &mut DbConn, user_id: i64, at: Timestamp) -> QueryResult<()> {
    diesel::update(users::table.find(user_id)).set(users::console_signed_out_at.eq(at)).execute(conn)?;
    Ok(())
}
