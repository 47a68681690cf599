//! What `undo` does with one row the undone run changed: restore the
//! fields it changed, delete the customer it created, or leave the
//! customer alone (a conflict, or nothing left to do).
//!
//! Owns [`decide`], a pure function of the run's change, what Notify
//! holds now and `--force`. A field is compared as the import compares
//! (after the normalization the tool applies before sending): it is
//! restored only while it holds what the run sent; one that holds
//! neither what the run sent nor what was there before changed in
//! Notify since (a conflict), and is restored only with `--force`. A
//! field that already holds its old value needs nothing. It must not
//! fetch, send or write anything.

use crate::check::validate;
use crate::model::field::Field;
use crate::model::remote::Existing;
use crate::model::undo::{ChangeKind, RunChange, UndoAction, UndoOutcome};

/// What undoing one row takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to send: the row's outcome.
    Done(UndoOutcome),
    /// `PATCH` customer `id` with each field's value from before the run
    /// (`""` clears a field that was unset).
    Restore {
        /// Notify's customer id.
        id: String,
        /// The fields and the values to send.
        fields: Vec<(Field, String)>,
    },
    /// `DELETE` customer `id`.
    Delete {
        /// Notify's customer id.
        id: String,
    },
}

/// What Notify holds now for a row's customer.
#[derive(Debug, Clone, Copy)]
pub enum Now<'a> {
    /// This customer.
    Holds(&'a Existing),
    /// No customer with the id (or, for a create in doubt, the code).
    Gone,
}

