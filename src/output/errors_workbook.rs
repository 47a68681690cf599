//! The errors file as a workbook, for an input that was one: the rows
//! that were not imported, to fix in Excel and import again.
//!
//! Owns the `.xlsx` form of the errors file (`errors_file.rs` pairs the
//! rows with their outcomes and hands them here): one sheet, the header
//! row frozen, every cell a text cell in a Text-formatted column (`@`), so
//! `00123` stays `00123` both now and when the user types over it, and no
//! cell is ever a formula (so no neutralizing apostrophe is needed, unlike
//! in CSV). Rows are written to a temporary file as they come
//! (rust_xlsxwriter's constant-memory mode), in the errors file's own
//! folder (a run folder is private), and the workbook is put in place
//! whole or not at all ([`AtomicFile`]), mode 0600.
//!
//! It must not choose rows or word errors.

use std::io;
use std::path::Path;

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::output::errors_file::RowsOut;
use crate::util::atomic::AtomicFile;

/// The sheet's name in the errors workbook.
pub const SHEET: &str = "not imported";

/// Longest text a cell holds in Excel; a longer value is cut there.
const CELL_MAX_CHARS: usize = 32_767;

/// Rows a sheet holds in Excel.
const MAX_ROWS: u32 = 1_048_576;

/// The errors workbook being written.
pub struct Sheet {
    book: Workbook,
    file: AtomicFile,
    text: Format,
    header: Format,
    row: u32,
}

fn xlsx_err(e: XlsxError) -> io::Error {
    match e {
        XlsxError::IoError(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

impl Sheet {
    /// A workbook to be put at `path` once complete.
    pub fn new(path: &Path) -> io::Result<Sheet> {
        let file = AtomicFile::create(path)?;
        let mut book = Workbook::new();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            book.set_tempdir(dir).map_err(xlsx_err)?;
        }
        let sheet = book
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_err)?;
        sheet.set_name(SHEET).map_err(xlsx_err)?;
        sheet.set_freeze_panes(1, 0).map_err(xlsx_err)?;
        let text = Format::new().set_num_format("@");
        Ok(Sheet {
            header: text.clone().set_bold(),
            text,
            book,
            file,
            row: 0,
        })
    }

    fn put(&mut self, cells: &[&str], error: &str) -> Result<(), XlsxError> {
        if self.row >= MAX_ROWS {
            return Err(XlsxError::RowColumnLimitError);
        }
        let sheet = self.book.worksheet_from_index(0)?;
        let format = if self.row == 0 {
            &self.header
        } else {
            &self.text
        };
        for (c, value) in cells.iter().chain(std::iter::once(&error)).enumerate() {
            let c = u16::try_from(c).map_err(|_| XlsxError::RowColumnLimitError)?;
            if self.row == 0 {
                // Text-formatted columns: what the user types stays text.
                sheet.set_column_format(c, &self.text)?;
            }
            if value.is_empty() {
                continue;
            }
            let value = match value.char_indices().nth(CELL_MAX_CHARS) {
                Some((cut, _)) => &value[..cut],
                None => value,
            };
            sheet.write_string_with_format(self.row, c, value, format)?;
        }
        self.row += 1;
        Ok(())
    }
}

impl RowsOut for Sheet {
    fn row(&mut self, cells: &[&str], error: &str) -> io::Result<()> {
        self.put(cells, error).map_err(xlsx_err)
    }

    fn commit(self: Box<Self>) -> io::Result<()> {
        let Sheet {
            mut book, mut file, ..
        } = *self;
        book.save_to_writer(&mut file).map_err(xlsx_err)?;
        file.commit().map(drop)
    }
}
