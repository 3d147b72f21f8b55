//! Timestamps are stored as naive UTC and spoken as RFC 3339 with `Z`.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(value: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&value.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// Accepts any RFC 3339 time with an offset and converts it to UTC.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

pub fn parse(text: &str) -> Result<NaiveDateTime, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc).naive_utc())
        .map_err(|_| format!("{text:?} is not an RFC 3339 timestamp (e.g. 2026-03-01T00:00:00Z)"))
}

/// For PATCH bodies: absent is `None`, null is `Some(None)` (clear it).
pub fn patch<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<NaiveDateTime>>, D::Error> {
    option::deserialize(d).map(Some)
}

/// The same for optional fields.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => super::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        Option::<String>::deserialize(d)?.map(|t| parse(&t).map_err(serde::de::Error::custom)).transpose()
    }
}
