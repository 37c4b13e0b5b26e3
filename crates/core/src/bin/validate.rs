//! `portcullis-validate <policy.json>…`: checks policy documents the way
//! the edge does and prints each error with the field it names. The exit
//! status is 0 when every document is valid, 1 when one is not, 2 when a
//! file cannot be read.
//!
//! `npm run validate -- policy.json` runs it.

use std::process::ExitCode;

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: portcullis-validate <policy.json>…");
        return ExitCode::from(2);
    }
    let mut status = ExitCode::SUCCESS;
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
