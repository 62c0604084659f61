UPDATE codes SET code = upper(code);
