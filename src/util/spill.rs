//! Spill: sorting more records than memory should hold, with sorted runs
//! on disk and a k-way merge.
//!
//! Owns the one way this tool keeps per-row facts that must be read back in
//! an order other than the one they were learned in (code hashes for the
//! duplicate check, duplicates by row, an earlier run's outcomes by row)
//! without memory growing with the file. Records collect in memory up to a
//! byte budget; a full buffer is sorted and written to an unnamed temporary
//! file (removed by the OS when closed, even after a crash). Reading merges
//! the runs. A file whose records fit the budget never touches the disk.
//!
//! It must not know what the records mean: they say how they sort and how
//! they are written ([`Record`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

/// Bytes of records held in memory before they are written out as a run.
pub const DEFAULT_BUDGET: usize = 2 << 20;

/// Most runs merged at once; more are first merged into longer runs, so
/// open files and read buffers stay bounded however long the input.
const MAX_FAN_IN: usize = 64;

/// Read and write buffer of one run.
const RUN_BUFFER: usize = 16 << 10;

/// Where runs go and how much memory a sorter may hold before it writes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scratch {
    /// Directory of the temporary files.
    pub dir: PathBuf,
    /// Bytes of records held in memory before a run is written.
    pub budget: usize,
}

impl Scratch {
    /// Temporary files in `dir`, [`DEFAULT_BUDGET`] of memory.
    pub fn in_dir(dir: &Path) -> Scratch {
        Scratch {
            dir: dir.to_owned(),
            budget: DEFAULT_BUDGET,
        }
    }

    /// Temporary files in the directory of `file` (the current one for a
    /// bare file name), [`DEFAULT_BUDGET`] of memory.
    pub fn beside(file: &Path) -> Scratch {
        match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => Scratch::in_dir(dir),
            _ => Scratch::in_dir(Path::new(".")),
        }
    }
}

/// A record that can be sorted on disk.
pub trait Record: Ord + Sized {
    /// Appends the record's bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads one record written by [`Record::encode`]; `Ok(None)` at the
    /// end of the run.
    fn decode(input: &mut impl BufRead) -> io::Result<Option<Self>>;
    /// Heap bytes the record owns besides its own size, for the budget.
    fn heap_bytes(&self) -> usize {
        0
    }
}

/// Collects records, then hands them back sorted ([`Spill::sorted`]).
pub struct Spill<T> {
    items: Vec<T>,
    bytes: usize,
    budget: usize,
    dir: PathBuf,
    runs: Vec<File>,
}

impl<T: Record> Spill<T> {
    /// A sorter that keeps up to `scratch.budget` bytes of records in
    /// memory and writes runs to temporary files in `scratch.dir`.
    pub fn new(scratch: &Scratch) -> Spill<T> {
        Spill {
            items: Vec::new(),
            bytes: 0,
            budget: scratch.budget.max(1),
            dir: scratch.dir.clone(),
            runs: Vec::new(),
        }
    }

    /// Adds a record; may write a run.
    pub fn push(&mut self, item: T) -> io::Result<()> {
        if self.items.capacity() == 0 {
            // Sized once, so the buffer never doubles past the budget.
            self.items
                .reserve_exact(self.budget / std::mem::size_of::<T>().max(1) + 1);
        }
        self.bytes += std::mem::size_of::<T>() + item.heap_bytes();
        self.items.push(item);
        if self.bytes >= self.budget {
            self.write_run()?;
        }
        Ok(())
    }

    /// Runs written to disk so far.
    pub fn runs_written(&self) -> usize {
        self.runs.len()
    }

    fn write_run(&mut self) -> io::Result<()> {
        self.items.sort_unstable();
        let file = write_run(&self.dir, self.items.drain(..).map(Ok))?;
        self.runs.push(file);
        self.bytes = 0;
        Ok(())
    }

    /// Every record pushed, in order.
    pub fn sorted(mut self) -> io::Result<Sorted<T>> {
        if self.runs.is_empty() {
            self.items.sort_unstable();
            return Ok(Sorted::Memory(self.items.into_iter()));
        }
        if !self.items.is_empty() {
            self.write_run()?;
        }
        self.items = Vec::new();
        let mut runs = self.runs;
        while runs.len() > MAX_FAN_IN {
            let rest = runs.split_off(MAX_FAN_IN);
            let merged = write_run(&self.dir, Merge::<T>::new(runs)?)?;
            runs = rest;
            runs.push(merged);
        }
        Ok(Sorted::Merge(Merge::new(runs)?))
    }
}

/// Writes `items` (already in order) to a new temporary file, rewound.
fn write_run<T: Record>(
    dir: &Path,
    items: impl Iterator<Item = io::Result<T>>,
) -> io::Result<File> {
    // In a run's held folder, through its handle (see `run_dir`).
    #[cfg(unix)]
    let made = match super::run_dir::held_folder(dir) {
        Some(held) => held.temp_file(),
        None => tempfile::tempfile_in(dir),
    };
    #[cfg(not(unix))]
    let made = tempfile::tempfile_in(dir);
    let file = made.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot create a temporary file in {}: {e}", dir.display()),
        )
    })?;
    let mut out = BufWriter::with_capacity(RUN_BUFFER, file);
    let mut buf = Vec::new();
    for item in items {
        buf.clear();
        item?.encode(&mut buf);
        out.write_all(&buf)?;
    }
    let mut file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.rewind()?;
    Ok(file)
}

/// Sorted records, from memory or merged from runs on disk.
pub enum Sorted<T> {
    /// Everything fitted in the budget.
    Memory(std::vec::IntoIter<T>),
    /// Runs on disk, merged while read.
    Merge(Merge<T>),
}

