UPDATE events SET happened_at = happened_at - interval '1 hour';
