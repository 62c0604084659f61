DROP TABLE payments;
DROP TABLE bills;
DROP TYPE payment_method;
