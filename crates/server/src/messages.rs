//! Localised text of error messages.
//!
//! Domain messages (validation, phone taken, ...) come from dukkan-core's [`Localizer`], the one
//! source of text of the product. The server's own messages (authentication, malformed requests)
//! are not in `i18n/` yet; until they move there they live in `crates/server/i18n/*/server.ftl`,
//! are embedded here, and a test keeps English and Arabic holding the same ids.

use dukkan_core::i18n::{Locale, Localizer};
use dukkan_core::{LocalizedMessage, MessageArg};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::OnceLock;

const EN: &str = include_str!("../i18n/en/server.ftl");
const AR: &str = include_str!("../i18n/ar/server.ftl");

struct ServerBundles {
    en: FluentBundle<FluentResource>,
    ar: FluentBundle<FluentResource>,
}

fn bundle(lang: unic_langid::LanguageIdentifier, text: &str) -> FluentBundle<FluentResource> {
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    bundle.set_use_isolating(false);
    // A syntax error keeps the parsed part; the test below fails on any error.
    let resource = FluentResource::try_new(text.to_owned()).unwrap_or_else(|(partial, _)| partial);
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(?errors, "server messages define an id twice");
    }
    bundle
}

fn server_bundles() -> &'static ServerBundles {
    static BUNDLES: OnceLock<ServerBundles> = OnceLock::new();
    BUNDLES.get_or_init(|| ServerBundles {
        en: bundle(unic_langid::langid!("en"), EN),
        ar: bundle(unic_langid::langid!("ar"), AR),
    })
}

/// Formats `message` in `locale`: dukkan-core's messages first, then the server's own, falling
/// back to English and finally to the id.
pub fn format(locale: Locale, message: &LocalizedMessage) -> String {
    let core = Localizer::global();
    if core.has(locale, &message.id) || core.has(Locale::En, &message.id) {
        return core.format_message(locale, message);
    }
    let bundles = server_bundles();
    let mut args = FluentArgs::new();
    for (name, arg) in &message.args {
        let value = match arg {
            MessageArg::Text(t) => FluentValue::from(t.clone()),
            MessageArg::Number(n) => FluentValue::from(*n),
            MessageArg::Message(m) => {
                FluentValue::from(format(locale, &LocalizedMessage::new(m.clone())))
            }
        };
        args.set(name.clone(), value);
    }
    let first = match locale {
        Locale::En => &bundles.en,
        Locale::Ar => &bundles.ar,
    };
    for b in [first, &bundles.en] {
        if let Some(pattern) = b.get_message(&message.id).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            return b
                .format_pattern(pattern, Some(&args), &mut errors)
                .into_owned();
        }
    }
    message.id.clone()
}

/// The locale asked for by an `Accept-Language` header: the highest-weighted language the
/// product speaks, English when none.
pub fn negotiate(accept_language: Option<&str>) -> Locale {
    let Some(header) = accept_language else {
        return Locale::En;
    };
    let mut best: Option<(f32, Locale)> = None;
    for part in header.split(',').take(20) {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or("").trim();
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Some(locale) = Locale::parse(tag) {
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, locale));
            }
        }
    }
    best.map(|(_, l)| l).unwrap_or(Locale::En)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ids(text: &str) -> BTreeSet<String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && l.contains(" = "))
            .filter_map(|l| l.split(" = ").next().map(str::to_owned))
            .collect()
    }

    #[test]
    fn server_messages_parse_and_exist_in_english_and_arabic_alike() {
        assert!(FluentResource::try_new(EN.to_owned()).is_ok());
        assert!(FluentResource::try_new(AR.to_owned()).is_ok());
        assert_eq!(ids(EN), ids(AR));
        assert!(ids(EN).len() > 10);
    }

    #[test]
    fn server_messages_do_not_shadow_core_messages() {
        let core = dukkan_core::i18n::message_ids(Locale::En);
        for id in ids(EN) {
            assert!(!core.contains(&id), "{id} is defined twice");
        }
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(negotiate(None), Locale::En);
        assert_eq!(negotiate(Some("ar")), Locale::Ar);
        assert_eq!(negotiate(Some("ar-OM,ar;q=0.9,en;q=0.8")), Locale::Ar);
        assert_eq!(negotiate(Some("fr-FR, en;q=0.5, ar;q=0.7")), Locale::Ar);
        assert_eq!(negotiate(Some("fr, de")), Locale::En);
        assert_eq!(negotiate(Some("ar;q=0")), Locale::En);
        assert_eq!(negotiate(Some(";;;,,=q")), Locale::En);
    }

    #[test]
    fn core_and_server_messages_are_both_localised() {
        let m = LocalizedMessage::new("server-error-forbidden");
        assert_eq!(format(Locale::Ar, &m), "صلاحيات دورك لا تسمح بهذا الإجراء.");
        let m = LocalizedMessage::new("error-phone-taken");
        assert_eq!(
            format(Locale::En, &m),
            "Another active customer already has this phone number."
        );
        let m = LocalizedMessage::new("server-error-invalid-pin")
            .with("min", MessageArg::Number(4.0))
            .with("max", MessageArg::Number(64.0));
        assert_eq!(
            format(Locale::En, &m),
            "The PIN must have between 4 and 64 characters."
        );
    }
}
