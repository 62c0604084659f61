DROP TABLE stores;
DROP TYPE store_status;
