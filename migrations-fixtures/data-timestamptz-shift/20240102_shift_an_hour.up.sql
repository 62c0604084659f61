-- A time-zone fix gone wrong: every instant moves by an hour.
UPDATE events SET happened_at = happened_at + interval '1 hour';
