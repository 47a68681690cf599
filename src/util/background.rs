//! A writer whose writes happen on a thread of their own.
//!
//! Owns handing full buffers to a writing thread and giving them back
//! empty, so that the thread that produces the bytes (the pass, which is
//! the slowest stage of a check or an import) never waits in the kernel
//! copying them to the page cache. Two buffers go round; memory is fixed.
//! A failed write is kept and returned by the next write or by
//! [`Background::finish`], so no error is lost.
//!
//! It knows nothing of what is written.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bytes gathered before a buffer is handed to the writing thread.
const BUFFER: usize = 256 * 1024;

/// Writes to `W` on a thread of its own; see the module docs.
pub struct Background<W: Write + Send + 'static> {
    buffer: Vec<u8>,
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<io::Result<Vec<u8>>>,
    thread: Option<JoinHandle<W>>,
    /// Buffers that may come back from the thread.
    out: usize,
}

impl<W: Write + Send + 'static> Background<W> {
    /// Starts the writing thread for `inner`.
    pub fn new(inner: W) -> io::Result<Background<W>> {
        let (full, to_write) = sync_channel::<Vec<u8>>(1);
        let (give_back, empty) = sync_channel(2);
        let thread = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                let mut inner = inner;
                let mut failed = false;
                for mut buffer in to_write {
                    let result = if failed {
                        Err(io::Error::other("an earlier write failed"))
                    } else {
                        inner.write_all(&buffer)
                    };
                    failed |= result.is_err();
                    buffer.clear();
                    if give_back.send(result.map(|()| buffer)).is_err() {
                        break;
                    }
                }
                inner
            })?;
        Ok(Background {
            buffer: Vec::with_capacity(BUFFER),
            full: Some(full),
            empty,
            thread: Some(thread),
            out: 0,
        })
    }

    /// Hands the buffer over and takes an empty one (a new one while the
    /// second has not yet been made).
    fn hand_over(&mut self) -> io::Result<()> {
        let next = if self.out >= 2 {
            self.out -= 1;
            self.take_back()?
        } else {
            Vec::with_capacity(BUFFER)
        };
        let full = std::mem::replace(&mut self.buffer, next);
        let sender = self.full.as_ref().ok_or_else(gone)?;
        sender.send(full).map_err(|_| gone())?;
        self.out += 1;
        Ok(())
    }

    fn take_back(&mut self) -> io::Result<Vec<u8>> {
        self.empty.recv().map_err(|_| gone())?
    }

    /// Writes what is left, waits for the thread and gives the inner
    /// writer back, or the first error.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.buffer.is_empty() {
            self.hand_over()?;
        }
        self.full = None;
        let mut first_err = None;
        for _ in 0..self.out {
            if let Err(e) = self.take_back() {
                first_err.get_or_insert(e);
            }
        }
        self.out = 0;
        let inner = self
            .thread
            .take()
            .ok_or_else(gone)?
            .join()
            .map_err(|_| io::Error::other("the writing thread panicked"))?;
        match first_err {
            Some(e) => Err(e),
            None => Ok(inner),
        }
    }
}

fn gone() -> io::Error {
    io::Error::other("the writing thread is gone")
}

impl<W: Write + Send + 'static> Write for Background<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= BUFFER {
            self.hand_over()?;
        }
        Ok(buf.len())
    }

    /// Buffers are handed over when full; everything reaches the inner
    /// writer by [`Background::finish`].
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write + Send + 'static> Drop for Background<W> {
    fn drop(&mut self) {
        // Ends the thread; what it had is written or dropped with it.
        self.full = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_written_arrives_in_order() {
        let mut w = Background::new(Vec::new()).unwrap();
        let mut expected = Vec::new();
        for i in 0..200_000u32 {
            let bytes = i.to_le_bytes();
            w.write_all(&bytes).unwrap();
            expected.extend_from_slice(&bytes);
        }
        assert_eq!(w.finish().unwrap(), expected);
    }

    /// Accepts `room` bytes, then fails every write.
    struct Full(usize);

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.len() > self.0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_is_returned_not_lost() {
        let mut w = Background::new(Full(BUFFER)).unwrap();
        let chunk = vec![7u8; 1000];
        let mut seen = None;
        for _ in 0..2000 {
            if let Err(e) = w.write_all(&chunk) {
                seen = Some(e);
                break;
            }
        }
        let err = match seen {
            Some(e) => e,
            None => w.finish().err().expect("the failure surfaces at the end"),
        };
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    }
}
