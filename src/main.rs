//! The `notify-import` binary: parse, check, run, map to an exit code.

use std::process::ExitCode;

use notify_import::config::{self, LoadError};
use notify_import::{RunError, SetupError, exit};

fn main() -> ExitCode {
    let config = match config::load(std::env::args_os(), |name| std::env::var(name).ok()) {
        Ok(config) => Ok(config),
        Err(LoadError::Clap(e)) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
        Err(LoadError::Usage(e)) => Err(e),
    };
    let result = config
        .map_err(|e| RunError::from(SetupError::from(e)))
        .and_then(notify_import::run);
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors quote the input's header and cells: no control
            // character of theirs reaches the terminal.
            let text = e.to_string();
            eprintln!(
                "notify-import: error: {}",
                notify_import::util::text::printable(&text)
            );
            ExitCode::from(e.exit_code())
        }
    }
}
