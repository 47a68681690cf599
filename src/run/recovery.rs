//! What a run takes over from the runs before it, and hands on.
//!
//! Owns two rules. An unfinished run of another version of the input
//! (tonight's export where last night's run was interrupted) is no run to
//! resume: the new run starts on its own and leaves that one as it is,
//! marked abandoned ([`input_changed`], [`Abandoned`]). And codes whose
//! create may have gone through unseen (the answer lost, the look-up
//! failed, or the process killed with the create in flight) are looked up
//! by the next import to the same API before anything is sent for them,
//! whether it resumes, re-runs the same file or runs a changed one:
//! inherited at the start ([`inherited`]), passed on at the end
//! ([`carry`]); the file is [`crate::store::doubt`]'s.
//!
//! Also the words the journal keeps for how the columns were mapped
//! ([`mapping_words`]), so `--resume` refuses another `--mapping` or
//! `--map`.
//!
//! It never writes into another run's folder (the `abandoned` mark is the
//! start's, [`super::start`]), never talks to the network and decides
//! nothing about a row: the planner reads the codes.

use std::path::{Path, PathBuf};

use super::next_step::Flags;
use super::{RunFiles, RunFolder, Runs};
use crate::config::{Endpoint, KeyKind, RunConfig};
use crate::input::InputFile;
use crate::store::doubt::{Doubt, Target};

/// The unfinished run a new run left behind.
#[derive(Debug, Clone)]
pub struct Abandoned {
    /// Its folder, left as it was (plus the `abandoned` mark).
    pub folder: PathBuf,
    /// Why, as the mark says it: `by --restart`, or how the input changed.
    pub why: String,
}

/// How `input` differs from the input of the unfinished run in `folder`;
/// `None` when it is the same file (that run may be resumed) or when that
/// run's journal cannot be read (the user decides).
pub fn input_changed(folder: &RunFolder, input: &InputFile) -> Option<String> {
    let then = folder.started_as()?.input;
    let now = match input.fingerprint_if_size(then.size) {
        Ok(Some(now)) => now,
        // Another size: changed, without reading it.
        Ok(None) => {
            let size = std::fs::metadata(input.path()).map(|m| m.len()).ok();
            return Some(match size {
                Some(size) => format!("the input changed ({} bytes then, {size} now)", then.size),
                None => "the input changed".to_owned(),
            });
        }
        Err(e) => {
            tracing::warn!(
                "cannot tell whether {} changed since the unfinished run in {}: {e}",
                input.path().display(),
                folder.path().display()
            );
            return None;
        }
    };
    (now != then).then(|| {
        format!(
            "the input changed (the same {} bytes, other content)",
            then.size
        )
    })
}

/// The API and key kind `run` sends to; `None` for a check or the
/// embedded sandbox (whose customers end with the process).
pub fn target(run: &RunConfig) -> Option<Target> {
    let upload = run.upload.as_ref()?;
    match &upload.target {
        Endpoint::Remote { url, key } => Some(Target {
            api_url: url.as_str().to_owned(),
            key_kind: match key.kind() {
                KeyKind::Test => "test",
                KeyKind::Live => "live",
            }
            .to_owned(),
        }),
        Endpoint::Sandbox => None,
    }
}

/// What this run looks up before sending: for `--resume`, what the
/// resumed run inherited (its own journal says the rest); otherwise what
/// the newest earlier import to the same target left in doubt (nothing
/// is an empty set, written all the same so the next run finds this one).
/// A folder that cannot be read costs the look-ups, not the run: said.
pub fn inherited(run: &RunConfig, runs: &Runs, resumed: Option<&RunFolder>) -> Option<Doubt> {
    let target = target(run)?;
    let timeout = run.upload.as_ref()?.timeout;
    let found = match resumed {
        Some(folder) => Doubt::read(&folder.doubt()).map(|d| d.filter(|d| d.target == target)),
        None => runs.inherit(&target, timeout),
    };
    match found {
        Ok(found) => Some(found.unwrap_or_else(|| Doubt::none(target))),
        Err(e) => {
            tracing::warn!(
                "cannot read what an earlier run left in doubt: {e}; the codes it left in doubt are sent without being looked up first"
            );
            Some(Doubt::none(target))
        }
    }
}

/// At the end of a run whose journal goes (it reached the end of its
/// input, or sent nothing): writes into its folder what is still in
/// doubt, for the next run (see [`Doubt::left_at_end`]). A failure is said, and costs only the
/// look-ups of the next run.
pub fn carry(run: &RunConfig, files: &RunFiles, reached_end: bool) {
    let (Some(target), Some(upload)) = (target(run), run.upload.as_ref()) else {
        return;
    };
    let path = files.folder.doubt();
    let left = match reached_end {
        true => Doubt::left_at_end(&path, &files.journal, &target, upload.timeout),
        false => Doubt::inherit(&path, &files.journal, &target, upload.timeout),
    };
    let left = left
        .map(|d| d.unwrap_or_else(|| Doubt::none(target)))
        .and_then(|d| d.write(&path).map(|()| d));
    if let Err(e) = left {
        tracing::warn!(
            "cannot record the codes still in doubt: {e}; the next run sends them without looking them up first"
        );
    }
}

/// How many codes the run of `run` in `files` leaves in doubt for the
/// next run: its `doubt` file and, while it keeps its journal, what that
/// says. 0 for a check, the sandbox, or when they cannot be read.
pub fn left_in_doubt(run: &RunConfig, files: &RunFiles) -> u64 {
    let (Some(target), Some(upload)) = (target(run), run.upload.as_ref()) else {
        return 0;
    };
    Doubt::inherit(
        &files.folder.doubt(),
        &files.journal,
        &target,
        upload.timeout,
    )
    .ok()
    .flatten()
    .map_or(0, |d| d.len())
}

/// How `run` maps the columns, for the journal, so `--resume` refuses a
/// run that would map them otherwise: `--mapping` with the file's name
/// and the hash of its content (an edited file maps otherwise), then each
/// `--map`, as the words the user types; `the default mapping` without
/// either.
pub fn mapping_words(run: &RunConfig) -> String {
    let o = &run.input_options;
    let mut words = Vec::new();
    if let Some(file) = &o.mapping_file {
        let hash = std::fs::read(file).map_or_else(
            |_| "unreadable".to_owned(),
            |bytes| format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&bytes)),
        );
        // The name, not the path: the same file given another way maps alike.
        let name = file.file_name().unwrap_or(file.as_os_str());
        words.push(format!(
            "--mapping {} (content {hash})",
            Path::new(name).display()
        ));
    }
    for (field, column) in &o.map {
        Flags::push_map(&mut words, *field, column);
    }
    if words.is_empty() {
        "the default mapping".to_owned()
    } else {
        words.join(" ")
    }
}
