//! Merging a duplicate into the customer that stays, and undoing it within a day.
//!
//! A merge is a manager's act with a reason. What it moved is kept with it (a
//! [`MergeRecord`]) on the till and on the server, so an undo puts back exactly that: the
//! duplicate active again with its orders, addresses and points, and the fields the target
//! took from it cleared. An undo is refused once later changes make it unsafe (the target was
//! deactivated or merged away, spent the points, or changed a field it took), once the window
//! has passed, and when another active customer took the duplicate's phone meanwhile.

use super::{phone_free, CustomerState, PhoneHolder, Refusal};
use crate::customer::CustomerKind;
use crate::error::{Field, ValidationError};
use crate::ids::{CustomerId, MergeId};
use crate::ops::{CustomerUpdated, Op};
use crate::orders::REASON_MAX_CHARS;
use crate::text::FreeText;
use chrono::{DateTime, Duration, Utc};

/// How long a merge can be undone, in hours.
pub const MERGE_UNDO_HOURS: i64 = 24;

/// What one merge did, as each side keeps it for the merge log and an undo.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeRecord {
    pub id: MergeId,
    pub source: CustomerId,
    pub target: CustomerId,
    pub merged_at: DateTime<Utc>,
    /// Undone already.
    pub undone: bool,
    /// Loyalty points the target received from the duplicate.
    pub points_moved: i64,
    /// The fields the target took from the duplicate, with the values it took
    /// ([`super::decide_merge`]'s fill).
    pub filled: CustomerUpdated,
    /// The target's type before the merge (a guest that took a name and a phone became a stub).
    pub target_kind_before: CustomerKind,
    /// The duplicate was active before the merge (an undo gives it back as it was).
    pub source_was_active: bool,
}

impl MergeRecord {
    /// Still inside the undo window at `now`.
    pub fn undoable_at(&self, now: DateTime<Utc>) -> bool {
        !self.undone && now < self.merged_at + Duration::hours(MERGE_UNDO_HOURS)
    }
}

/// A merge as a manager asks for it: the two customers may be merged ([`super::decide_merge`])
/// and the reason is a line of at most [`REASON_MAX_CHARS`] characters (required). Returns the
/// op and the fill of the target.
pub fn decide_merge_op(
    merge_id: MergeId,
    source: &CustomerState,
    target: &CustomerState,
    reason: &str,
) -> Result<(Op, CustomerUpdated), Refusal> {
    let fill = super::decide_merge(source, target)?;
    let reason = FreeText::parse_line(Field::Reason, Some(reason), REASON_MAX_CHARS)?
        .ok_or(ValidationError::Required(Field::Reason))?;
    Ok((
        Op::CustomerMerged {
            merge_id,
            customer_id: source.id,
            target_id: target.id,
            reason: reason.as_str().to_owned(),
        },
        fill,
    ))
}

