//! Unified diffs of snapshot texts, for people.

use similar::TextDiff;

/// A unified diff with 3 lines of context, coloured when `color` is set; empty when equal.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str, color: bool) -> String {
    if old == new {
        return String::new();
    }
    let plain = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string();
    if !color {
        return plain;
    }
    plain
        .lines()
        .map(|line| {
            let code = match line.as_bytes().first() {
                Some(b'@') => "36",
                Some(b'-') if !line.starts_with("---") => "31",
                Some(b'+') if !line.starts_with("+++") => "32",
                _ => return format!("{line}\n"),
            };
            format!("\x1b[{code}m{line}\x1b[0m\n")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::unified_diff;

    #[test]
    fn shows_removed_and_added_lines_with_a_hunk_header() {
        let diff = unified_diff("a\nb\nc\n", "a\nB\nc\n", "old", "new", false);
        assert_eq!(diff, "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
        let coloured = unified_diff("a\nb\nc\n", "a\nB\nc\n", "old", "new", true);
        assert!(coloured.contains("\x1b[31m-b\x1b[0m"), "{coloured:?}");
        assert_eq!(unified_diff("same\n", "same\n", "x", "y", false), "");
    }
}
