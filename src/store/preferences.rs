//! What a person chose for themselves: the console's language.

use diesel::prelude::*;

use crate::db::schema::users;
use crate::db::DbConn;
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
