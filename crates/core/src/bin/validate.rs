//! `portcullis-validate <policy.json>… [--preset NAME]`: checks policy
//! documents (and a preset's name) the way the edge does and prints each
//! error with the field it names. The exit status is 0 when everything is
//! valid, 1 when something is not, 2 when a file cannot be read.
//!
//! `npm run validate -- policy.json` runs it.

use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args().len() < 2 {
        eprintln!("usage: portcullis-validate <policy.json>… [--preset NAME]");
        return ExitCode::from(2);
    }
    let mut args = std::env::args().skip(1);
    let mut files = Vec::new();
    let mut status = ExitCode::SUCCESS;
    while let Some(arg) = args.next() {
        if arg != "--preset" {
            files.push(arg);
            continue;
        }
        let name = args.next().unwrap_or_default();
        match portcullis_core::Policy::preset(&name) {
            Ok(_) => println!("preset {name}: valid"),
            Err(e) => {
                println!("preset {name}: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{file}: cannot be read: {e}");
                return ExitCode::from(2);
            }
        };
        let errors = portcullis_core::Policy::errors(&text);
        if errors.is_empty() {
            println!("{file}: valid");
            continue;
        }
        status = ExitCode::FAILURE;
        for error in errors {
            println!("{file}: {error}");
        }
    }
    status
}
