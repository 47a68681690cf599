//! The input, opened once per run.
//!
//! Owns the one open handle on the user's file: every later read (the
//! encoding check, the pass, the errors file of a check) reads through it
//! from an offset of its own, so the path is opened once and a file
//! renamed or replaced after the start cannot be mixed into the run. What
//! cannot be read twice (a FIFO, a pipe, `/dev/stdin`) is copied once into
//! an unnamed temporary file, which the OS removes when the run ends
//! ([`super::spool`] bounds that copy).
//!
//! Also owns the input's fingerprint: it is hashed from the very bytes the
//! pass parses ([`Fingerprinter`]), never by reading the file again (but
//! once, before the pass, when an unfinished run of the same size is in
//! the way: [`InputFile::fingerprint_if_size`]).
//!
//! It must not interpret the bytes: decoding and parsing come after it.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{InputError, InputOptions};

use crate::model::checked::Fingerprint;

/// An input file, opened once.
#[derive(Debug, Clone)]
pub struct InputFile {
    path: PathBuf,
    file: Arc<File>,
    /// A copy of what could be read only once.
    spooled: bool,
}

impl InputFile {
    /// Opens `path` once. A file that cannot be read from an offset (FIFO,
    /// pipe, character device) is copied into an unnamed temporary file in
    /// the system's temporary folder, within the bounds `options` set
    /// (see [`super::spool`]).
    pub fn open(path: &Path, options: &InputOptions) -> Result<InputFile, InputError> {
        InputFile::open_in(path, options, None)
    }

    /// [`InputFile::open`], copying into `spool_dir` when `Some`.
    fn open_in(
        path: &Path,
        options: &InputOptions,
        spool_dir: Option<&Path>,
    ) -> Result<InputFile, InputError> {
        let io_err = |source| InputError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        if meta.is_dir() {
            return Err(io_err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a folder; name a CSV file",
            )));
        }
        let spooled = !meta.is_file();
        if spooled {
            let encoding = options
                .encoding
                .as_deref()
                .and_then(super::decode::encoding_for_label);
            file = super::spool::copy(
                path,
                &mut file,
                spool_dir,
                options.max_record_bytes,
                encoding,
            )?;
        }
        Ok(InputFile {
            path: path.to_path_buf(),
            file: Arc::new(file),
            spooled,
        })
    }

    /// The file as the user named it (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open regular file itself (for a lock on it); `None` for a copy
    /// of a FIFO or device.
    pub fn regular(&self) -> Option<Arc<File>> {
        (!self.spooled).then(|| Arc::clone(&self.file))
    }

    /// The file is a workbook (by its content, see [`super::format`]); its
    /// errors file is then a workbook too. A file that cannot be read
    /// counts as not one (reading it reports why).
    pub fn is_workbook(&self) -> bool {
        matches!(
            super::format::detect(&mut self.from_start(), false),
            Ok(super::format::FileKind::Workbook(_))
        )
    }

    /// A reader from the first byte, with its own position: readers of
    /// one file never disturb each other.
    pub fn from_start(&self) -> At {
        At {
            file: Arc::clone(&self.file),
            pos: 0,
        }
    }
}

impl InputFile {
    /// The fingerprint of the whole file, read once more from the start.
    /// Only for deciding, before the pass, whether an unfinished run was
    /// of this very file (the pass comes too late: the answer decides the
    /// run's folder); its size is compared first, so a changed export is
    /// mostly told apart without reading it.
    pub fn fingerprint_if_size(&self, size: u64) -> io::Result<Option<Fingerprint>> {
        if self.file.metadata()?.len() != size {
            return Ok(None);
        }
        let fingerprinter = Fingerprinter::default();
        io::copy(&mut fingerprinter.wrap(self.from_start()), &mut io::sink())?;
        Ok(fingerprinter.finish())
    }
}

/// Reads an [`InputFile`] from an offset of its own.
#[derive(Debug)]
pub struct At {
    file: Arc<File>,
    pos: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = read_at(&self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl io::Seek for At {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        let to = match pos {
            io::SeekFrom::Start(n) => Some(n),
            io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            io::SeekFrom::End(d) => self.file.metadata()?.len().checked_add_signed(d),
        };
        self.pos = to.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        Ok(self.pos)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, pos)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, pos)
}

/// Hashes what a reader hands on; [`Fingerprinter::finish`] gives the
/// fingerprint once the reader reached the end.
#[derive(Debug, Clone, Default)]
pub struct Fingerprinter(Arc<Mutex<Hashed>>);

#[derive(Default)]
struct Hashed {
    hasher: xxhash_rust::xxh3::Xxh3,
    size: u64,
    at_end: bool,
}

impl std::fmt::Debug for Hashed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hashed")
            .field("size", &self.size)
            .field("at_end", &self.at_end)
            .finish_non_exhaustive()
    }
}

impl Fingerprinter {
    /// Wraps `inner` so that every byte read through it is hashed.
    pub fn wrap<R: Read>(&self, inner: R) -> Hashing<R> {
        Hashing {
            inner,
            into: self.clone(),
        }
    }

    /// The fingerprint of everything read, if the reader reached the end
    /// of the input; `None` when it stopped before.
    pub fn finish(&self) -> Option<Fingerprint> {
        let hashed = self.0.lock().ok()?;
        hashed.at_end.then(|| Fingerprint {
            size: hashed.size,
            hash: format!("{:032x}", hashed.hasher.digest128()),
        })
    }
}

/// A reader that hashes what it reads (see [`Fingerprinter`]).
#[derive(Debug)]
pub struct Hashing<R> {
    inner: R,
    into: Fingerprinter,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        // One lock per read of the decoder's buffer (tens of KiB), not per
        // row.
        if let Ok(mut hashed) = self.into.0.lock() {
            if n == 0 {
                hashed.at_end = !buf.is_empty();
            } else {
                hashed.hasher.update(&buf[..n]);
                hashed.size += n as u64;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_keep_their_own_position_and_the_hash_covers_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, b"a;b\n1;2\n").unwrap();
        let file = InputFile::open(&path, &InputOptions::default()).unwrap();
        let mut first = file.from_start();
        let mut two = [0u8; 2];
        first.read_exact(&mut two).unwrap();
        let mut all = Vec::new();
        file.from_start().read_to_end(&mut all).unwrap();
        assert_eq!(all, b"a;b\n1;2\n");
        let mut rest = Vec::new();
        first.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"b\n1;2\n");

        let fp = Fingerprinter::default();
        let mut hashing = fp.wrap(file.from_start());
        hashing.read_exact(&mut two).unwrap();
        assert_eq!(fp.finish(), None, "not at the end yet");
        std::io::copy(&mut hashing, &mut std::io::sink()).unwrap();
        let done = fp.finish().unwrap();
        assert_eq!(done.size, 8);
        assert_eq!(
            done.hash,
            format!("{:032x}", xxhash_rust::xxh3::xxh3_128(b"a;b\n1;2\n"))
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_endless_device_is_refused_at_once() {
        for device in ["/dev/zero", "/dev/urandom"] {
            let err = InputFile::open(Path::new(device), &InputOptions::default()).unwrap_err();
            assert!(err.to_string().contains("is not a text file"), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_read_once_into_a_private_copy() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("in.fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, b"Code,Name\n1,A\n").unwrap())
        };
        let file = InputFile::open_in(&fifo, &InputOptions::default(), Some(dir.path())).unwrap();
        writer.join().unwrap();
        for _ in 0..2 {
            let mut all = String::new();
            file.from_start().read_to_string(&mut all).unwrap();
            assert_eq!(all, "Code,Name\n1,A\n");
        }
    }
}
