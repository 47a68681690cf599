//! Reading `--api-key-file`: a small text file whose first line is the key.
//!
//! Owns the cap on what is read ([`MAX_KEY_FILE`]: `/dev/zero` or a log
//! file named by mistake is refused after a few KiB, never read to the
//! end), the text checks (UTF-8; a UTF-8 byte-order mark, as Windows
//! editors write, is ignored; UTF-16 is refused naming the fix) and taking
//! the first line. Its errors never contain the file's content. It must
//! not check the key's format: [`super::ApiKey::parse`] does.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Most bytes a key file may have: a key is under 150 bytes, so this
/// leaves room for a comment line or two and nothing more.
pub const MAX_KEY_FILE: u64 = 4096;

/// Why a key file cannot be used. The text names the file, never its content.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// It cannot be opened or read.
    #[error("cannot read the API key file {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// More than [`MAX_KEY_FILE`] bytes (or an endless device).
    #[error("the API key file {} is larger than {MAX_KEY_FILE} bytes; it should hold only the key, on its first line: check the path", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// Saved as UTF-16 ("Unicode" in Windows Notepad).
    #[error("the API key file {} is saved as UTF-16; save it as UTF-8 (or plain ASCII) text", path.display())]
    Utf16 {
        /// The file.
        path: PathBuf,
    },
    /// Not text.
    #[error("the API key file {} is not UTF-8 text; it should hold only the key, on its first line", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
    },
}

/// The first line of the key file at `path`, without a byte-order mark.
pub fn first_line(path: &Path) -> Result<String, KeyFileError> {
    let unreadable = |source| KeyFileError::Unreadable {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(KeyFileError::TooLarge {
            path: path.to_owned(),
        });
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(KeyFileError::Utf16 {
            path: path.to_owned(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| KeyFileError::NotText {
        path: path.to_owned(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    Ok(text.lines().next().unwrap_or("").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<String, KeyFileError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, bytes).unwrap();
        first_line(&path)
    }

    #[test]
    fn the_first_line_without_a_byte_order_mark() {
        assert_eq!(read(b"\xEF\xBB\xBFtest_abc\r\nmore\n").unwrap(), "test_abc");
        assert_eq!(read(b"test_abc").unwrap(), "test_abc");
        assert_eq!(read(b"").unwrap(), "");
    }

    #[test]
    fn large_binary_and_utf16_files_are_refused_without_their_content() {
        let big = vec![b'x'; MAX_KEY_FILE as usize + 1];
        assert!(matches!(read(&big), Err(KeyFileError::TooLarge { .. })));
        assert!(read(&big[..MAX_KEY_FILE as usize]).is_ok());
        assert!(matches!(
            read(b"\xFF\xFEt\0e\0"),
            Err(KeyFileError::Utf16 { .. })
        ));
        let err = read(b"test_secret\xFF").unwrap_err();
        assert!(matches!(err, KeyFileError::NotText { .. }));
        assert!(!err.to_string().contains("secret"));
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_device_is_refused_after_the_cap() {
        assert!(matches!(
            first_line(Path::new("/dev/zero")),
            Err(KeyFileError::TooLarge { .. })
        ));
    }
}