/// The step that undoes `change`, given what Notify holds now (`now` is
/// only looked at for updates and creates in doubt).
pub fn decide(change: &RunChange, now: Now<'_>, force: bool) -> Step {
    let done = |action, detail: String| Step::Done(UndoOutcome::of(change, action, detail));
    match &change.kind {
        ChangeKind::Created { id } => Step::Delete { id: id.clone() },
        ChangeKind::Overwritten { .. } => done(
            UndoAction::Failed,
            "the run resent this customer with Overwrite=true (--mode overwrite), which keeps no before-image; restore it by hand (--mode upsert keeps one)".into(),
        ),
        ChangeKind::CreateInDoubt { .. } if change.code.is_empty() => done(
            UndoAction::Failed,
            "the run stopped before it learnt whether this row's create went through, and its journal does not name the code; continue the import with --resume (it finds out), then undo that run".into(),
        ),
        ChangeKind::CreateInDoubt { compared } => match now {
            Now::Gone => done(
                UndoAction::Deleted,
                "not in Notify: the stopped run's create never went through".into(),
            ),
            Now::Holds(c) if *compared => Step::Delete { id: c.id.clone() },
            Now::Holds(c) => {
                let mut out = UndoOutcome::of(
                    change,
                    UndoAction::Failed,
                    "the run stopped before it learnt whether it created this customer, and in --mode create it may have been there before; continue the import with --resume (it finds out), then undo that run",
                );
                out.customer_id.clone_from(&c.id);
                Step::Done(out)
            }
        },
        ChangeKind::Updated {
            id,
            changes,
            confirmed,
        } => {
            let c = match now {
                Now::Holds(c) => c,
                Now::Gone => {
                    return done(
                        UndoAction::Failed,
                        "no longer in Notify: the customer was deleted since the run updated it"
                            .into(),
                    );
                }
            };
            let mut normal = c.customer.clone();
            validate::validate_with_changes(&mut normal);
            let mut restore = Vec::new();
            let mut conflicts = Vec::new();
            for ch in changes {
                let raw = c.customer.get(ch.field).unwrap_or("");
                let holds_new = raw == ch.new || normal.get(ch.field).unwrap_or("") == ch.new;
                let holds_old = raw == ch.old;
                if holds_new && !holds_old {
                    restore.push((ch.field, ch.old.clone()));
                } else if !holds_old {
                    conflicts.push((ch.field, ch.new.clone(), raw.to_owned(), ch.old.clone()));
                }
            }
            if !conflicts.is_empty() && !force {
                let detail = conflicts
                    .iter()
                    .map(|(f, sent, now, _)| {
                        format!("{}: the run sent {} and Notify now holds {}", f.api_name(), shown(sent), shown(now))
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut out = UndoOutcome::of(
                    change,
                    UndoAction::Conflict,
                    format!("changed in Notify since the run: {detail}; left as it is (--force restores it anyway)"),
                );
                out.conflicts = conflicts
                    .into_iter()
                    .map(|(f, sent, now, _)| (f.api_name().to_owned(), sent, now))
                    .collect();
                return Step::Done(out);
            }
            restore.extend(conflicts.into_iter().map(|(f, _, _, old)| (f, old)));
            if restore.is_empty() {
                let why = if *confirmed {
                    "nothing to restore: Notify already holds the values from before the run"
                } else {
                    "nothing to restore: the stopped run's update never reached Notify"
                };
                return done(UndoAction::Restored, why.into());
            }
            restore.sort_by_key(|(f, _)| *f);
            Step::Restore {
                id: id.clone(),
                fields: restore,
            }
        }
    }
}

/// What a restore sends, for the results: `Field: now → before`, joined
/// by `; ` as the plan shows changes.
pub fn restored_detail(change: &RunChange, fields: &[(Field, String)]) -> String {
    let ChangeKind::Updated { changes, .. } = &change.kind else {
        return String::new();
    };
    fields
        .iter()
        .map(|(f, old)| {
            let new = changes
                .iter()
                .find(|c| c.field == *f)
                .map_or("", |c| c.new.as_str());
            format!("{}: {} → {}", f.api_name(), plain(new), plain(old))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A value as the details show it: `(empty)` for a blank one.
fn shown(value: &str) -> String {
    if value.is_empty() {
        "(empty)".to_owned()
    } else {
        crate::util::text::quoted(value)
    }
}

/// A value as the plan shows it: as it is, `(empty)` for a blank one.
fn plain(value: &str) -> &str {
    if value.is_empty() { "(empty)" } else { value }
}

/// The `PATCH` body of a restore: each field's API name and value.
pub fn restore_body(fields: &[(Field, String)]) -> Vec<u8> {
    let map: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|(f, v)| (f.api_name().to_owned(), v.clone().into()))
        .collect();
    serde_json::to_vec(&map).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::customer::Customer;
    use crate::model::plan::FieldChange;

    fn updated(changes: &[(Field, &str, &str)], confirmed: bool) -> RunChange {
        RunChange {
            row: 2,
            line: 3,
            code: "K2".into(),
            kind: ChangeKind::Updated {
                id: "id-2".into(),
                changes: changes
                    .iter()
                    .map(|(f, old, new)| FieldChange {
                        field: *f,
                        old: (*old).into(),
                        new: (*new).into(),
                    })
                    .collect(),
                confirmed,
            },
        }
    }

    fn notify(values: &[(Field, &str)]) -> Existing {
        let mut customer = Customer::default();
        customer.set(Field::CustomerCode, "K2");
        for (f, v) in values {
            customer.set(*f, *v);
        }
        Existing {
            id: "id-2".into(),
            customer,
        }
    }

    #[test]
    fn a_field_holding_what_the_run_sent_gets_its_old_value_back_and_unset_is_cleared() {
        let change = updated(
            &[
                (Field::City, "Ede", "Wageningen"),
                (Field::Phone, "", "0318"),
            ],
            true,
        );
        let now = notify(&[(Field::City, "Wageningen"), (Field::Phone, "0318")]);
        let step = decide(&change, Now::Holds(&now), false);
        assert_eq!(
            step,
            Step::Restore {
                id: "id-2".into(),
                fields: vec![(Field::City, "Ede".into()), (Field::Phone, String::new())]
            }
        );
        let Step::Restore { fields, .. } = step else {
            unreachable!()
        };
        assert_eq!(
            String::from_utf8(restore_body(&fields)).unwrap(),
            r#"{"City":"Ede","Phone":""}"#
        );
    }

    #[test]
    fn a_field_changed_since_is_a_conflict_unless_forced() {
        let change = updated(
            &[
                (Field::City, "Ede", "Wageningen"),
                (Field::Email, "a@x.nl", "b@x.nl"),
            ],
            true,
        );
        let now = notify(&[(Field::City, "Arnhem"), (Field::Email, "b@x.nl")]);
        let Step::Done(out) = decide(&change, Now::Holds(&now), false) else {
            panic!("a conflict sends nothing")
        };
        assert_eq!(out.action, UndoAction::Conflict);
        assert_eq!(
            out.conflicts,
            [(
                "City".to_owned(),
                "Wageningen".to_owned(),
                "Arnhem".to_owned()
            )]
        );
        assert!(
            out.detail.contains("Arnhem") && out.detail.contains("Wageningen"),
            "{}",
            out.detail
        );
        assert_eq!(
            decide(&change, Now::Holds(&now), true),
            Step::Restore {
                id: "id-2".into(),
                fields: vec![(Field::City, "Ede".into()), (Field::Email, "a@x.nl".into())]
            }
        );
    }

    #[test]
    fn an_update_that_never_landed_needs_nothing_and_creates_are_deleted() {
        let change = updated(&[(Field::City, "Ede", "Wageningen")], false);
        let now = notify(&[(Field::City, "Ede")]);
        let Step::Done(out) = decide(&change, Now::Holds(&now), false) else {
            panic!("nothing to send")
        };
        assert_eq!(out.action, UndoAction::Restored);
        let created = RunChange {
            row: 1,
            line: 2,
            code: "K1".into(),
            kind: ChangeKind::Created { id: "id-1".into() },
        };
        assert_eq!(
            decide(&created, Now::Gone, false),
            Step::Delete { id: "id-1".into() }
        );
        let doubt = RunChange {
            kind: ChangeKind::CreateInDoubt { compared: true },
            ..created
        };
        let Step::Done(gone) = decide(&doubt, Now::Gone, false) else {
            panic!("nothing to delete")
        };
        assert_eq!(gone.action, UndoAction::Deleted);
        assert_eq!(
            decide(&doubt, Now::Holds(&now), false),
            Step::Delete { id: "id-2".into() }
        );
    }
}
