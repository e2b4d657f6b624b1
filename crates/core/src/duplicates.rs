//! Likely duplicates a manager may want to merge, found the same way wherever the list lives.
//!
//! Two customers are likely the same person when:
//! - they have the same phone (after normalisation to E.164) — an active customer and a
//!   deactivated one (a returning customer who was given a second record), or two records
//!   that came in with the phone written differently;
//! - they have the same name tokens, in Arabic or in Latin letters (folded: hamza forms, ta
//!   marbuta, case, accents; in any order), and phones one digit apart (a typo at the counter:
//!   one digit wrong, or two neighbours swapped).
//!
//! Walk-in guests carry no name or phone, so they never look alike; they are merged by hand
//! (a guest merged into a named customer hands over its orders).
//!
//! The customer suggested to stay is the more complete one: a full profile before a stub
//! before a guest, then an active one, then the one with more orders, then the older one.

use crate::customer::CustomerKind;
use crate::ids::CustomerId;
use crate::search::search_tokens;
use std::collections::HashMap;

/// Most pairs one look returns (the manager works through them and looks again).
pub const MAX_PAIRS: usize = 200;

/// A customer as the duplicate finder sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: CustomerId,
    pub kind: CustomerKind,
    pub active: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name2: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub order_count: i64,
    /// Creation time as sortable text (RFC 3339) — older first.
    pub created_at: String,
}

/// Why two customers look like one person.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum DuplicateReason {
    SamePhone,
    SameNameNearPhone,
}

/// A likely duplicate: `keep` is suggested to stay, `duplicate` to be merged into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub keep: CustomerId,
    pub duplicate: CustomerId,
    pub reason: DuplicateReason,
}

/// The order in which a pair's customers are suggested: the greater one stays.
pub fn rank(c: &Candidate) -> (u8, bool, i64, std::cmp::Reverse<&str>) {
    let kind = match c.kind {
        CustomerKind::Full => 2,
        CustomerKind::Stub => 1,
        CustomerKind::Guest => 0,
    };
    (
        kind,
        c.active,
        c.order_count,
        std::cmp::Reverse(c.created_at.as_str()),
    )
}

/// The name keys of a customer: its Latin-or-Arabic first and last name, and its second name
/// (the other script), each as sorted folded tokens. Empty keys are left out.
fn name_keys(c: &Candidate) -> Vec<String> {
    let key = |parts: &[Option<&str>]| {
        let mut tokens: Vec<String> = parts
            .iter()
            .flatten()
            .flat_map(|p| search_tokens(p))
            .collect();
        tokens.sort();
        tokens.join(" ")
    };
    [
        key(&[c.first_name.as_deref(), c.last_name.as_deref()]),
        key(&[c.name2.as_deref()]),
    ]
    .into_iter()
    .filter(|k| !k.is_empty())
    .collect()
}

/// Whether two customers have the same name tokens in one of their scripts.
pub fn same_name(a: &Candidate, b: &Candidate) -> bool {
    let theirs = name_keys(b);
    name_keys(a).iter().any(|k| theirs.contains(k))
}

/// Every phone one digit apart from E.164 `phone` ([`phones_one_digit_apart`]): each digit of
/// the national number changed, and each two neighbours swapped — what an index is asked for
/// when a customer is written, so finding its look-alikes reads a few dozen index entries.
pub fn phones_one_digit_apart_from(phone: &str) -> Vec<String> {
    let Some(digits) = phone.strip_prefix('+') else {
        return Vec::new();
    };
    let bytes = digits.as_bytes();
    // The country code is not typed at the counter: only the national digits vary.
    let national = bytes.len().saturating_sub(8);
    let mut out = Vec::new();
    for i in national..bytes.len() {
        for d in b'0'..=b'9' {
            if d != bytes[i] {
                let mut v = bytes.to_vec();
                v[i] = d;
                out.push(format!("+{}", String::from_utf8_lossy(&v)));
            }
        }
        if i + 1 < bytes.len() && bytes[i] != bytes[i + 1] {
            let mut v = bytes.to_vec();
            v.swap(i, i + 1);
            out.push(format!("+{}", String::from_utf8_lossy(&v)));
        }
    }
    out
}

/// The keys two phones one digit apart share ([`all_pairs`]): per national position the phone
/// with that digit masked, and per two neighbours the phone with both masked and their digits
/// in sorted order (a swap of them gives the same key).
fn near_keys(phone: &str) -> Vec<(usize, bool, Vec<u8>)> {
    let bytes = phone.as_bytes();
    let national = bytes.len().saturating_sub(8);
    let mut keys = Vec::with_capacity(16);
    for i in national..bytes.len() {
        let mut masked = bytes.to_vec();
        masked[i] = b'*';
        keys.push((i, false, masked));
        if i + 1 < bytes.len() {
            let mut swapped = bytes.to_vec();
            let (lo, hi) = if bytes[i] <= bytes[i + 1] {
                (bytes[i], bytes[i + 1])
            } else {
                (bytes[i + 1], bytes[i])
            };
            swapped[i] = lo;
            swapped[i + 1] = hi;
            keys.push((i, true, swapped));
        }
    }
    keys
}