impl<T: Record> Iterator for Sorted<T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<io::Result<T>> {
        match self {
            Sorted::Memory(items) => items.next().map(Ok),
            Sorted::Merge(merge) => merge.next(),
        }
    }
}

impl<T> std::fmt::Debug for Sorted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sorted::Memory(items) => write!(f, "Sorted::Memory({} left)", items.len()),
            Sorted::Merge(m) => write!(f, "Sorted::Merge({} runs)", m.runs.len()),
        }
    }
}

/// A k-way merge of sorted runs: the smallest head record comes next.
pub struct Merge<T> {
    runs: Vec<BufReader<File>>,
    heads: BinaryHeap<Reverse<(T, usize)>>,
    failed: bool,
}

impl<T: Record> Merge<T> {
    fn new(files: Vec<File>) -> io::Result<Merge<T>> {
        let mut runs: Vec<BufReader<File>> = files
            .into_iter()
            .map(|f| BufReader::with_capacity(RUN_BUFFER, f))
            .collect();
        let mut heads = BinaryHeap::with_capacity(runs.len());
        for (i, run) in runs.iter_mut().enumerate() {
            if let Some(item) = T::decode(run)? {
                heads.push(Reverse((item, i)));
            }
        }
        Ok(Merge {
            runs,
            heads,
            failed: false,
        })
    }
}

impl<T: Record> Iterator for Merge<T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<io::Result<T>> {
        if self.failed {
            return None;
        }
        let Reverse((item, i)) = self.heads.pop()?;
        match T::decode(&mut self.runs[i]) {
            Ok(Some(next)) => self.heads.push(Reverse((next, i))),
            Ok(None) => {}
            Err(e) => {
                // One error ends the stream: a run cut short cannot be
                // merged correctly.
                self.failed = true;
                return Some(Err(e));
            }
        }
        Some(Ok(item))
    }
}

/// Reads exactly `N` bytes; `Ok(None)` if the input is at its end, an
/// error if it ends inside them.
pub fn read_array<const N: usize>(input: &mut impl BufRead) -> io::Result<Option<[u8; N]>> {
    if input.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let mut buf = [0u8; N];
    input.read_exact(&mut buf).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("a temporary sort file ended inside a record ({e})"),
        )
    })?;
    Ok(Some(buf))
}

/// Splits `bytes` into little-endian `u64`s (a record's fixed fields).
pub fn u64s<const N: usize>(bytes: &[u8]) -> [u64; N] {
    let mut out = [0u64; N];
    for (value, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *value = u64::from_le_bytes(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A key with a payload of varying length: sorts by key, then payload.
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    struct Item(u64, Vec<u8>);

    impl Record for Item {
        fn encode(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.0.to_le_bytes());
            out.extend_from_slice(&(self.1.len() as u64).to_le_bytes());
            out.extend_from_slice(&self.1);
        }

        fn decode(input: &mut impl BufRead) -> io::Result<Option<Self>> {
            let Some(head) = read_array::<16>(input)? else {
                return Ok(None);
            };
            let [key, len] = u64s::<2>(&head);
            let mut payload = vec![0; len as usize];
            input.read_exact(&mut payload)?;
            Ok(Some(Item(key, payload)))
        }

        fn heap_bytes(&self) -> usize {
            self.1.len()
        }
    }

    fn sort_with_budget(items: &[Item], budget: usize) -> (Vec<Item>, usize) {
        let dir = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(&Scratch {
            dir: dir.path().to_owned(),
            budget,
        });
        for item in items {
            spill.push(item.clone()).unwrap();
        }
        let runs = spill.runs_written();
        let sorted = spill.sorted().unwrap().collect::<io::Result<Vec<_>>>();
        // Unnamed files: nothing is left in the directory, even while open.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        (sorted.unwrap(), runs)
    }

    proptest! {
        #[test]
        fn sorts_like_sort_whatever_the_budget(
            items in prop::collection::vec(
                (0u64..50, prop::collection::vec(any::<u8>(), 0..20)).prop_map(|(k, p)| Item(k, p)),
                0..400,
            ),
            budget in 1usize..2000,
        ) {
            let mut expected = items.clone();
            expected.sort();
            let (sorted, _) = sort_with_budget(&items, budget);
            prop_assert_eq!(sorted, expected);
        }
    }

    #[test]
    fn more_runs_than_the_fan_in_are_merged_in_steps() {
        // Budget of one record: a run per record, well over MAX_FAN_IN.
        let items: Vec<Item> = (0..(MAX_FAN_IN as u64 * 3 + 7))
            .map(|i| Item((i * 7919) % 1000, vec![i as u8]))
            .collect();
        let (sorted, runs) = sort_with_budget(&items, 1);
        assert!(runs > MAX_FAN_IN * 2, "{runs} runs");
        let mut expected = items;
        expected.sort();
        assert_eq!(sorted, expected);
    }

    #[test]
    fn records_within_the_budget_stay_in_memory() {
        let items = vec![Item(3, vec![]), Item(1, vec![1]), Item(2, vec![2])];
        let (sorted, runs) = sort_with_budget(&items, 1 << 20);
        assert_eq!(runs, 0);
        assert_eq!(sorted.iter().map(|i| i.0).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn a_run_cut_inside_a_record_is_an_error_not_a_short_stream() {
        let mut cut: &[u8] = &[1, 2, 3];
        assert!(Item::decode(&mut cut).is_err());
        let mut empty: &[u8] = &[];
        assert!(Item::decode(&mut empty).unwrap().is_none());
    }
}
