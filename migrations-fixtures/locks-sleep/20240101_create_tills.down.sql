DROP TABLE tills;
