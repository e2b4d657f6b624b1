//! Fluent messages embedded from `i18n/{en,ar}/*.ftl`, the one source of text for Rust and the UI.
//!
//! Bundles are the concurrent kind, so one [`Localizer`] serves every thread (server handlers,
//! the device's export). A message missing in the requested language falls back to English, and
//! a test keeps both languages holding exactly the same message ids.

use crate::error::{LocalizedMessage, MessageArg};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// A language the product speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    En,
    Ar,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Ar];

    /// BCP 47 tag (`en`, `ar`).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ar => "ar",
        }
    }

    /// Writing direction for `<html dir>`.
    pub fn dir(self) -> &'static str {
        match self {
            Locale::En => "ltr",
            Locale::Ar => "rtl",
        }
    }

    /// Parses a tag such as `ar`, `ar-OM`, `en-GB`; anything else is `None`.
    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "ar" => Some(Locale::Ar),
            _ => None,
        }
    }
}

/// One embedded `.ftl` file: its locale, file name and text.
pub struct Source {
    pub locale: Locale,
    pub file: &'static str,
    pub text: &'static str,
}

macro_rules! sources {
    ($($locale:ident $tag:literal [$($file:literal),*]);*) => {
        /// Every embedded `.ftl` file. A test checks this list against the `i18n/` directory.
        pub const SOURCES: &[Source] = &[
            $($(Source {
                locale: Locale::$locale,
                file: $file,
                text: include_str!(concat!("../../../i18n/", $tag, "/", $file)),
            },)*)*
        ];
    };
}

sources! {
    En "en" ["errors.ftl", "customers.ftl", "ui.ftl", "server.ftl"];
    Ar "ar" ["errors.ftl", "customers.ftl", "ui.ftl", "server.ftl"]
}

/// Formats messages in either language.
pub struct Localizer {
    en: FluentBundle<FluentResource>,
    ar: FluentBundle<FluentResource>,
}

/// A problem in an embedded `.ftl` file (a build defect, caught by the tests).
#[derive(Debug, thiserror::Error)]
#[error("i18n/{locale}/{file}: {detail}")]
pub struct LoadError {
    pub locale: &'static str,
    pub file: &'static str,
    pub detail: String,
}

impl Localizer {
    /// Builds the bundles from [`SOURCES`].
    pub fn load() -> Result<Self, LoadError> {
        let build = |locale: Locale| -> Result<FluentBundle<FluentResource>, LoadError> {
            let lang = match locale {
                Locale::En => unic_langid::langid!("en"),
                Locale::Ar => unic_langid::langid!("ar"),
            };
            let mut bundle = FluentBundle::new_concurrent(vec![lang]);
            // Direction isolation is done by the UI (`<bdi>`/`dir="ltr"` around phones); marks
            // inside CSV headers or SMS text would only be noise.
            bundle.set_use_isolating(false);
            for source in SOURCES.iter().filter(|s| s.locale == locale) {
                let err = |detail: String| LoadError {
                    locale: locale.tag(),
                    file: source.file,
                    detail,
                };
                let resource = FluentResource::try_new(source.text.to_owned())
                    .map_err(|(_, errors)| err(format!("{errors:?}")))?;
                bundle
                    .add_resource(resource)
                    .map_err(|errors| err(format!("{errors:?}")))?;
            }
            Ok(bundle)
        };
        Ok(Self {
            en: build(Locale::En)?,
            ar: build(Locale::Ar)?,
        })
    }

    /// The process-wide localizer. The embedded files are checked by tests, so a failure to
    /// load them is a build defect; it is reported once and leaves an empty English bundle.
    pub fn global() -> &'static Localizer {
        static GLOBAL: OnceLock<Localizer> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            Localizer::load().unwrap_or_else(|e| {
                eprintln!("dukkan: embedded translations are broken: {e}");
                let empty = || FluentBundle::new_concurrent(vec![unic_langid::langid!("en")]);
                Localizer {
                    en: empty(),
                    ar: empty(),
                }
            })
        })
    }

    fn bundle(&self, locale: Locale) -> &FluentBundle<FluentResource> {
        match locale {
            Locale::En => &self.en,
            Locale::Ar => &self.ar,
        }
    }

    /// True when `id` exists in `locale`.
    pub fn has(&self, locale: Locale, id: &str) -> bool {
        self.bundle(locale).has_message(id)
    }

    /// Formats `id` with plain arguments. Falls back to English, then to the id itself.
    pub fn format(&self, locale: Locale, id: &str, args: &[(&str, MessageArg)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, arg) in args {
            let value = match arg {
                MessageArg::Text(t) => FluentValue::from(t.clone()),
                MessageArg::Number(n) => FluentValue::from(*n),
                MessageArg::Message(m) => FluentValue::from(self.format(locale, m, &[])),
            };
            fluent_args.set(name.to_string(), value);
        }
        for bundle in [self.bundle(locale), &self.en] {
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return bundle
                    .format_pattern(pattern, Some(&fluent_args), &mut errors)
                    .into_owned();
            }
        }
        id.to_owned()
    }

    /// Formats a [`LocalizedMessage`] (an error's message).
    pub fn format_message(&self, locale: Locale, message: &LocalizedMessage) -> String {
        let args: Vec<(&str, MessageArg)> = message
            .args
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        self.format(locale, &message.id, &args)
    }
}

