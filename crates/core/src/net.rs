//! The addresses a till may fetch from: its tenant server and its update feed.
//!
//! One rule for both: `https://` (the certificate is verified), or plain `http://` to this
//! computer only. Over plain http on the shop's network anyone on that network could answer in
//! the server's place. An update feed is also signed (the app verifies every package against
//! the key it was built with), but a feed on plain http could still be used to hold a till back.

use crate::error::{Field, ValidationError};

/// Longest address accepted.
pub const URL_MAX_CHARS: usize = 2048;

/// How a URL would be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `https://` with a host.
    Secure,
    /// `http://` to this computer (`localhost`, `127.0.0.0/8`, `::1`).
    Loopback,
    /// `http://` to another computer.
    Insecure,
    /// Another scheme, or no host.
    Unsupported,
}

/// How `url` would be reached.
pub fn transport(url: &url::Url) -> Transport {
    let loopback = url.host().is_some_and(|host| match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    });
    match url.scheme() {
        "https" if url.host().is_some() => Transport::Secure,
        "http" if url.host().is_some() && loopback => Transport::Loopback,
        "http" if url.host().is_some() => Transport::Insecure,
        _ => Transport::Unsupported,
    }
}

/// The update feed a shop's tills ask for new versions, as typed by a manager or configured on
/// the tenant server: an absolute `https://` URL (or `http://` to this computer), without a
/// user name or password (they would be kept on every till). It may hold the updater's
/// placeholders `{{target}}`, `{{arch}}`, `{{current_version}}` and `{{bundle_type}}`.
/// Returns the trimmed text.
pub fn update_feed(input: &str) -> Result<String, ValidationError> {
    let field = Field::UpdateFeed;
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::Required(field));
    }
    if trimmed.chars().count() > URL_MAX_CHARS {
        return Err(ValidationError::TooLong {
            field,
            max: URL_MAX_CHARS,
        });
    }
    if trimmed.chars().any(crate::text::is_bidi_control) {
        return Err(ValidationError::BidiControl(field));
    }
    if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ValidationError::ControlCharacter(field));
    }
    let url = url::Url::parse(trimmed).map_err(|_| ValidationError::InvalidUrl(field))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ValidationError::InvalidUrl(field));
    }
    match transport(&url) {
        Transport::Secure | Transport::Loopback => Ok(trimmed.to_owned()),
        Transport::Insecure => Err(ValidationError::InsecureUrl(field)),
        Transport::Unsupported => Err(ValidationError::InvalidUrl(field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_feed_is_https_or_plain_http_to_this_computer() {
        for ok in [
            "https://updates.dukkan.om/desk/{{target}}/{{arch}}/{{current_version}}",
            "  https://updates.dukkan.om/latest.json ",
            "https://10.0.0.5:8443/latest.json",
            "http://127.0.0.1:8080/latest.json",
            "http://localhost:8080/latest.json",
            "http://[::1]:8080/latest.json",
        ] {
            assert_eq!(update_feed(ok), Ok(ok.trim().to_owned()), "{ok}");
        }
        for insecure in [
            "http://192.168.1.10/latest.json",
            "http://updates.dukkan.om/latest.json",
            "HTTP://updates.dukkan.om/latest.json",
            "http://127.0.0.1.evil.example/latest.json",
        ] {
            assert_eq!(
                update_feed(insecure),
                Err(ValidationError::InsecureUrl(Field::UpdateFeed)),
                "{insecure}"
            );
        }
    }

    #[test]
    fn a_hostile_or_malformed_update_feed_is_refused_with_a_reason() {
        let field = Field::UpdateFeed;
        assert_eq!(update_feed("  "), Err(ValidationError::Required(field)));
        assert_eq!(
            update_feed(&format!("https://a.om/{}", "x".repeat(10_000))),
            Err(ValidationError::TooLong {
                field,
                max: URL_MAX_CHARS
            })
        );
        assert_eq!(
            update_feed("https://a.om/\u{202E}nosj.tsetal"),
            Err(ValidationError::BidiControl(field))
        );
        for control in [
            "https://a.om/\u{0}",
            "https://a.om/x\ny",
            "https://a.om/a b",
        ] {
            assert_eq!(
                update_feed(control),
                Err(ValidationError::ControlCharacter(field)),
                "{control:?}"
            );
        }
        for bad in [
            "updates.dukkan.om/latest.json",
            "ftp://updates.dukkan.om/latest.json",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://",
            "https://user:secret@updates.dukkan.om/latest.json",
            "{\"url\":1}",
        ] {
            assert_eq!(
                update_feed(bad),
                Err(ValidationError::InvalidUrl(field)),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_transport_of_a_url_says_whether_it_leaves_this_computer_in_clear() {
        let of = |s: &str| transport(&url::Url::parse(s).unwrap());
        assert_eq!(of("https://shop.example.om"), Transport::Secure);
        assert_eq!(of("http://127.0.0.2:80"), Transport::Loopback);
        assert_eq!(of("http://LOCALHOST"), Transport::Loopback);
        assert_eq!(of("http://shop.example.om"), Transport::Insecure);
        assert_eq!(of("ftp://shop.example.om"), Transport::Unsupported);
    }
}
