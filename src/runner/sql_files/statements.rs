//! A migration file cut into the statements PostgreSQL's own lexer would see: a `;` ends a
//! statement only outside strings, quoted names, comments (nested `/* */` too), dollar-quoted
//! bodies, parentheses and `BEGIN ATOMIC … END` blocks. Flyway sends a file one such statement
//! at a time; for the tools that send a file whole, it names the statements a failure stopped
//! among.

/// One statement of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Its text, comments before it and its `;` left out.
    pub text: String,
    /// The line of the file it starts on, from 1.
    pub line: usize,
    /// Where its text starts in the file, and where the statement ends (its `;` or the end).
    pub span: std::ops::Range<usize>,
    /// Its first keywords outside parentheses, upper-cased (at most `KEYWORDS`).
    pub keywords: Vec<String>,
}

/// How a statement ends the transaction block it runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockEnd {
    /// Its work is committed; `chained`: a new block opens at once (AND CHAIN).
    Commit { chained: bool },
    /// Its work is thrown away (ROLLBACK), or not applied (PREPARE TRANSACTION).
    Discard,
}

/// How many leading keywords are kept: enough for Flyway's longest test of whether a
/// statement can run in a transaction.
const KEYWORDS: usize = 10;

impl Statement {
    /// The statement's first line, for a message.
    pub fn summary(&self) -> String {
        let first = self.text.lines().next().unwrap_or_default().trim();
        match self.text.lines().nth(1) {
            Some(_) => format!("{first} …"),
            None => first.to_string(),
        }
    }

    /// How it ends the transaction block it runs in, if it does.
    pub fn ends_block(&self) -> Option<BlockEnd> {
        match self.keywords.first().map(String::as_str) {
            Some("COMMIT" | "END") => Some(BlockEnd::Commit {
                chained: self.keywords.iter().any(|k| k == "CHAIN")
                    && !self.keywords.iter().any(|k| k == "NO"),
            }),
            // A prepared transaction's work is not applied until COMMIT PREPARED.
            Some("PREPARE") if self.starts_with(&["PREPARE", "TRANSACTION"]) => {
                Some(BlockEnd::Discard)
            }
            Some("ROLLBACK" | "ABORT")
                if !self.starts_with(&["ROLLBACK", "TO"])
                    && !self.starts_with(&["ROLLBACK", "PREPARED"]) =>
            {
                Some(BlockEnd::Discard)
            }
            _ => None,
        }
    }

    /// Whether it opens a transaction block: a statement that starts with BEGIN (other than a
    /// function's BEGIN ATOMIC, which never starts one) or START TRANSACTION.
    pub fn begins(&self) -> bool {
        self.starts_with(&["BEGIN"]) && !self.starts_with(&["BEGIN", "ATOMIC"])
            || self.starts_with(&["START", "TRANSACTION"])
    }

    pub fn starts_with(&self, words: &[&str]) -> bool {
        self.keywords.len() >= words.len() && self.keywords.iter().zip(words).all(|(a, b)| a == b)
    }
}

/// The statements of `sql`, in order; a stretch holding only comments and blanks is none.
pub fn split(sql: &str) -> Vec<Statement> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut start: Option<usize> = None;
    let mut keywords: Vec<String> = Vec::new();
    let mut last_word = String::new();
    let (mut parens, mut atomic_depth) = (0usize, 0usize);
    let mut i = 0;
    let mut finish = |start: &mut Option<usize>, end: usize, keywords: &mut Vec<String>| {
        if let Some(begin) = start.take() {
            statements.push(Statement {
                text: sql[begin..end].trim_end().to_string(),
                line: 1 + sql[..begin].matches('\n').count(),
                span: begin..end,
                keywords: std::mem::take(keywords),
            });
        }
    };
    while i < bytes.len() {
        let byte = bytes[i];
        let next = bytes.get(i + 1).copied();
        match byte {
            b'-' if next == Some(b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'/' if next == Some(b'*') => {
                i = end_of_comment(bytes, i);
                continue;
            }
            b';' if parens == 0 && atomic_depth == 0 => {
                finish(&mut start, i, &mut keywords);
                i += 1;
                continue;
            }
            _ if byte.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => {}
        }
        start.get_or_insert(i);
        i = match byte {
            b'\'' => {
                let escapes = i > 0
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && (i < 2 || !is_identifier_byte(bytes[i - 2]));
                end_of_string(bytes, i, escapes)
            }
            b'"' => end_of_string(bytes, i, false),
            b'$' => match dollar_tag(bytes, i) {
                Some(tag) => sql[i + tag.len()..]
                    .find(tag)
                    .map_or(bytes.len(), |n| i + tag.len() + n + tag.len()),
                None => i + 1,
            },
            b'(' => {
                parens += 1;
                i + 1
            }
            b')' => {
                parens = parens.saturating_sub(1);
                i + 1
            }
            _ if is_identifier_start(byte) => {
                let end = (i..bytes.len())
                    .find(|&j| !is_identifier_byte(bytes[j]))
                    .unwrap_or(bytes.len());
                let word = sql[i..end].to_ascii_uppercase();
                if parens == 0 {
                    // A SQL-standard function body: its `;`s are inside the one statement.
                    match word.as_str() {
                        "ATOMIC"
                            if last_word == "BEGIN"
                                && keywords.first().is_some_and(|k| k == "CREATE") =>
                        {
                            atomic_depth += 1
                        }
                        "CASE" if atomic_depth > 0 => atomic_depth += 1,
                        "END" if atomic_depth > 0 => atomic_depth -= 1,
                        _ => {}
                    }
                    if keywords.len() < KEYWORDS {
                        keywords.push(word.clone());
                    }
                    last_word = word;
                }
                end
            }
            _ => i + 1,
        };
    }
    finish(&mut start, bytes.len(), &mut keywords);
    statements.retain(|s| !s.text.is_empty());
    statements
}

