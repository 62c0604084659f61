UPDATE customers SET name = normalize(name, NFC);
