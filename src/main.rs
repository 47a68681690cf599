//! The `notify-import` binary: parse, check, run, map to an exit code.

use std::process::ExitCode;

use notify_import::config::Config;
use notify_import::{RunError, SetupError, cli, exit};

fn main() -> ExitCode {
    let cli = match cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let result = Config::from_cli(cli)
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