fn is_identifier_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

fn is_identifier_byte(byte: u8) -> bool {
    is_identifier_start(byte) || byte.is_ascii_digit() || byte == b'$'
}

/// The byte after a `/* … */` comment starting at `at`; they nest in PostgreSQL.
fn end_of_comment(bytes: &[u8], at: usize) -> usize {
    let (mut depth, mut i) = (0usize, at);
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The byte after a string or quoted name opened at `at` (its quote doubled inside is one).
fn end_of_string(bytes: &[u8], at: usize, backslash_escapes: bool) -> usize {
    let quote = bytes[at];
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash_escapes => i += 2,
            b if b == quote && bytes.get(i + 1) == Some(&quote) => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The `$tag$` opening a dollar-quoted body at `at`, if one does: `$` right after a name
/// (`a$b`) or before a digit (`$1`) opens none.
fn dollar_tag(bytes: &[u8], at: usize) -> Option<&str> {
    if at > 0 && is_identifier_byte(bytes[at - 1]) {
        return None;
    }
    let mut end = at + 1;
    while end < bytes.len() && bytes[end] != b'$' {
        let ok = match end == at + 1 {
            true => is_identifier_start(bytes[end]),
            false => is_identifier_start(bytes[end]) || bytes[end].is_ascii_digit(),
        };
        if !ok {
            return None;
        }
        end += 1;
    }
    (end < bytes.len())
        .then(|| std::str::from_utf8(&bytes[at..=end]).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        split(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn semicolons_inside_quotes_comments_and_bodies_do_not_split() {
        let sql = "-- a; comment\nCREATE TABLE \"a;b\" (c text DEFAULT 'x;''y');\n\
                   /* outer /* inner; */ still; */ SELECT E'\\';', $1;\n\
                   CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$;\n\
                   DO $$ BEGIN PERFORM 1; END $$;\n\
                   CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END;\n\
                   -- only a comment;\n";
        let statements = split(sql);
        assert_eq!(
            statements.iter().map(|s| s.line).collect::<Vec<_>>(),
            vec![2, 3, 4, 5, 6]
        );
        assert_eq!(
            statements[0].text,
            "CREATE TABLE \"a;b\" (c text DEFAULT 'x;''y')"
        );
        assert!(statements[1].text.ends_with("SELECT E'\\';', $1"));
        assert!(statements[2].text.ends_with("$body$"));
        assert_eq!(statements[3].text, "DO $$ BEGIN PERFORM 1; END $$");
        assert!(statements[4].text.ends_with("SELECT 2; END"));
        assert_eq!(statements[4].keywords[..2], ["CREATE", "FUNCTION"]);
    }

    #[test]
    fn transaction_control_and_keywords_are_read() {
        let statements = split("begin;\ninsert into t values (1);\ncommit;\nCREATE UNIQUE INDEX CONCURRENTLY i ON t (a)");
        assert_eq!(texts("a;;b"), vec!["a", "b"]);
        assert_eq!(
            statements[2].ends_block(),
            Some(BlockEnd::Commit { chained: false })
        );
        assert!(statements[0].begins() && statements[0].ends_block().is_none());
        let chained = split("COMMIT AND CHAIN; ROLLBACK TO SAVEPOINT s; BEGIN DEFERRABLE");
        assert_eq!(
            chained[0].ends_block(),
            Some(BlockEnd::Commit { chained: true })
        );
        assert_eq!(chained[1].ends_block(), None);
        assert!(chained[2].begins());
        assert!(statements[3].starts_with(&["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"]));
        assert_eq!(
            statements[3].summary(),
            "CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)"
        );
    }
}
