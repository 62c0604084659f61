DROP TABLE settings;
DROP TABLE version_info;
DROP TABLE members;
DROP TABLE groups;
