UPDATE prices SET amount = amount / 100;
