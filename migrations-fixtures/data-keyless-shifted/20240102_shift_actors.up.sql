-- Every actor moves to the next row: no row is what it was, yet each column holds the same values.
UPDATE audit_log a SET actor = s.next
FROM (SELECT ctid, coalesce(lead(actor) OVER w, first_value(actor) OVER w) AS next
      FROM audit_log WINDOW w AS (ORDER BY action, amount, actor)) s
WHERE a.ctid = s.ctid;
