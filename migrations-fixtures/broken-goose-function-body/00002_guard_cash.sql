-- +goose Up
-- The function body has `;` at line ends and no StatementBegin/StatementEnd around it, so
-- goose cuts the body at `RAISE ...;` and sends a half-written CREATE FUNCTION.
CREATE FUNCTION guard_cash() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.cash < 0 THEN
        RAISE EXCEPTION 'negative cash in till %', NEW.id;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER tills_guard_cash BEFORE INSERT OR UPDATE ON tills
    FOR EACH ROW EXECUTE FUNCTION guard_cash();

-- +goose Down
DROP TRIGGER tills_guard_cash ON tills;
DROP FUNCTION guard_cash();
