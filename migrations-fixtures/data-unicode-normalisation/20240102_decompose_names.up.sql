-- Looks the same on screen, is not the same text: é becomes e and a combining accent.
UPDATE customers SET name = normalize(name, NFD);
