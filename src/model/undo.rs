//! Taking a run back (`undo`): what a run changed in Notify, one row at a
//! time, and what undoing it came to.
//!
//! Owns [`RunChange`] (a row the undone run created, updated or may have
//! created, as its journal tells), [`UndoAction`] (the vocabulary of an
//! undo's results file) and [`UndoOutcome`] (one row of it). It must not
//! read journals, decide what to send or send it: `store::journal::undo`
//! reads, `plan::undo` decides, `upload` sends.

use crate::model::plan::FieldChange;

/// One row the undone run changed in Notify (or may have).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunChange {
    /// The row of the undone run's input (1-based data row).
    pub row: u64,
    /// Its line in that input (0 when the journal does not say).
    pub line: u64,
    /// The customer code.
    pub code: String,
    /// What the run did.
    pub kind: ChangeKind,
}

/// What the undone run did to a row's customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// It created customer `id`.
    Created {
        /// Notify's id of the customer made.
        id: String,
    },
    /// It sent a create whose answer never came: the customer may exist.
    /// `compared`: that run had read Notify first (upsert, update) and
    /// found no customer with the code, so one found now is its own.
    CreateInDoubt {
        /// The run's mode compared with Notify before creating.
        compared: bool,
    },
    /// It sent (or was about to send) a `PATCH` of customer `id`:
    /// `changes` holds each field's value before (the before-image) and
    /// the value sent. `confirmed`: Notify answered it (status `updated`);
    /// otherwise Notify holds either value.
    Updated {
        /// Notify's customer id.
        id: String,
        /// The fields, before and as sent.
        changes: Vec<FieldChange>,
        /// Notify confirmed the update.
        confirmed: bool,
    },
    /// It resent the whole customer with `Overwrite=true`, which keeps no
    /// before-image: it cannot be taken back.
    Overwritten {
        /// Notify's customer id.
        id: String,
    },
}

impl ChangeKind {
    /// Notify's id of the customer, when the run knew it.
    pub fn id(&self) -> Option<&str> {
        match self {
            ChangeKind::Created { id }
            | ChangeKind::Updated { id, .. }
            | ChangeKind::Overwritten { id } => Some(id),
            ChangeKind::CreateInDoubt { .. } => None,
        }
    }
}

/// How undoing one row ended: the `action` column of an undo's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UndoAction {
    /// The fields the run changed hold their values from before it again.
    Restored,
    /// The customer the run created is gone (deleted now, or already).
    Deleted,
    /// Notify refused to delete the customer the run created (it has
    /// invoices); the reason is in the detail.
    Kept,
    /// The customer changed in Notify since the run wrote it: left alone
    /// (`--force` restores it anyway).
    Conflict,
    /// It could not be undone (the API refused or kept failing, or the
    /// run left nothing to restore it from).
    Failed,
    /// Not attempted: the undo stopped first (`--resume` continues).
    Skipped,
}

impl UndoAction {
    /// Every action, in the order summaries list them.
    pub const ALL: [UndoAction; 6] = [
        UndoAction::Restored,
        UndoAction::Deleted,
        UndoAction::Kept,
        UndoAction::Conflict,
        UndoAction::Failed,
        UndoAction::Skipped,
    ];

    /// The word in the results file.
    pub const fn as_str(self) -> &'static str {
        match self {
            UndoAction::Restored => "restored",
            UndoAction::Deleted => "deleted",
            UndoAction::Kept => "kept",
            UndoAction::Conflict => "conflict",
            UndoAction::Failed => "failed",
            UndoAction::Skipped => "skipped",
        }
    }

    /// The action a results or journal word names.
    pub fn parse(word: &str) -> Option<UndoAction> {
        UndoAction::ALL.into_iter().find(|a| a.as_str() == word)
    }

    /// Whether the row is undone as asked (the exit code is 0 only when
    /// every row is).
    pub const fn is_undone(self) -> bool {
        matches!(self, UndoAction::Restored | UndoAction::Deleted)
    }

    /// Whether a resumed undo leaves the row as it is: everything but a
    /// failure (which may pass on a second try) and a row not attempted.
    pub const fn is_final(self) -> bool {
        !matches!(self, UndoAction::Failed | UndoAction::Skipped)
    }
}

impl std::fmt::Display for UndoAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of an undo's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoOutcome {
    /// The undone run's row.
    pub row: u64,
    /// Its line in that run's input (0: unknown).
    pub line: u64,
    /// The customer code.
    pub code: String,
    /// How it ended.
    pub action: UndoAction,
    /// Notify's customer id (empty when unknown).
    pub customer_id: String,
    /// What was restored, why it was kept, the conflicting values, or
    /// what failed.
    pub detail: String,
    /// For a conflict: each field as the run sent it and as Notify holds
    /// it now (`field`, `sent`, `now`).
    pub conflicts: Vec<(String, String, String)>,
}

impl UndoOutcome {
    /// An outcome of `change` with no conflicts.
    pub fn of(change: &RunChange, action: UndoAction, detail: impl Into<String>) -> UndoOutcome {
        UndoOutcome {
            row: change.row,
            line: change.line,
            code: change.code.clone(),
            action,
            customer_id: change.kind.id().unwrap_or_default().to_owned(),
            detail: detail.into(),
            conflicts: Vec::new(),
        }
    }
}

/// Per-action counts of an undo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UndoCounts {
    counts: [u64; 6],
}

impl UndoCounts {
    /// Counts one row.
    pub fn add(&mut self, action: UndoAction) {
        self.counts[action as usize] += 1;
    }

    /// Rows with `action`.
    pub fn get(&self, action: UndoAction) -> u64 {
        self.counts[action as usize]
    }

    /// Every row counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Whether every row was undone as asked.
    pub fn all_undone(&self) -> bool {
        UndoAction::ALL
            .into_iter()
            .all(|a| a.is_undone() || self.get(a) == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_back_and_only_restored_and_deleted_are_undone() {
        for a in UndoAction::ALL {
            assert_eq!(UndoAction::parse(a.as_str()), Some(a));
        }
        let mut c = UndoCounts::default();
        c.add(UndoAction::Restored);
        c.add(UndoAction::Deleted);
        assert!(c.all_undone());
        c.add(UndoAction::Kept);
        assert!(!c.all_undone());
        assert_eq!(c.total(), 3);
        assert!(UndoAction::Conflict.is_final() && !UndoAction::Failed.is_final());
    }
}
