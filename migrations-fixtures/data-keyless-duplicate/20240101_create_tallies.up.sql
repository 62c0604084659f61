CREATE TABLE tallies (tag text NOT NULL CHECK (tag IN ('a', 'b')), n integer NOT NULL CHECK (n >= 1 AND n <= 2));
