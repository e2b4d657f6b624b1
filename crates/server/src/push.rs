//! `POST /api/v1/sync/push`: a till's ops, applied exactly once each, in the till's order.
//!
//! Op `n` of a device is applied only when `n` is the device's next sequence number, and the
//! device's counter advances in the same transaction as the op's effect. Every answer is
//! stored, so a replay gets the same answer (`duplicate`, or the same `redirected` or
//! `rejected`). A *different* op under a number already used (a till restored from a backup or
//! copied to a second PC) is answered `sequenceConflict`: the till renumbers and pushes again,
//! so its work is applied once, never dropped.
//!
//! Each op is authorised and checked exactly as the same change over REST: the one applier
//! ([`crate::apply`]) decides it with the customer rules, for the staff member the op names —
//! who must be an active member of the device's shop with the role the change needs.

use crate::apply::{self, Acting, Door};
use crate::db;
use crate::devices::DeviceActor;
use crate::error::Error;
use crate::ids::TenantId;
use crate::staff::Role;
use deadpool_postgres::{Pool, Transaction};
use dukkan_core::ops::Op;
use dukkan_core::rules::{self, Action};
use dukkan_core::sync::{
    OpOutcome, OpResult, PushOp, PushRequest, PushResponse, AT_MAX_CHARS, MAX_DEVICE_SEQ,
    MAX_PUSH_BATCH, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION,
};
use std::collections::HashMap;
use uuid::Uuid;

/// The code a protocol-1 till gets for a sequence conflict (it parks the op for a person).
pub const SEQUENCE_CONFLICT_CODE: &str = "sync.sequence-conflict";
/// The code of an op whose own fields (`at`, `staffId`) are not readable.
pub const INVALID_OP_CODE: &str = "sync.invalid-op";

/// Whom an op names, as the server knows them.
#[derive(Debug, Clone, Copy)]
enum Named {
    /// Nobody was signed in on the till.
    Nobody,
    /// An active staff member of the device's shop.
    Staff(Uuid, Role),
    /// A staff member of the shop no longer active: recorded as who made the op (they made it
    /// while they could), judged as nobody.
    Former(Uuid),
    /// Not a staff member of the shop (unknown, another shop's): neither recorded nor trusted.
    Stranger,
}

impl Named {
    fn acting(self, device: DeviceActor) -> Acting {
        let (staff, role) = match self {
            Named::Staff(id, role) => (Some(id), Some(role)),
            Named::Former(id) => (Some(id), None),
            Named::Nobody | Named::Stranger => (None, None),
        };
        Acting {
            tenant: device.tenant.0,
            staff,
            role,
            device: Some(device.device),
            at: None,
        }
    }
}

/// Refuses the whole push when its shape is wrong: an unknown protocol, too many ops, or a
/// sequence number no till makes (below 1, or beyond [`MAX_DEVICE_SEQ`]).
fn check_request(request: &PushRequest) -> Result<(), Error> {
    let protocol_known = (OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&request.protocol);
    let seqs_sane = request
        .ops
        .iter()
        .all(|o| (1..=MAX_DEVICE_SEQ).contains(&o.device_seq));
    if !protocol_known || request.ops.len() > MAX_PUSH_BATCH || !seqs_sane {
        return Err(Error::InvalidBody);
    }
    Ok(())
}