/// The message ids (and `id.attribute` names) defined for `locale` in the embedded files.
pub fn message_ids(locale: Locale) -> BTreeSet<String> {
    use fluent_syntax::ast::Entry;
    let mut ids = BTreeSet::new();
    for source in SOURCES.iter().filter(|s| s.locale == locale) {
        let Ok(resource) = fluent_syntax::parser::parse(source.text) else {
            continue;
        };
        for entry in resource.body {
            let (id, attributes) = match entry {
                Entry::Message(m) => (m.id.name.to_owned(), m.attributes),
                Entry::Term(t) => (format!("-{}", t.id.name), t.attributes),
                _ => continue,
            };
            for a in attributes {
                ids.insert(format!("{id}.{}", a.id.name));
            }
            ids.insert(id);
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Field, ValidationError};

    #[test]
    fn every_embedded_file_parses_without_errors() {
        for s in SOURCES {
            if let Err((_, errors)) = FluentResource::try_new(s.text.to_owned()) {
                panic!("i18n/{}/{} has errors: {errors:?}", s.locale.tag(), s.file);
            }
        }
        assert!(Localizer::load().is_ok());
    }

    #[test]
    fn english_and_arabic_define_exactly_the_same_message_ids() {
        let en = message_ids(Locale::En);
        let ar = message_ids(Locale::Ar);
        let only_en: Vec<_> = en.difference(&ar).collect();
        let only_ar: Vec<_> = ar.difference(&en).collect();
        assert!(
            only_en.is_empty() && only_ar.is_empty(),
            "only in en: {only_en:?}; only in ar: {only_ar:?}"
        );
        assert!(en.len() > 20);
    }

    #[test]
    fn the_embedded_list_matches_the_files_in_the_i18n_directory() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../i18n");
        for locale in Locale::ALL {
            let mut on_disk: Vec<String> = std::fs::read_dir(root.join(locale.tag()))
                .expect("i18n dir")
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|f| f.ends_with(".ftl"))
                .collect();
            let mut embedded: Vec<String> = SOURCES
                .iter()
                .filter(|s| s.locale == locale)
                .map(|s| s.file.to_owned())
                .collect();
            on_disk.sort();
            embedded.sort();
            assert_eq!(on_disk, embedded, "add new .ftl files to the sources! list");
        }
    }

    #[test]
    fn validation_errors_format_with_localised_field_labels() {
        let l = Localizer::load().unwrap();
        let err = ValidationError::TooLong {
            field: Field::FirstName,
            max: 100,
        };
        assert_eq!(
            l.format_message(Locale::En, &err.message()),
            "First name must be at most 100 characters."
        );
        assert_eq!(
            l.format_message(Locale::Ar, &err.message()),
            "يجب ألا يزيد الاسم الأول عن 100 حرفاً."
        );
    }

    #[test]
    fn every_validation_error_and_field_label_has_text_in_both_languages() {
        let l = Localizer::load().unwrap();
        let fields = [
            Field::FirstName,
            Field::LastName,
            Field::Name2,
            Field::Phone,
            Field::Email,
            Field::Label,
            Field::Building,
            Field::Floor,
            Field::Apartment,
            Field::Street,
            Field::Area,
            Field::City,
            Field::Country,
            Field::PostalCode,
            Field::Latitude,
            Field::Longitude,
            Field::DeliveryNotes,
            Field::Fragrance,
            Field::CustomerNumber,
            Field::Query,
            Field::StaffName,
            Field::Ticket,
            Field::Amount,
            Field::Pieces,
            Field::OrderNote,
            Field::Points,
            Field::Reason,
        ];
        let errors = [
            ValidationError::Required(Field::Phone),
            ValidationError::TooLong {
                field: Field::Street,
                max: 1,
            },
            ValidationError::ControlCharacter(Field::City),
            ValidationError::BidiControl(Field::City),
            ValidationError::InvalidPhone,
            ValidationError::InvalidEmail,
            ValidationError::OutOfRange(Field::Latitude),
            ValidationError::NotANumber(Field::Longitude),
            ValidationError::IncompleteGps,
            ValidationError::InvalidCountry,
            ValidationError::InvalidCustomerNumber,
        ];
        for locale in Locale::ALL {
            for f in fields {
                assert!(
                    l.has(locale, &f.label_id()),
                    "{} missing in {}",
                    f.label_id(),
                    locale.tag()
                );
            }
            for e in &errors {
                assert!(
                    l.has(locale, &e.message().id),
                    "{} missing in {}",
                    e.message().id,
                    locale.tag()
                );
            }
        }
    }

    #[test]
    fn every_refusal_of_the_customer_rules_has_text_in_both_languages() {
        let l = Localizer::load().unwrap();
        let mut ids: Vec<String> = crate::rules::Refusal::catalogue()
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        ids.extend(["error-sequence-conflict".into(), "error-invalid-op".into()]);
        for locale in Locale::ALL {
            for id in &ids {
                assert!(l.has(locale, id), "{id} missing in {}", locale.tag());
            }
        }
    }

    #[test]
    fn unknown_ids_fall_back_to_the_id_and_locales_parse_from_tags() {
        let l = Localizer::global();
        assert_eq!(
            l.format(Locale::Ar, "no-such-message", &[]),
            "no-such-message"
        );
        assert_eq!(Locale::parse("ar-OM"), Some(Locale::Ar));
        assert_eq!(Locale::parse("EN_gb"), Some(Locale::En));
        assert_eq!(Locale::parse("fr"), None);
        assert_eq!(Locale::Ar.dir(), "rtl");
    }

    #[test]
    fn bundles_are_shared_across_threads() {
        let l = Localizer::global();
        let handles: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(move || l.format(Locale::Ar, "customer-guest-name", &[])))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), "عميل عابر");
        }
    }
}
