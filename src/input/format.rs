//! What kind of file an input is, told from its content: text (CSV), a
//! workbook calamine can read, or something else.
//!
//! Owns recognising workbooks by their signatures and parts, not their
//! extension (a `.csv` that is really an `.xlsx`, an `.xls` that is really
//! a web page): a ZIP holding `xl/workbook.xml` (XLSX, XLSM), or
//! `xl/workbook.bin` (XLSB), or an OpenDocument spreadsheet `mimetype`
//! (ODS); an OLE compound file (XLS). Everything else that is plainly not
//! text (a PDF, an image, another archive, a program, a password-protected
//! Office file) is named, with what to export instead, so the user never
//! sees a ZIP read as Windows-1252.
//!
//! It must not read cells (that is `workbook/`) or decode text.

use std::fmt;
use std::io::{Read, Seek};

/// Bytes looked at to tell text from binary data.
const SNIFF: usize = 8 * 1024;

/// A workbook format calamine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkbookFormat {
    /// Office Open XML workbook (`.xlsx`).
    Xlsx,
    /// The same with macros (`.xlsm`).
    Xlsm,
    /// Excel binary workbook (`.xlsb`).
    Xlsb,
    /// Excel 97–2003 (`.xls`, BIFF in an OLE compound file).
    Xls,
    /// OpenDocument spreadsheet (`.ods`).
    Ods,
}

impl WorkbookFormat {
    /// The usual name: `XLSX`, `ODS`.
    pub fn name(self) -> &'static str {
        match self {
            WorkbookFormat::Xlsx => "XLSX",
            WorkbookFormat::Xlsm => "XLSM",
            WorkbookFormat::Xlsb => "XLSB",
            WorkbookFormat::Xls => "XLS",
            WorkbookFormat::Ods => "ODS",
        }
    }
}

impl fmt::Display for WorkbookFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Text, to be read as CSV.
    Text,
    /// A workbook.
    Workbook(WorkbookFormat),
    /// Neither: what it is, in words (`a PDF document`).
    Other(&'static str),
}

/// What export a user should make instead of `what`.
pub fn advice(what: &str) -> &'static str {
    if what.contains("password") {
        "open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with Password, cleared) and save it again, or save the sheet as CSV UTF-8"
    } else if what.contains("Word") || what.contains("PowerPoint") || what.contains("document") {
        "export the customer list from the program that made it as CSV (UTF-8) or as an Excel workbook (.xlsx)"
    } else if what.contains("web page") || what.contains("XML") {
        "open it in Excel or LibreOffice and save it as an Excel workbook (.xlsx) or CSV UTF-8"
    } else if what.contains("archive") || what.contains("compressed") {
        "unpack it and name the CSV or workbook inside"
    } else {
        "export the customer list as CSV (UTF-8) or as an Excel workbook (.xlsx, .xls) or OpenDocument spreadsheet (.ods)"
    }
}

/// Tells what `file` holds from its content. `utf16` when the user named
/// a UTF-16 encoding (whose text is half NUL bytes without a byte-order
/// mark). A ZIP is opened to look at its parts; read errors count as
/// "not a workbook" (the reader reports them).
pub fn detect<R: Read + Seek>(file: &mut R, utf16: bool) -> std::io::Result<FileKind> {
    let mut start = Vec::with_capacity(SNIFF);
    file.rewind()?;
    file.by_ref().take(SNIFF as u64).read_to_end(&mut start)?;
    file.rewind()?;
    let kind = match signature(&start) {
        Some(Signature::Zip) => zip_kind(file),
        Some(Signature::Ole) => ole_kind(file)?,
        Some(Signature::Other(what)) => FileKind::Other(what),
        None if !utf16 && looks_binary(&start) => FileKind::Other("binary data, not text"),
        None => FileKind::Text,
    };
    file.rewind()?;
    Ok(kind)
}

