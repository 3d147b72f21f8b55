//! A moment in time as the service keeps it: UTC, stored without an offset
//! (both backends' `TIMESTAMP`), spoken as RFC 3339 with `Z`, read from any
//! RFC 3339 offset. One type instead of an attribute pair on every field.

use std::fmt;
use std::ops::{Add, Sub};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(
    Debug,
    Default,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Timestamp)]
pub struct Timestamp(NaiveDateTime);

impl Timestamp {
    /// Now, to the microsecond: what both backends keep.
    pub fn now() -> Self {
        use chrono::DurationRound;
        let now = Utc::now().naive_utc();
        Timestamp(now.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(now))
    }

    pub fn from_naive_utc(naive: NaiveDateTime) -> Self {
        Timestamp(naive)
    }

    pub fn naive_utc(self) -> NaiveDateTime {
        self.0
    }

    pub fn and_utc(self) -> DateTime<Utc> {
        self.0.and_utc()
    }

    /// chrono's `strftime` formatting of the UTC time.
    pub fn format<'a>(&self, pattern: &'a str) -> impl fmt::Display + 'a {
        self.0.format(pattern)
    }

    /// Parses RFC 3339 with any offset; the error says what was expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(text).map(|t| Timestamp(t.with_timezone(&Utc).naive_utc())).map_err(
            |_| {
                format!("{:?} is not an RFC 3339 timestamp (e.g. 2026-03-01T00:00:00Z)", super::excerpt(text))
            },
        )
    }

    /// Microseconds since 1970: the form the PostgreSQL vote path reads back
    /// from JSON (whose text form of a time past 9999 chrono cannot read).
    pub fn from_micros(micros: i64) -> Option<Self> {
        DateTime::from_timestamp_micros(micros).map(|t| Timestamp(t.naive_utc()))
    }
}

/// Reads an optional time given as microseconds since 1970 (see `from_micros`).
pub fn micros_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    Option::<i64>::deserialize(d)?
        .map(|micros| {
            Timestamp::from_micros(micros)
                .ok_or_else(|| serde::de::Error::custom(format!("{micros} µs is out of range for a time")))
        })
        .transpose()
}

impl From<NaiveDateTime> for Timestamp {
    fn from(naive: NaiveDateTime) -> Self {
        Timestamp(naive)
    }
}

impl From<Timestamp> for NaiveDateTime {
    fn from(t: Timestamp) -> Self {
        t.0
    }
}

impl Add<TimeDelta> for Timestamp {
    type Output = Timestamp;
    fn add(self, delta: TimeDelta) -> Timestamp {
        Timestamp(self.0 + delta)
    }
}

impl Sub<TimeDelta> for Timestamp {
    type Output = Timestamp;
    fn sub(self, delta: TimeDelta) -> Timestamp {
        Timestamp(self.0 - delta)
    }
}

impl Sub for Timestamp {
    type Output = TimeDelta;
    fn sub(self, earlier: Timestamp) -> TimeDelta {
        self.0 - earlier.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339, in UTC (`Z`); any offset is accepted on input."))
            .examples([serde_json::json!("2026-03-01T00:00:00Z")])
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Timestamp, DB> for Timestamp
where
    DB: diesel::backend::Backend,
    NaiveDateTime: diesel::deserialize::FromSql<diesel::sql_types::Timestamp, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        <NaiveDateTime as diesel::deserialize::FromSql<diesel::sql_types::Timestamp, DB>>::from_sql(bytes)
            .map(Timestamp)
    }
}

impl<DB> diesel::serialize::ToSql<diesel::sql_types::Timestamp, DB> for Timestamp
where
    DB: diesel::backend::Backend,
    NaiveDateTime: diesel::serialize::ToSql<diesel::sql_types::Timestamp, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
        <NaiveDateTime as diesel::serialize::ToSql<diesel::sql_types::Timestamp, DB>>::to_sql(&self.0, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spoken_in_utc_read_from_any_offset() {
        let t = Timestamp::parse("2026-03-01T08:00:00+08:00").unwrap();
        assert_eq!(t.to_string(), "2026-03-01T00:00:00Z");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"2026-03-01T00:00:00Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>("\"2026-03-01T00:00:00Z\"").unwrap(), t);
        let with_micros = Timestamp::parse("2026-03-01T00:00:00.123456Z").unwrap();
        assert_eq!(with_micros.to_string(), "2026-03-01T00:00:00.123456Z");
    }

    #[test]
    fn a_bad_time_says_what_was_expected_without_echoing_a_megabyte() {
        let error = Timestamp::parse("yesterday").unwrap_err();
        assert!(error.contains("RFC 3339") && error.contains("yesterday"), "{error}");
        let long = Timestamp::parse(&"9".repeat(100_000)).unwrap_err();
        assert!(long.len() < 200, "{}", long.len());
    }

    #[test]
    fn now_keeps_what_the_databases_keep() {
        use chrono::Timelike;
        assert_eq!(Timestamp::now().naive_utc().nanosecond() % 1_000, 0);
    }
}
