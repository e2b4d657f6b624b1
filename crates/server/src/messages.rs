//! Localised text of error messages and SMS texts: every message comes from dukkan-core's
//! [`Localizer`], which embeds `i18n/{en,ar}/*.ftl` (the server's own messages are in
//! `server.ftl` there), the one source of text of the product.

use dukkan_core::i18n::{Locale, Localizer};
use dukkan_core::LocalizedMessage;

/// Formats `message` in `locale`, falling back to English and finally to the id.
pub fn format(locale: Locale, message: &LocalizedMessage) -> String {
    Localizer::global().format_message(locale, message)
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
    use dukkan_core::MessageArg;

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
