DROP TABLE devices;
DROP TYPE device_kind;
