//! The README's table of bounds lists every bounded field with the same
//! minimum and maximum as the code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn the_readme_lists_every_bound() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let number = |n: f64| {
        if n.fract() == 0.0 {
            format!("{}", n as u64)
        } else {
            format!("{n}")
        }
    };
    for bound in portcullis_core::BOUNDS {
        let row = format!(
            "| `{}` | {} | {} |",
            bound.field,
            number(bound.min),
            number(bound.max)
        );
        assert!(readme.contains(&row), "README lacks the row {row}");
    }
}