enum Signature {
    Zip,
    Ole,
    Other(&'static str),
}

fn signature(start: &[u8]) -> Option<Signature> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF document"),
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF87a", "a GIF image"),
        (b"GIF89a", "a GIF image"),
        (b"II*\0", "a TIFF image"),
        (b"MM\0*", "a TIFF image"),
        (b"\x1F\x8B", "a gzip-compressed file"),
        (b"BZh", "a bzip2-compressed file"),
        (b"\xFD7zXZ\0", "an xz-compressed file"),
        (b"\x28\xB5\x2F\xFD", "a zstd-compressed file"),
        (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
        (b"Rar!\x1A\x07", "a RAR archive"),
        (b"\x7FELF", "a program (ELF executable)"),
        (b"SQLite format 3\0", "an SQLite database"),
        (b"{\\rtf", "an RTF document"),
        (b"\0\0\0\x0CjP  ", "a JPEG 2000 image"),
    ];
    if start.starts_with(b"PK\x03\x04") || start.starts_with(b"PK\x05\x06") {
        return Some(Signature::Zip);
    }
    if start.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Some(Signature::Ole);
    }
    if start.len() >= 12 && &start[..4] == b"RIFF" && &start[8..12] == b"WEBP" {
        return Some(Signature::Other("a WebP image"));
    }
    if start.starts_with(b"MZ") && start.len() >= 64 && start.contains(&0) {
        return Some(Signature::Other("a Windows program"));
    }
    if let Some((_, what)) = SIGNATURES.iter().find(|(sig, _)| start.starts_with(sig)) {
        return Some(Signature::Other(what));
    }
    // Text that is no CSV: a web page saved as `.xls` by many web
    // applications, and Excel 2003's XML spreadsheet.
    let text = String::from_utf8_lossy(&start[..start.len().min(1024)]).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("<!doctype html") || text.starts_with("<html") {
        return Some(Signature::Other("a web page (HTML), not a spreadsheet"));
    }
    if text.starts_with("<?xml") {
        return Some(Signature::Other(
            if text.contains("urn:schemas-microsoft-com:office:spreadsheet") {
                "an Excel 2003 XML spreadsheet, which cannot be read"
            } else {
                "an XML document, not CSV"
            },
        ));
    }
    None
}

/// Control bytes other than tab, line breaks, form feed and Ctrl-Z make
/// up more than one byte in sixteen, NUL among them, or more than one in
/// four: no exported text looks like that (a stray NUL or escape sequence
/// in a cell is a row's problem, not a binary file).
fn looks_binary(start: &[u8]) -> bool {
    if start.starts_with(b"\xFF\xFE") || start.starts_with(b"\xFE\xFF") {
        return false;
    }
    let controls = start
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1A))
        .count();
    let nul = start.contains(&0);
    (nul && controls * 16 > start.len()) || controls * 4 > start.len()
}

fn zip_kind<R: Read + Seek>(file: &mut R) -> FileKind {
    let Ok(mut archive) = zip::ZipArchive::new(&mut *file) else {
        return FileKind::Other("a damaged ZIP archive");
    };
    let has = |archive: &zip::ZipArchive<&mut R>, name: &str| {
        archive
            .file_names()
            .any(|n| n.is_ok_and(|n| n.eq_ignore_ascii_case(name)))
    };
    if has(&archive, "xl/workbook.xml") {
        let macros = has(&archive, "xl/vbaProject.bin");
        return FileKind::Workbook(if macros {
            WorkbookFormat::Xlsm
        } else {
            WorkbookFormat::Xlsx
        });
    }
    if has(&archive, "xl/workbook.bin") {
        return FileKind::Workbook(WorkbookFormat::Xlsb);
    }
    let mut mimetype = String::new();
    if let Ok(entry) = archive.by_name("mimetype") {
        let _ = entry.take(200).read_to_string(&mut mimetype);
    }
    let mimetype = mimetype.trim();
    if mimetype == "application/vnd.oasis.opendocument.spreadsheet"
        || mimetype == "application/vnd.oasis.opendocument.spreadsheet-template"
    {
        return if has(&archive, "content.xml") {
            FileKind::Workbook(WorkbookFormat::Ods)
        } else {
            FileKind::Other("an OpenDocument spreadsheet without its content.xml (damaged)")
        };
    }
    if mimetype.starts_with("application/vnd.oasis.opendocument.text") {
        return FileKind::Other("an OpenDocument text document");
    }
    if mimetype.starts_with("application/vnd.oasis.opendocument") {
        return FileKind::Other("an OpenDocument file that is not a spreadsheet");
    }
    if has(&archive, "word/document.xml") {
        return FileKind::Other("a Word document (.docx)");
    }
    if has(&archive, "ppt/presentation.xml") {
        return FileKind::Other("a PowerPoint presentation (.pptx)");
    }
    FileKind::Other("a ZIP archive without a spreadsheet in it")
}

