//! The message catalog: every word a person reads, in zh-CN (first) and
//! English, kept as Fluent files in `locales/`. Pages, problem details and
//! field messages look their words up here by key.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{static_loader, LanguageIdentifier, Loader};

static_loader! {
    static LOCALES = {
        locales: "./src/i18n/locales",
        fallback_language: "zh-CN",
        // Fluent wraps every argument in invisible direction marks by default;
        // both languages here run left to right, and the marks would end up
        // in page text, exports and tests.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language the service speaks. zh-CN is the default and the fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    ZhCn,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// The tag for `lang="…"`, cookies and the stored preference.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Reads a tag as people and browsers write it: `zh`, `zh-CN`,
    /// `zh-Hans-CN`, `en`, `en-GB`… Anything else is not ours.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::ZhCn),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The best of ours in an `Accept-Language` header, by its q-values.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let Some(lang) = pieces.next().and_then(Lang::from_tag) else { continue };
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    fn id(self) -> LanguageIdentifier {
        self.tag().parse().expect("the tags of Lang are valid language identifiers")
    }

    /// The message for `key`. A missing key shows as the key itself (and the
    /// catalog test fails), never as an empty string.
    pub fn t(self, key: &str) -> String {
        LOCALES.try_lookup(&self.id(), key).unwrap_or_else(|| key.to_owned())
    }

    /// The message for `key` with its arguments.
    pub fn t_args<'a>(self, key: &str, args: &[(&'a str, Arg<'a>)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'a>> = args
            .iter()
            .map(|(name, value)| (Cow::Owned((*name).to_owned()), value.clone().into_fluent()))
            .collect();
        LOCALES.try_lookup_with_args(&self.id(), key, &args).unwrap_or_else(|| key.to_owned())
    }

    /// Whether the catalog has `key` in this language (not only by fallback).
    pub fn has(self, key: &str) -> bool {
        catalog_keys(self).iter().any(|k| k == key)
    }
}

/// A message argument: text, or a number Fluent may format or choose a plural by.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Text(Cow<'a, str>),
    Number(i64),
}

impl<'a> Arg<'a> {
    fn into_fluent(self) -> FluentValue<'a> {
        match self {
            Arg::Text(text) => FluentValue::String(text),
            Arg::Number(n) => FluentValue::from(n),
        }
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(text: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(text))
    }
}

impl From<String> for Arg<'_> {
    fn from(text: String) -> Self {
        Arg::Text(Cow::Owned(text))
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Number(n)
    }
}

/// The message ids of one language's catalog file, in file order.
pub fn catalog_keys(lang: Lang) -> Vec<String> {
    let source = match lang {
        Lang::ZhCn => include_str!("locales/zh-CN.ftl"),
        Lang::En => include_str!("locales/en.ftl"),
    };
    source
        .lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter_map(|line| line.split_once('=').map(|(id, _)| id.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn both_languages_have_every_key() {
        let zh: BTreeSet<String> = catalog_keys(Lang::ZhCn).into_iter().collect();
        let en: BTreeSet<String> = catalog_keys(Lang::En).into_iter().collect();
        assert!(zh.len() > 20, "the catalog was not read: {zh:?}");
        let only_zh: Vec<_> = zh.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&zh).collect();
        assert!(only_zh.is_empty() && only_en.is_empty(), "only zh-CN: {only_zh:?}; only en: {only_en:?}");
        for key in &zh {
            for lang in Lang::ALL {
                assert!(!lang.t(key).trim().is_empty(), "{key} is empty in {}", lang.tag());
            }
        }
    }

    #[test]
    fn no_key_is_defined_twice() {
        for lang in Lang::ALL {
            let keys = catalog_keys(lang);
            let unique: BTreeSet<&String> = keys.iter().collect();
            assert_eq!(unique.len(), keys.len(), "a key repeats in {}", lang.tag());
        }
    }

    #[test]
    fn chinese_first_and_arguments_without_marks() {
        assert_eq!(Lang::default(), Lang::ZhCn);
        let text =
            Lang::ZhCn.t_args("quota-left", &[("used", 2.into()), ("quota", 5.into()), ("left", 3.into())]);
        assert!(text.contains('2') && text.contains('5'), "{text}");
        assert!(!text.contains('\u{2068}'), "no isolation marks: {text:?}");
        assert_eq!(Lang::En.t("missing-key-for-test"), "missing-key-for-test");
    }

    #[test]
    fn accept_language_picks_ours_by_quality() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("fr;q=1, zh-Hans-CN;q=0.5"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_accept_language("de, fr"), None);
        assert_eq!(Lang::from_accept_language("en;q=0, zh;q=0.1"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_tag("ZH_cn"), Some(Lang::ZhCn));
    }
}
