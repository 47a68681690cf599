//! Lookup: finding records by a 128-bit key without holding them in memory.
//!
//! Owns [`Table`], built once from records already in key order (a
//! [`crate::util::spill`] sort's output): their encoded bytes stay in
//! memory up to the scratch budget and go to an unnamed temporary file
//! beyond it, and only every [`BLOCK`]th record's key and offset is kept
//! in memory (a sparse index, 1/32 of the keys). Each record is stored
//! behind its key and length: a lookup reads the few blocks that can hold
//! the key and decodes only the records with that key. The table can also be read through in
//! key order ([`Table::for_each`]).
//!
//! It must not know what the records mean: they say how they are written
//! ([`Record`]) and what their key is ([`Keyed`]).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};

use crate::util::spill::{Record, Scratch};

/// Records per sparse-index entry.
pub const BLOCK: u64 = 32;

/// A record with a 128-bit key (a hash); records sort by key first.
pub trait Keyed: Record {
    /// The record's key.
    fn key(&self) -> u128;
}

/// Records in key order, found by key; see the module doc.
pub struct Table<T> {
    bytes: Bytes,
    /// Key of the first record of each block, and where the block starts.
    index: Vec<(u128, u64)>,
    /// Bytes of records written.
    end: u64,
    len: u64,
    _records: PhantomData<fn() -> T>,
}

enum Bytes {
    Memory(Vec<u8>),
    File(Mutex<File>),
}

impl<T: Keyed> Table<T> {
    /// Builds the table from `items`, which must come in key order.
    /// Bytes beyond `scratch.budget` go to a temporary file in `scratch.dir`.
    pub fn build(
        items: impl IntoIterator<Item = io::Result<T>>,
        scratch: &Scratch,
    ) -> io::Result<Table<T>> {
        let mut memory = Vec::new();
        let mut file: Option<BufWriter<File>> = None;
        let mut index = Vec::new();
        let (mut end, mut len) = (0u64, 0u64);
        let mut buf = Vec::new();
        for item in items {
            let item = item?;
            if len.is_multiple_of(BLOCK) {
                index.push((item.key(), end));
            }
            buf.clear();
            // Each record behind its key and length, so a lookup skips
            // the records before its key without decoding them.
            buf.extend_from_slice(&item.key().to_le_bytes());
            buf.extend_from_slice(&[0; 4]);
            item.encode(&mut buf);
            let size = u32::try_from(buf.len() - FRAME).map_err(io::Error::other)?;
            buf[16..FRAME].copy_from_slice(&size.to_le_bytes());
            match file.as_mut() {
                Some(out) => out.write_all(&buf)?,
                None => {
                    memory.extend_from_slice(&buf);
                    if memory.len() > scratch.budget {
                        let mut out = BufWriter::new(temp_file(scratch)?);
                        out.write_all(&memory)?;
                        memory = Vec::new();
                        file = Some(out);
                    }
                }
            }
            end += buf.len() as u64;
            len += 1;
        }
        let bytes = match file {
            Some(out) => Bytes::File(Mutex::new(
                out.into_inner().map_err(io::IntoInnerError::into_error)?,
            )),
            None => Bytes::Memory(memory),
        };
        Ok(Table {
            bytes,
            index,
            end,
            len,
            _records: PhantomData,
        })
    }

    /// Records held.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the table holds no record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the table is on disk (more than the budget).
    pub fn on_disk(&self) -> bool {
        matches!(self.bytes, Bytes::File(_))
    }

