//! PostgreSQL's table-level lock modes, their order of strength, and what each keeps an
//! application from doing (the conflict table of "Explicit Locking" in the manual).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    /// The mode as `pg_locks.mode` names it (`AccessExclusiveLock`).
    pub fn from_pg_locks(name: &str) -> Option<Self> {
        Some(match name {
            "AccessShareLock" => LockMode::AccessShare,
            "RowShareLock" => LockMode::RowShare,
            "RowExclusiveLock" => LockMode::RowExclusive,
            "ShareUpdateExclusiveLock" => LockMode::ShareUpdateExclusive,
            "ShareLock" => LockMode::Share,
            "ShareRowExclusiveLock" => LockMode::ShareRowExclusive,
            "ExclusiveLock" => LockMode::Exclusive,
            "AccessExclusiveLock" => LockMode::AccessExclusive,
            _ => return None,
        })
    }

    /// A SELECT takes ACCESS SHARE, which only ACCESS EXCLUSIVE conflicts with.
    pub fn blocks_reads(self) -> bool {
        self == LockMode::AccessExclusive
    }

    /// INSERT, UPDATE and DELETE take ROW EXCLUSIVE, which SHARE and everything stronger
    /// conflict with.
    pub fn blocks_writes(self) -> bool {
        self >= LockMode::Share
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::LockMode::*;
    use super::*;

    #[test]
    fn what_each_mode_blocks_follows_the_conflict_table() {
        let blocking: Vec<(LockMode, bool, bool)> = [
            AccessShare,
            RowShare,
            RowExclusive,
            ShareUpdateExclusive,
            Share,
            ShareRowExclusive,
            Exclusive,
            AccessExclusive,
        ]
        .into_iter()
        .map(|mode| (mode, mode.blocks_reads(), mode.blocks_writes()))
        .collect();
        assert_eq!(
            blocking,
            [
                (AccessShare, false, false),
                (RowShare, false, false),
                (RowExclusive, false, false),
                (ShareUpdateExclusive, false, false),
                (Share, false, true),
                (ShareRowExclusive, false, true),
                (Exclusive, false, true),
                (AccessExclusive, true, true),
            ]
        );
        assert_eq!(
            LockMode::from_pg_locks("ShareRowExclusiveLock"),
            Some(ShareRowExclusive)
        );
        assert_eq!(AccessExclusive.to_string(), "ACCESS EXCLUSIVE");
    }
}