/// Applies a batch of ops in device order and answers each.
///
/// Most batches apply cleanly, so the first pass runs every op straight in the transaction (two
/// round trips per op fewer than a savepoint each), and a run of new customers as a few
/// multi-row statements ([`apply::create_run`]). If any op fails, that pass is rolled back
/// as a whole and the batch runs again with a savepoint per op, which answers the failing op
/// `rejected` and keeps the others. Either way the batch commits once, with its answers.
pub async fn push(
    pool: &Pool,
    device: DeviceActor,
    request: PushRequest,
) -> Result<PushResponse, Error> {
    check_request(&request)?;
    let mut client = pool.get().await?;
    {
        let mut tx = db::tenant_tx(&mut client, device.tenant).await?;
        if let Some(results) = run_batch(&mut tx, device, &request, false).await? {
            tx.commit().await?;
            return Ok(PushResponse { results });
        }
        tx.rollback().await?;
    }
    let mut tx = db::tenant_tx(&mut client, device.tenant).await?;
    let results = run_batch(&mut tx, device, &request, true)
        .await?
        .ok_or_else(|| Error::Internal("a careful push pass gave up".into()))?;
    tx.commit().await?;
    Ok(PushResponse { results })
}

/// The answer to an op whose number the device has used before (`seq <= last`): the stored
/// answer when it is the same op, a sequence conflict when another op holds the number.
async fn answer_again(
    tx: &Transaction<'_>,
    device: DeviceActor,
    op: &PushOp,
    last: i64,
    protocol: u32,
) -> Result<OpOutcome, Error> {
    let stored = tx
        .query_opt(
            "SELECT op_id, outcome FROM sync_ops
             WHERE tenant_id = $1 AND device_id = $2 AND device_seq = $3",
            &[&device.tenant.0, &device.device, &op.device_seq],
        )
        .await?;
    Ok(match stored {
        Some(row) if row.get::<_, Uuid>(0) == op.op_id.as_uuid() => {
            // The stored answer, except that "applied" is now "duplicate": a lost redirect or
            // rejection is answered again rather than mistaken for success.
            match serde_json::from_value::<OpOutcome>(row.get(1)) {
                Ok(outcome @ (OpOutcome::Redirected { .. } | OpOutcome::Rejected { .. })) => {
                    outcome
                }
                _ => OpOutcome::Duplicate,
            }
        }
        // Another op holds the number, or none does (numbers the till said were answered
        // when it enrolled): the op was not applied under it. Applying ops is idempotent by
        // their ids, so pushing it again under a new number is safe either way.
        _ => conflict(last, protocol),
    })
}

fn conflict(last: i64, protocol: u32) -> OpOutcome {
    if protocol >= 2 {
        OpOutcome::SequenceConflict { last_applied: last }
    } else {
        OpOutcome::Rejected {
            code: SEQUENCE_CONFLICT_CODE.into(),
        }
    }
}

/// The op's own fields, checked: when it happened (RFC 3339) and who did it (a staff id).
fn op_fields_readable(op: &PushOp) -> bool {
    let at_ok = op.at.chars().count() <= AT_MAX_CHARS
        && chrono::DateTime::parse_from_rfc3339(&op.at).is_ok();
    let staff_ok = op
        .staff_id
        .as_deref()
        .is_none_or(|s| s.len() == 36 && Uuid::try_parse(s).is_ok());
    at_ok && staff_ok
}