/// An OLE compound file: a workbook when it has a `Workbook` (or `Book`)
/// stream; an encrypted OOXML file when it has an `EncryptedPackage`.
/// Stream names are UTF-16 in the directory sectors; looking for them in
/// the bytes spares parsing the container twice (calamine parses it).
fn ole_kind<R: Read + Seek>(file: &mut R) -> std::io::Result<FileKind> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let utf16 =
        |name: &str| -> Vec<u8> { name.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let contains = |name: &str| {
        let needle = utf16(name);
        bytes.windows(needle.len()).any(|w| w == needle)
    };
    Ok(if contains("EncryptedPackage") {
        FileKind::Other("a password-protected Office file")
    } else if contains("Workbook") || contains("Book\0\0") {
        FileKind::Workbook(WorkbookFormat::Xls)
    } else if contains("WordDocument") {
        FileKind::Other("a Word 97-2003 document (.doc)")
    } else if contains("PowerPoint Document") {
        FileKind::Other("a PowerPoint 97-2003 presentation (.ppt)")
    } else {
        FileKind::Other("an OLE compound file without a workbook in it")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn kind(bytes: &[u8]) -> FileKind {
        detect(&mut Cursor::new(bytes.to_vec()), false).unwrap()
    }

    fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut out);
        for (name, data) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn text_stays_text() {
        assert_eq!(kind(b"Code;Naam\n1;A\n"), FileKind::Text);
        assert_eq!(kind(b""), FileKind::Text);
        assert_eq!(
            kind("\u{feff}Code,Name\r\n1,\u{e9}\r\n".as_bytes()),
            FileKind::Text
        );
        // UTF-16 with a byte-order mark is half NUL bytes.
        let utf16: Vec<u8> = "\u{feff}Code,Name\n1,A\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(kind(&utf16), FileKind::Text);
        // One stray NUL is a row's problem, not a binary file.
        assert_eq!(kind(b"Code,Name\n1,A\0B\n2,C\n"), FileKind::Text);
    }

    #[test]
    fn other_files_are_named() {
        assert_eq!(kind(b"%PDF-1.7\n..."), FileKind::Other("a PDF document"));
        assert_eq!(
            kind(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            FileKind::Other("a PNG image")
        );
        assert_eq!(
            kind(b"\x1F\x8B\x08\0"),
            FileKind::Other("a gzip-compressed file")
        );
        assert!(matches!(
            kind(b"<!DOCTYPE html><table><tr><td>Code</td>"),
            FileKind::Other(w) if w.contains("web page")
        ));
        assert!(
            matches!(kind(&[1, 2, 3, 0, 5, 6, 7, 8, 9, 0xFF]), FileKind::Other(w) if w.contains("binary"))
        );
        assert_eq!(
            kind(&zip_with(&[("readme.txt", b"hi")])),
            FileKind::Other("a ZIP archive without a spreadsheet in it")
        );
        assert_eq!(
            kind(&zip_with(&[("word/document.xml", b"<w/>")])),
            FileKind::Other("a Word document (.docx)")
        );
        // A UTF-16 text without a byte-order mark, as --encoding says.
        let utf16: Vec<u8> = "Code,Name\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(
            detect(&mut Cursor::new(utf16), true).unwrap(),
            FileKind::Text
        );
    }

    #[test]
    fn workbooks_by_their_parts() {
        assert_eq!(
            kind(&zip_with(&[("xl/workbook.xml", b"<w/>")])),
            FileKind::Workbook(WorkbookFormat::Xlsx)
        );
        assert_eq!(
            kind(&zip_with(&[
                ("xl/workbook.xml", b"<w/>"),
                ("xl/vbaProject.bin", b"")
            ])),
            FileKind::Workbook(WorkbookFormat::Xlsm)
        );
        assert_eq!(
            kind(&zip_with(&[("xl/workbook.bin", b"")])),
            FileKind::Workbook(WorkbookFormat::Xlsb)
        );
        assert_eq!(
            kind(&zip_with(&[
                (
                    "mimetype",
                    b"application/vnd.oasis.opendocument.spreadsheet"
                ),
                ("content.xml", b"<x/>")
            ])),
            FileKind::Workbook(WorkbookFormat::Ods)
        );
        let mut ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        ole.extend("Workbook".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(kind(&ole), FileKind::Workbook(WorkbookFormat::Xls));
        let mut encrypted = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        encrypted.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(
            kind(&encrypted),
            FileKind::Other("a password-protected Office file")
        );
    }
}
