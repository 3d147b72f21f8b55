//! Closed sets of words stored in text columns (statuses, kinds, scopes):
//! declared once with [`text_enum!`], which gives each the same spelling in
//! JSON, in the OpenAPI document and in the database.

use std::fmt;

/// A stored word that names no variant: the database holds something this
/// build never writes. Reading it is an error, never a silent default, and the
/// message says where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownText {
    pub table: &'static str,
    pub column: &'static str,
    pub value: String,
    pub allowed: &'static [&'static str],
}

impl fmt::Display for UnknownText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let UnknownText { table, column, value, allowed } = self;
        write!(
            f,
            "{table}.{column} holds {value:?}, which this version does not know ({}); \
             find the row with: SELECT id FROM {table} WHERE {column} NOT IN ('{}')",
            allowed.join(", "),
            allowed.join("', '"),
        )
    }
}

impl std::error::Error for UnknownText {}

/// Declares an enum of words kept in one text column. Each variant names its
/// word; the macro derives serde (as that word), utoipa (a string enum) and
/// diesel `FromSql`/`ToSql` for `Text` on every backend, plus `ALL`,
/// `as_str`, `parse` and `Display`. Reading an unknown word fails with
/// [`UnknownText`].
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident in $table:literal . $column:literal {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        // utoipa does not read a variant's `rename` when the word comes in
        // through the macro: the words are snake_case names of the variants,
        // and this says so to both (the test below holds them together).
        #[serde(rename_all = "snake_case")]
        $vis enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const WORDS: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                Self::parse(&text).ok_or_else(|| {
                    Box::new($crate::domain::text::UnknownText {
                        table: $table,
                        column: $column,
                        value: text,
                        allowed: Self::WORDS,
                    }) as Box<dyn std::error::Error + Send + Sync>
                })
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.as_str(), out)
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use super::*;

    text_enum!(
        enum Colour in "paints"."colour" { Red = "red", DeepBlue = "deep_blue" }
    );

    #[test]
    fn words_round_trip_through_text_and_json() {
        for colour in Colour::ALL {
            assert_eq!(Colour::parse(colour.as_str()), Some(*colour));
            let json = serde_json::to_string(colour).unwrap();
            assert_eq!(json, format!("\"{colour}\""));
        }
        assert_eq!(Colour::parse("Red"), None);
        assert!(serde_json::from_str::<Colour>("\"purple\"").is_err());
    }

    fn schema_words<T: utoipa::PartialSchema>() -> serde_json::Value {
        serde_json::to_value(T::schema()).unwrap()["enum"].clone()
    }

    #[test]
    fn the_openapi_document_spells_the_words_as_stored() {
        use crate::domain::{campaign::CampaignStatus, round::Scope, scoring::Aggregate};
        assert_eq!(schema_words::<Colour>(), serde_json::json!(Colour::WORDS));
        assert_eq!(schema_words::<CampaignStatus>(), serde_json::json!(CampaignStatus::WORDS));
        assert_eq!(schema_words::<Aggregate>(), serde_json::json!(Aggregate::WORDS));
        assert_eq!(schema_words::<Scope>(), serde_json::json!(Scope::WORDS));
    }

    #[test]
    fn an_unknown_word_names_the_column_and_how_to_find_the_row() {
        let error =
            UnknownText { table: "paints", column: "colour", value: "purple".into(), allowed: Colour::WORDS };
        let message = error.to_string();
        assert!(message.contains("paints.colour holds \"purple\""), "{message}");
        assert!(message.contains("WHERE colour NOT IN ('red', 'deep_blue')"), "{message}");
    }
}