/// One pass over a batch. `careful`: a savepoint per op, so a failing op is answered
/// `rejected` and the rest go on; otherwise the first failure gives up the pass (`None`) for
/// the caller to roll back and run carefully.
async fn run_batch(
    tx: &mut Transaction<'_>,
    device: DeviceActor,
    request: &PushRequest,
    careful: bool,
) -> Result<Option<Vec<OpResult>>, Error> {
    let ops = &request.ops;
    let mut last: i64 = tx
        .query_opt(
            "SELECT last_applied_seq FROM device_sync_state
             WHERE tenant_id = $1 AND device_id = $2 FOR UPDATE",
            &[&device.tenant.0, &device.device],
        )
        .await?
        .ok_or(Error::Unauthenticated)?
        .get(0);
    let mut results = Vec::with_capacity(ops.len());
    // The answers to store, written with one statement for the whole batch.
    let (mut seqs, mut op_ids, mut outcomes) = (Vec::new(), Vec::new(), Vec::new());
    // Staff named by the batch's ops, looked up once each.
    let mut staff: HashMap<&str, Named> = HashMap::new();
    // Ops before this index go one by one (a run that could not go in together).
    let mut one_by_one_until = 0;
    // After a sequence conflict every later op waits too, so the till's order is kept.
    let mut conflicted = false;
    let mut i = 0;
    while i < ops.len() {
        let op = &ops[i];
        if !careful && !conflicted && i >= one_by_one_until && op.device_seq == last + 1 {
            // New customers of consecutive ops (what an offline till mostly sends) go in
            // together.
            let run_len = ops[i..]
                .iter()
                .zip(op.device_seq..)
                .take_while(|(o, seq)| {
                    o.device_seq == *seq
                        && matches!(o.op, Op::CustomerCreated(_))
                        && op_fields_readable(o)
                })
                .count();
            if run_len > 1 {
                let mut run = Vec::with_capacity(run_len);
                for o in &ops[i..i + run_len] {
                    let named = staff_of(tx, device.tenant, &mut staff, o).await?;
                    if let (Op::CustomerCreated(c), Some(acting)) =
                        (&o.op, may_create(named, device))
                    {
                        run.push((c, acting.staff));
                    }
                }
                let applied = if run.len() == run_len {
                    match apply::create_run(tx, device.tenant.0, device.device, &run).await {
                        Ok(applied) => applied,
                        Err(_) => return Ok(None),
                    }
                } else {
                    None
                };
                if let Some(applied) = applied {
                    for (o, outcome) in ops[i..i + run_len].iter().zip(applied) {
                        seqs.push(o.device_seq);
                        op_ids.push(o.op_id.as_uuid());
                        outcomes.push(
                            serde_json::to_value(&outcome)
                                .map_err(|e| Error::Internal(e.to_string()))?,
                        );
                        last = o.device_seq;
                        results.push(OpResult {
                            op_id: o.op_id,
                            device_seq: o.device_seq,
                            outcome,
                        });
                    }
                    i += run_len;
                    continue;
                }
                one_by_one_until = i + run_len;
            }
        }
        i += 1;
        let outcome = if conflicted {
            conflict(last, request.protocol)
        } else if op.device_seq <= last {
            let outcome = answer_again(tx, device, op, last, request.protocol).await?;
            conflicted = matches!(&outcome, OpOutcome::SequenceConflict { .. })
                || matches!(&outcome, OpOutcome::Rejected { code } if code == SEQUENCE_CONFLICT_CODE
                && request.protocol < 2);
            outcome
        } else if op.device_seq != last + 1 {
            OpOutcome::OutOfOrder { expected: last + 1 }
        } else {
            let outcome = if !op_fields_readable(op) {
                OpOutcome::Rejected {
                    code: INVALID_OP_CODE.into(),
                }
            } else {
                let named = staff_of(tx, device.tenant, &mut staff, op).await?;
                let acting = Acting {
                    at: chrono::DateTime::parse_from_rfc3339(&op.at)
                        .ok()
                        .map(|t| t.to_utc()),
                    ..named.acting(device)
                };
                if matches!(named, Named::Stranger | Named::Former(_)) {
                    // Not one of the shop's active staff: judged as nobody signed in, so the
                    // counter's work goes through and a manager's does not.
                    tracing::info!(kind = op.op.kind(), "op names no active staff member");
                }
                if careful {
                    apply_in_savepoint(tx, &acting, op).await?
                } else {
                    match apply::apply(tx, &acting, &op.op, Door::Sync).await {
                        Ok(outcome) => outcome,
                        Err(_) => return Ok(None),
                    }
                }
            };
            seqs.push(op.device_seq);
            op_ids.push(op.op_id.as_uuid());
            outcomes
                .push(serde_json::to_value(&outcome).map_err(|e| Error::Internal(e.to_string()))?);
            last = op.device_seq;
            outcome
        };
        results.push(OpResult {
            op_id: op.op_id,
            device_seq: op.device_seq,
            outcome,
        });
    }
    if !seqs.is_empty() {
        tx.execute(
            "INSERT INTO sync_ops (tenant_id, device_id, device_seq, op_id, outcome)
             SELECT $1, $2, t.seq, t.op, t.outcome
             FROM unnest($3::bigint[], $4::uuid[], $5::jsonb[]) AS t(seq, op, outcome)",
            &[&device.tenant.0, &device.device, &seqs, &op_ids, &outcomes],
        )
        .await?;
    }
    tx.execute(
        "UPDATE device_sync_state SET last_applied_seq = $3, updated_at = now()
         WHERE tenant_id = $1 AND device_id = $2",
        &[&device.tenant.0, &device.device, &last],
    )
    .await?;
    Ok(Some(results))
}