    /// Every record with key `key`, in table order.
    pub fn get(&self, key: u128) -> io::Result<Vec<T>> {
        // Blocks whose first key is below `key` may end with it; the first
        // block starting above it cannot hold it.
        let first = self
            .index
            .partition_point(|(k, _)| *k < key)
            .saturating_sub(1);
        let last = self.index.partition_point(|(k, _)| *k <= key);
        let Some(&(_, start)) = self.index.get(first) else {
            return Ok(Vec::new());
        };
        let stop = self.index.get(last).map_or(self.end, |(_, at)| *at);
        let bytes = self.read(start, stop)?;
        let mut rest: &[u8] = &bytes;
        let mut found = Vec::new();
        while let Some((k, mut record, after)) = frame(rest)? {
            rest = after;
            match k.cmp(&key) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => found.push(decoded::<T>(&mut record)?),
                std::cmp::Ordering::Greater => break,
            }
        }
        Ok(found)
    }

    /// Calls `f` with every record, in key order, until it returns false.
    pub fn for_each(&self, mut f: impl FnMut(T) -> io::Result<bool>) -> io::Result<()> {
        // One block at a time, so a table on disk is never read whole.
        for (i, &(_, start)) in self.index.iter().enumerate() {
            let stop = self.index.get(i + 1).map_or(self.end, |(_, at)| *at);
            let bytes = self.read(start, stop)?;
            let mut rest: &[u8] = &bytes;
            while let Some((_, mut record, after)) = frame(rest)? {
                rest = after;
                if !f(decoded::<T>(&mut record)?)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn read(&self, start: u64, stop: u64) -> io::Result<Cow<'_, [u8]>> {
        let range = |n: u64| usize::try_from(n).map_err(io::Error::other);
        match &self.bytes {
            Bytes::Memory(all) => Ok(Cow::Borrowed(&all[range(start)?..range(stop)?])),
            Bytes::File(file) => {
                let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
                file.seek(SeekFrom::Start(start))?;
                let mut out = vec![0; range(stop - start)?];
                file.read_exact(&mut out)?;
                Ok(Cow::Owned(out))
            }
        }
    }
}

/// Bytes in front of each record: its key and its length.
const FRAME: usize = 20;

/// A framed record: its key, its bytes, and the bytes after it.
type Framed<'a> = (u128, &'a [u8], &'a [u8]);

/// The next record of `bytes`.
fn frame(bytes: &[u8]) -> io::Result<Option<Framed<'_>>> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let cut = || {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "a lookup table ended inside a record",
        )
    };
    let head = bytes.get(..FRAME).ok_or_else(cut)?;
    let mut key = [0; 16];
    key.copy_from_slice(&head[..16]);
    let mut len = [0; 4];
    len.copy_from_slice(&head[16..]);
    let len = u32::from_le_bytes(len) as usize;
    let record = bytes.get(FRAME..FRAME + len).ok_or_else(cut)?;
    Ok(Some((
        u128::from_le_bytes(key),
        record,
        &bytes[FRAME + len..],
    )))
}

/// The one record in `record`.
fn decoded<T: Record>(record: &mut &[u8]) -> io::Result<T> {
    T::decode(record)?.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "an empty record"))
}

fn temp_file(scratch: &Scratch) -> io::Result<File> {
    tempfile::tempfile_in(&scratch.dir).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot create a temporary file in {}: {e}",
                scratch.dir.display()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::spill::{self, Spill};
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    struct Item(u128, String);

    impl Record for Item {
        fn encode(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.0.to_le_bytes());
            out.extend_from_slice(&(self.1.len() as u64).to_le_bytes());
            out.extend_from_slice(self.1.as_bytes());
        }

        fn decode(input: &mut impl io::BufRead) -> io::Result<Option<Self>> {
            let Some(head) = spill::read_array::<24>(input)? else {
                return Ok(None);
            };
            let [lo, hi, n] = spill::u64s::<3>(&head);
            let mut text = vec![0; n as usize];
            input.read_exact(&mut text)?;
            let text = String::from_utf8(text).map_err(io::Error::other)?;
            Ok(Some(Item(u128::from(lo) | (u128::from(hi) << 64), text)))
        }

        fn heap_bytes(&self) -> usize {
            self.1.len()
        }
    }

    impl Keyed for Item {
        fn key(&self) -> u128 {
            self.0
        }
    }

    fn table(items: &[Item], budget: usize) -> (Table<Item>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let scratch = Scratch {
            dir: dir.path().to_owned(),
            budget,
        };
        let mut spill = Spill::new(&scratch);
        for item in items {
            spill.push(item.clone()).unwrap();
        }
        let t = Table::build(spill.sorted().unwrap(), &scratch).unwrap();
        (t, dir)
    }

    proptest! {
        #[test]
        fn finds_every_key_and_only_its_records_whatever_the_budget(
            items in prop::collection::vec((0u128..60, "[a-z]{0,6}").prop_map(|(k, s)| Item(k, s)), 0..300),
            budget in 1usize..3000,
        ) {
            let (t, _dir) = table(&items, budget);
            prop_assert_eq!(t.len(), items.len() as u64);
            for key in 0u128..62 {
                let mut want: Vec<Item> = items.iter().filter(|i| i.0 == key).cloned().collect();
                want.sort();
                prop_assert_eq!(t.get(key).unwrap(), want);
            }
            let mut all = Vec::new();
            t.for_each(|i| { all.push(i); Ok(true) }).unwrap();
            let mut sorted = items.clone();
            sorted.sort();
            prop_assert_eq!(all, sorted);
        }
    }

    #[test]
    fn beyond_the_budget_the_records_go_to_an_unnamed_file() {
        let items: Vec<Item> = (0..1000u128)
            .map(|k| Item(k * 7, format!("v{k}")))
            .collect();
        let (small, dir) = table(&items, 1 << 10);
        assert!(small.on_disk());
        // Unnamed: nothing is left in the directory, even while open.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert_eq!(small.get(700).unwrap(), [Item(700, "v100".into())]);
        assert!(small.get(701).unwrap().is_empty());
        let (big, _dir) = table(&items, 1 << 20);
        assert!(!big.on_disk());
        // The sparse index: one entry per block, not per record.
        assert_eq!(big.index.len() as u64, 1000u64.div_ceil(BLOCK));
    }
}
