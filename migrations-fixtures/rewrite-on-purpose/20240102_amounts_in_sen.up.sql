-- Meant to change every amount: prices move from yen to sen.
UPDATE prices SET amount = amount * 100;