/// Phones one digit apart: same length, and one digit different or two neighbours swapped.
pub fn phones_one_digit_apart(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a == b {
        return false;
    }
    let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    match diffs.as_slice() {
        [_] => true,
        [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
        _ => false,
    }
}

/// The likely duplicates among `people`, at most [`MAX_PAIRS`], same-phone pairs first.
/// Customers merged away are the caller's to leave out.
pub fn likely_duplicates(people: &[Candidate]) -> Vec<Pair> {
    all_pairs(people)
        .into_iter()
        .take(MAX_PAIRS)
        .map(|(i, j, reason)| pair(&people[i], &people[j], reason))
        .collect()
}

/// `a` and `b` as a pair, the one to keep first ([`rank`]).
pub fn pair(a: &Candidate, b: &Candidate, reason: DuplicateReason) -> Pair {
    let (keep, duplicate) = if rank(b) > rank(a) { (b, a) } else { (a, b) };
    Pair {
        keep: keep.id,
        duplicate: duplicate.id,
        reason,
    }
}

/// Every likely pair among `people` as indexes, same-phone pairs first.
pub fn all_pairs(people: &[Candidate]) -> Vec<(usize, usize, DuplicateReason)> {
    let mut found: Vec<(usize, usize, DuplicateReason)> = Vec::new();
    let mut by_phone: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, c) in people.iter().enumerate() {
        if c.kind == CustomerKind::Guest {
            continue;
        }
        if let Some(p) = c.phone.as_deref() {
            by_phone.entry(p).or_default().push(i);
        }
        for key in name_keys(c) {
            by_name.entry(key).or_default().push(i);
        }
    }
    let pair = |i: usize, j: usize| if i < j { (i, j) } else { (j, i) };
    let mut seen = std::collections::HashSet::new();
    let mut phones: Vec<_> = by_phone.into_values().filter(|g| g.len() > 1).collect();
    phones.sort();
    for group in phones {
        for (x, &i) in group.iter().enumerate() {
            for &j in &group[x + 1..] {
                if seen.insert(pair(i, j)) {
                    found.push((i, j, DuplicateReason::SamePhone));
                }
            }
        }
    }
    let mut names: Vec<_> = by_name.into_values().filter(|g| g.len() > 1).collect();
    names.sort();
    for group in names {
        // Within a name, phones one digit apart share a key: the phone with one national digit
        // masked (a wrong digit), or with two neighbours masked and their digits noted in order
        // (a swap). Linear in the group, however common the name.
        let mut near: HashMap<(usize, bool, Vec<u8>), Vec<usize>> = HashMap::new();
        for &i in &group {
            let Some(phone) = people[i].phone.as_deref() else {
                continue;
            };
            for key in near_keys(phone) {
                near.entry(key).or_default().push(i);
            }
        }
        let mut buckets: Vec<_> = near.into_values().filter(|b| b.len() > 1).collect();
        buckets.sort();
        for bucket in buckets {
            for (x, &i) in bucket.iter().enumerate() {
                for &j in &bucket[x + 1..] {
                    let close = matches!(
                        (people[i].phone.as_deref(), people[j].phone.as_deref()),
                        (Some(a), Some(b)) if phones_one_digit_apart(a, b)
                    );
                    if close && seen.insert(pair(i, j)) {
                        found.push((i, j, DuplicateReason::SameNameNearPhone));
                    }
                }
            }
        }
    }
    found.sort_by_key(|&(i, j, reason)| (reason, i, j));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(first: &str, last: Option<&str>, name2: Option<&str>, phone: &str) -> Candidate {
        Candidate {
            id: CustomerId::new(),
            kind: CustomerKind::Stub,
            active: true,
            first_name: Some(first.into()),
            last_name: last.map(Into::into),
            name2: name2.map(Into::into),
            phone: Some(phone.into()),
            order_count: 0,
            created_at: "2026-12-01T10:00:00Z".into(),
        }
    }

    #[test]
    fn the_phones_one_digit_apart_from_a_number_are_exactly_those_the_test_accepts() {
        let p = "+96892123456";
        let near = phones_one_digit_apart_from(p);
        assert_eq!(
            near.len(),
            8 * 9 + 7,
            "each national digit, and each unequal neighbours"
        );
        assert!(near.iter().all(|q| phones_one_digit_apart(p, q)));
        assert!(near.contains(&"+96892124356".to_owned()));
        assert!(
            !near.iter().any(|q| q.starts_with("+967")),
            "the country code stays"
        );
        let mut unique = near.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), near.len());
    }

    #[test]
    fn phones_one_digit_apart_are_one_wrong_digit_or_two_swapped_neighbours() {
        assert!(phones_one_digit_apart("+96892123456", "+96892123457"));
        assert!(phones_one_digit_apart("+96892123456", "+96892124356"));
        assert!(!phones_one_digit_apart("+96892123456", "+96892123456"));
        assert!(!phones_one_digit_apart("+96892123456", "+96892123465_"));
        assert!(!phones_one_digit_apart("+96892123456", "+96892123499"));
        assert!(!phones_one_digit_apart("+96892123456", "+96892153426"));
    }

    #[test]
    fn same_phone_and_same_names_with_a_phone_typo_are_found_and_strangers_are_not() {
        let returning = Candidate {
            active: false,
            ..person("Salim", Some("Al-Busaidi"), None, "+96892123456")
        };
        let again = person("Salim", None, None, "+96892123456");
        // Arabic names in another order and hamza written differently, phone one digit off.
        let arabic = person("أحمد", Some("البلوشي"), None, "+96893111111");
        let arabic_typo = person("البلوشي", Some("احمد"), None, "+96893111112");
        // Same name, phones far apart: two people.
        let namesake = person("احمد", Some("البلوشي"), None, "+96899999999");
        // A second name in Arabic matches too.
        let latin = person("Aisha", None, Some("عائشة"), "+96891000001");
        let by_name2 = person("Ayesha", None, Some("عائشة"), "+96891000010");
        let guests = [
            Candidate {
                kind: CustomerKind::Guest,
                first_name: None,
                phone: None,
                ..person("x", None, None, "")
            },
            Candidate {
                kind: CustomerKind::Guest,
                first_name: None,
                phone: None,
                ..person("x", None, None, "")
            },
        ];
        let mut people = vec![
            returning.clone(),
            again.clone(),
            arabic.clone(),
            arabic_typo.clone(),
            namesake,
            latin.clone(),
            by_name2.clone(),
        ];
        people.extend(guests);
        let pairs = likely_duplicates(&people);
        assert_eq!(
            pairs,
            vec![
                Pair {
                    keep: again.id,
                    duplicate: returning.id,
                    reason: DuplicateReason::SamePhone
                },
                Pair {
                    keep: arabic.id,
                    duplicate: arabic_typo.id,
                    reason: DuplicateReason::SameNameNearPhone
                },
                Pair {
                    keep: latin.id,
                    duplicate: by_name2.id,
                    reason: DuplicateReason::SameNameNearPhone
                },
            ]
        );
    }

    #[test]
    fn among_thousands_who_share_a_common_name_every_phone_typo_pair_is_found() {
        // 3,000 people of one name, phones spread so that some are one digit apart: the pairs
        // found are exactly those comparing every two of them finds (no cap on a big name).
        let people: Vec<Candidate> = (0..3_000u64)
            .map(|k| {
                person(
                    "Mohammed",
                    Some("Al Balushi"),
                    None,
                    &format!("+96890{:06}", k * 7 % 1_000_000),
                )
            })
            .collect();
        let mut expected = Vec::new();
        for i in 0..people.len() {
            for j in i + 1..people.len() {
                let (a, b) = (people[i].phone.as_deref(), people[j].phone.as_deref());
                if phones_one_digit_apart(a.unwrap(), b.unwrap()) {
                    expected.push((i, j));
                }
            }
        }
        assert!(expected.len() > 100, "the data has typos to find");
        assert!(
            expected.iter().any(|&(i, _)| i > 500),
            "deep in the group too"
        );
        let mut found: Vec<(usize, usize)> = all_pairs(&people)
            .into_iter()
            .map(|(i, j, reason)| {
                assert_eq!(reason, DuplicateReason::SameNameNearPhone);
                (i, j)
            })
            .collect();
        found.sort();
        assert_eq!(found, expected);
    }

    #[test]
    fn the_customer_suggested_to_stay_is_the_more_complete_one() {
        let stub = person("Salim", None, None, "+96892123456");
        let full = Candidate {
            kind: CustomerKind::Full,
            created_at: "2026-12-02T00:00:00Z".into(),
            ..person("Salim", None, None, "+96892123457")
        };
        let pairs = likely_duplicates(&[stub.clone(), full.clone()]);
        assert_eq!(pairs[0].keep, full.id);
        let busy = Candidate {
            order_count: 3,
            ..person("Salim", None, None, "+96892123458")
        };
        let pairs = likely_duplicates(&[stub.clone(), busy.clone()]);
        assert_eq!(pairs[0].keep, busy.id);
    }
}