/// Undoing `merge` at `now`: inside the window, not undone yet, the duplicate still merged
/// into the target, the target still changeable with at least the points it received and every
/// field it took unchanged, and — for a duplicate that was active — its phone free of any
/// other active customer (a deactivated duplicate comes back deactivated).
/// `target_points` is the target's balance now; `source_phone_holder` the active customer other
/// than the target that holds the duplicate's phone, if any. Returns the op; a merge undone
/// already stays as it is (`None`), on every door — two tills may undo the same merge.
pub fn decide_undo_merge(
    merge: &MergeRecord,
    source: &CustomerState,
    target: &CustomerState,
    target_points: i64,
    source_phone_holder: Option<PhoneHolder>,
    now: DateTime<Utc>,
) -> Result<Option<Op>, Refusal> {
    if merge.undone {
        return Ok(None);
    }
    if !merge.undoable_at(now) {
        return Err(Refusal::MergeUndoExpired);
    }
    if source.id != merge.source || target.id != merge.target || !source.merged || source.active {
        return Err(Refusal::MergeUndoUnsafe);
    }
    if target.changeable().is_err() || target_points < merge.points_moved {
        return Err(Refusal::MergeUndoUnsafe);
    }
    let f = &merge.filled;
    let unchanged = |took: &Option<String>, now: &Option<String>| took.is_none() || took == now;
    let unchanged_opt = |took: &Option<Option<String>>, now: &Option<String>| {
        took.as_ref().is_none_or(|t| t == now)
    };
    let kept = unchanged(&f.first_name, &target.first_name)
        && unchanged(&f.phone, &target.phone)
        && unchanged_opt(&f.last_name, &target.last_name)
        && unchanged_opt(&f.name2, &target.name2)
        && unchanged_opt(&f.email, &target.email)
        // A phone the target took and then verified is the target's now.
        && !(f.phone.is_some() && target.phone_verified);
    if !kept {
        return Err(Refusal::MergeUndoUnsafe);
    }
    // The target gives back a phone it took: it holds it until then.
    if merge.source_was_active {
        phone_free(
            source.id,
            source_phone_holder.filter(|h| h.id != merge.target),
        )?;
    }
    Ok(Some(Op::MergeUndone {
        merge_id: merge.id,
        customer_id: merge.source,
        target_id: merge.target,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::decide_merge;

    fn state(kind: CustomerKind, first: Option<&str>, phone: Option<&str>) -> CustomerState {
        CustomerState {
            id: CustomerId::new(),
            kind,
            active: true,
            first_name: first.map(Into::into),
            phone: phone.map(Into::into),
            ..CustomerState::default()
        }
    }

    /// A guest target merged with a named stub, and the record of it.
    fn merged_pair() -> (CustomerState, CustomerState, MergeRecord) {
        let source = state(CustomerKind::Stub, Some("Salim"), Some("+96892123456"));
        let target = state(CustomerKind::Guest, None, None);
        let filled = decide_merge(&source, &target).unwrap();
        let record = MergeRecord {
            id: MergeId::new(),
            source: source.id,
            target: target.id,
            merged_at: Utc::now() - Duration::hours(1),
            undone: false,
            points_moved: 12,
            filled: filled.clone(),
            target_kind_before: CustomerKind::Guest,
            source_was_active: true,
        };
        let source_after = CustomerState {
            active: false,
            merged: true,
            ..source
        };
        let target_after = CustomerState {
            kind: CustomerKind::Stub,
            first_name: filled.first_name.clone(),
            phone: filled.phone.clone(),
            ..target
        };
        (source_after, target_after, record)
    }

    #[test]
    fn a_merge_needs_a_reason_of_one_clean_line() {
        let a = state(CustomerKind::Stub, Some("A"), Some("+96892123456"));
        let b = state(CustomerKind::Stub, Some("B"), Some("+96892123457"));
        let id = MergeId::new();
        let (op, _) = decide_merge_op(id, &a, &b, "  same person, two phones ").unwrap();
        assert_eq!(
            op,
            Op::CustomerMerged {
                merge_id: id,
                customer_id: a.id,
                target_id: b.id,
                reason: "same person, two phones".into()
            }
        );
        for bad in ["", "   ", "a\u{202E}b", "a\u{0007}b", &"x".repeat(10_000)] {
            assert!(
                matches!(decide_merge_op(id, &a, &b, bad), Err(Refusal::Invalid(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            decide_merge_op(id, &a, &a, "x").unwrap_err(),
            Refusal::MergeSelf
        );
    }

    #[test]
    fn a_merge_is_undone_within_a_day_and_once_undone_stays_undone() {
        let (source, target, record) = merged_pair();
        let now = Utc::now();
        assert_eq!(
            decide_undo_merge(&record, &source, &target, 12, None, now).unwrap(),
            Some(Op::MergeUndone {
                merge_id: record.id,
                customer_id: source.id,
                target_id: target.id
            })
        );
        let late = record.merged_at + Duration::hours(MERGE_UNDO_HOURS) + Duration::seconds(1);
        assert_eq!(
            decide_undo_merge(&record, &source, &target, 12, None, late),
            Err(Refusal::MergeUndoExpired)
        );
        let undone = MergeRecord {
            undone: true,
            ..record.clone()
        };
        assert_eq!(
            decide_undo_merge(&undone, &source, &target, 12, None, now),
            Ok(None),
            "undone already: nothing to do, however late"
        );
        let undone_late = MergeRecord {
            undone: true,
            ..record.clone()
        };
        assert_eq!(
            decide_undo_merge(&undone_late, &source, &target, 0, None, late),
            Ok(None)
        );
    }

    #[test]
    fn an_undo_is_refused_once_later_changes_make_it_unsafe() {
        let (source, target, record) = merged_pair();
        let now = Utc::now();
        // The points were spent.
        assert_eq!(
            decide_undo_merge(&record, &source, &target, 11, None, now),
            Err(Refusal::MergeUndoUnsafe)
        );
        // The target was deactivated, or merged into a third customer.
        for t in [
            CustomerState {
                active: false,
                ..target.clone()
            },
            CustomerState {
                active: false,
                merged: true,
                ..target.clone()
            },
        ] {
            assert_eq!(
                decide_undo_merge(&record, &source, &t, 12, None, now),
                Err(Refusal::MergeUndoUnsafe)
            );
        }
        // A field the target took was edited, or its phone verified.
        let renamed = CustomerState {
            first_name: Some("Salem".into()),
            ..target.clone()
        };
        let verified = CustomerState {
            phone_verified: true,
            ..target.clone()
        };
        for t in [renamed, verified] {
            assert_eq!(
                decide_undo_merge(&record, &source, &t, 12, None, now),
                Err(Refusal::MergeUndoUnsafe)
            );
        }
        // Someone else took the duplicate's phone: the refusal names them.
        let holder = PhoneHolder {
            id: CustomerId::new(),
            number: None,
            name: Some("Aisha".into()),
        };
        assert!(matches!(
            decide_undo_merge(&record, &source, &target, 12, Some(holder.clone()), now),
            Err(Refusal::PhoneTaken { holder: Some(h), .. }) if h == "Aisha"
        ));
        // A duplicate that was deactivated comes back deactivated: its phone may be taken.
        let was_inactive = MergeRecord {
            source_was_active: false,
            ..record.clone()
        };
        assert!(
            decide_undo_merge(&was_inactive, &source, &target, 12, Some(holder), now)
                .unwrap()
                .is_some()
        );
        // The record names other customers than the ones given.
        let other = state(CustomerKind::Stub, Some("X"), None);
        assert_eq!(
            decide_undo_merge(&record, &source, &other, 12, None, now),
            Err(Refusal::MergeUndoUnsafe)
        );
    }
}