/// Who may create in a run: nobody signed in or an active staff member (creating is the
/// counter's work); a stranger's ops go one by one, to be judged there.
fn may_create(named: Named, device: DeviceActor) -> Option<Acting> {
    let acting = named.acting(device);
    let allowed = !matches!(named, Named::Stranger | Named::Former(_))
        && rules::authorize(acting.role, Action::CreateCustomer).is_ok();
    allowed.then_some(acting)
}

/// The staff member an op names, asked once per batch.
async fn staff_of<'a>(
    tx: &Transaction<'_>,
    tenant: TenantId,
    known: &mut HashMap<&'a str, Named>,
    op: &'a PushOp,
) -> Result<Named, Error> {
    let Some(named) = op.staff_id.as_deref() else {
        return Ok(Named::Nobody);
    };
    if let Some(n) = known.get(named) {
        return Ok(*n);
    }
    let found = match Uuid::try_parse(named) {
        Ok(id) => match tx
            .query_opt(
                "SELECT role, active FROM staff WHERE tenant_id = $1 AND id = $2",
                &[&tenant.0, &id],
            )
            .await?
        {
            Some(r) if r.get::<_, bool>(1) => {
                Role::parse(r.get(0)).map_or(Named::Former(id), |role| Named::Staff(id, role))
            }
            Some(_) => Named::Former(id),
            None => Named::Stranger,
        },
        Err(_) => Named::Stranger,
    };
    known.insert(named, found);
    Ok(found)
}

/// True for errors that describe the op (answered `rejected`), not the server's health.
fn is_rejection(e: &Error) -> bool {
    !matches!(
        e,
        Error::Database(_) | Error::Unavailable(_) | Error::Internal(_) | Error::Timeout
    )
}

async fn apply_in_savepoint(
    tx: &mut Transaction<'_>,
    acting: &Acting,
    op: &PushOp,
) -> Result<OpOutcome, Error> {
    // Two attempts: a unique-phone race with another device's concurrent push surfaces as a
    // constraint violation after the other commits; the second attempt then sees its row.
    for attempt in 0..2 {
        let sp = tx.savepoint("op").await?;
        match apply::apply(&sp, acting, &op.op, Door::Sync).await {
            Ok(outcome) => {
                sp.commit().await?;
                return Ok(outcome);
            }
            Err(Error::Refused(rules::Refusal::PhoneTaken { .. })) if attempt == 0 => {
                sp.rollback().await?;
            }
            Err(Error::Database(db)) if attempt == 0 && apply::is_unique_phone(&db) => {
                sp.rollback().await?;
            }
            Err(e) if is_rejection(&e) => {
                sp.rollback().await?;
                let code = e.parts().1.to_owned();
                tracing::info!(%code, kind = op.op.kind(), "op rejected");
                return Ok(OpOutcome::Rejected { code });
            }
            Err(Error::Database(db)) if db.code().is_some_and(|c| c.code().starts_with("23")) => {
                // Any other integrity violation is the op's fault, not the server's.
                sp.rollback().await?;
                return Ok(OpOutcome::Rejected {
                    code: "op.constraint".into(),
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(OpOutcome::Rejected {
        code: "customer.phone-taken".into(),
    })
}
